"""gunicorn settings for `make run` and the container (`gunicorn -c salon_vault/gunicorn.conf.py`).

A page costs about 20 ms of Python CPU and some waiting on the database and the audit
commit, so each core gets a process (the GIL keeps threads from sharing one core's work)
and each process a few threads to cover the waits. Staff read a record for a minute or
more between clicks: the keep-alive outlasts that think time, because gunicorn's 2 s
default closed idle connections that browsers then found reset under load.
"""

import multiprocessing
import os

bind = f"{os.environ.get('SALON_VAULT_HOST', '127.0.0.1')}:{os.environ.get('SALON_VAULT_PORT', '8000')}"
wsgi_app = "salon_vault.wsgi:application"
worker_class = "gthread"  # the sync worker has no keep-alive at all
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("WEB_THREADS", 4))
keepalive = int(os.environ.get("WEB_KEEPALIVE_SECONDS", 75))
# A spreadsheet import is staged and written within one request; give it room.
timeout = int(os.environ.get("WEB_TIMEOUT_SECONDS", 120))
graceful_timeout = 30
# The application is imported in each worker, not once before the fork: the audit writer's
# side connections and threads are the worker's own.
preload_app = False
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
# No runtime control socket: it would be one path in $HOME shared by every instance.
control_socket_disable = True


def post_worker_init(worker):
    """Once the application is loaded in the worker: what it loaded lives as long as the
    worker, so the cyclic garbage collector need not walk it again on every full pass."""
    import gc

    gc.freeze()
