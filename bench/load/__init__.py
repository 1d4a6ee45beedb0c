"""The load scenario (bench/README.md, "Load"): staff of both locations signing in once and
then working through the client pages under gunicorn, driven by locust.

    .venv/bin/python bench/load/run.py [--quick] [--clients 100000] [--users 50] [--db postgresql]

run (the driver: scratch salon, gunicorn, locust, the report), accounts (the load staff and
their authenticator keys, in the scratch database only), locustfile (what each simulated
person does), pages (reading the forms and links of a page), stats (locust's figures as
report rows).
"""
