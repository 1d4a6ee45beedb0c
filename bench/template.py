#!/usr/bin/env python
"""A migrated, empty salon for bench runs to start from, so that they need not migrate:

    .venv/bin/python bench/template.py DIR                    # keyring, SQLite databases
    .venv/bin/python bench/template.py DIR --db postgresql    # + PostgreSQL templates

then `BENCH_TEMPLATE=DIR .venv/bin/python bench/records.py --quick` (and the others). The
PostgreSQL templates are sv_bench_template[_BENCH_DB_TAG] and ..._keys on the BENCH_PG
server; run the SQLite form first, so that both share the keyring. tests/test_bench_smoke.py
makes one for its runs and removes it after.
"""

import argparse
import sys
from pathlib import Path

# `python bench/template.py` puts bench/ first on sys.path: the project root goes there.
sys.path[:1] = [str(Path(__file__).resolve().parent.parent)]

from bench.salon import (  # noqa: E402
    pg_create,
    pg_url,
    prepare_databases,
    setup_django,
    template_names,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="the template's directory (SALON_VAULT_VAR)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    urls: tuple[str | None, ...] = (None, None)
    if args.db == "postgresql":
        for name in template_names():
            pg_create(name, fresh=True)
        urls = tuple(pg_url(name) for name in template_names())
    setup_django(args.dir.resolve(), database=urls[0], vault_database=urls[1])
    prepare_databases()
    from django.db import connections

    connections.close_all()  # a template database copies only while nobody is connected


if __name__ == "__main__":
    main()
