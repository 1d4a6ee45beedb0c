"""A copy of the `default` database for the naive pass to rewrite, so that the salon keeps
records its keys open (a --keep DIR salon serves the next run) and the naive pass still
commits every batch as a real one would.

SQLite: the backup API into a file beside the database. PostgreSQL: CREATE DATABASE
<name>_naive TEMPLATE <name> (STRATEGY FILE_COPY). Inside the context Django's `default`
alias points at the copy; after it, at the salon again, and the copy is gone.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import say
from bench.salon import _close_connections, pg_drop, pg_url


@contextlib.contextmanager
def default_copy(files_dir: Path) -> Iterator[str]:
    """`default` pointed at a fresh copy of itself; `files_dir` for rewritten files."""
    from django.db import connections

    connection = connections["default"]
    original = connection.settings_dict["NAME"]
    _close_connections()  # PostgreSQL copies a database only while nobody is connected
    began = time.monotonic()
    postgresql = connection.vendor == "postgresql"
    copy = _pg_copy(original) if postgresql else _sqlite_copy(original)
    say(f"copied `default` for the naive pass in {time.monotonic() - began:.0f}s")
    connection.settings_dict["NAME"] = copy
    try:
        yield copy
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original
        if postgresql:
            pg_drop(copy)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(copy + suffix).unlink(missing_ok=True)
        shutil.rmtree(files_dir, ignore_errors=True)


def _sqlite_copy(original: str) -> str:
    copy = str(Path(original).with_name("bench-naive-copy.sqlite3"))
    for suffix in ("", "-wal", "-shm"):
        Path(copy + suffix).unlink(missing_ok=True)
    source, target = sqlite3.connect(original), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return copy


def _pg_copy(original: str) -> str:
    import psycopg
    from psycopg import sql

    copy = f"{original}_naive"
    assert copy.startswith("sv_bench_"), copy  # never anybody else's database
    pg_drop(copy)
    with psycopg.connect(pg_url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
            sql.Identifier(copy), sql.Identifier(original)))
    return copy
