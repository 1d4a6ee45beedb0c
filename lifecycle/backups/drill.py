"""The restore drill: the latest backup restored into scratch databases, checked, timed and
dropped — proof, every week, that the backups would bring the salon back.

The copy is made by `manage.py backup_restore ID --database-url ...` (the operators' own
command) and checked by `manage.py restore_check` in a process pointed at it: the audit
chain's links and the checkpoints up to the backup's head, and every value and file of a
sample of clients opened through the door. Scratch databases are PostgreSQL databases on
the salon's server when the salon runs on PostgreSQL, SQLite files otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connections

from . import archive, store

Progress = Callable[[int, int], None]
SAMPLE = 25


def drill(*, progress: Progress | None = None, sample: int = SAMPLE) -> dict:
    ids = store.ids()
    if not ids:
        return {"passed": False, "problem": "there is no backup to restore"}
    backup_id = ids[-1]
    with store.storage().open(store.path(backup_id, archive.MANIFEST), "rb") as fh:
        head = json.loads(fh.read())["audit"]["head_seq"]
    report: dict = {"backup": backup_id, "audit_head": head}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sv-drill-") as scratch, \
            _scratch_databases(Path(scratch)) as (database, vault_database):
        env = {**os.environ, "DATABASE_URL": database, "VAULT_DATABASE_URL": vault_database,
               "VAULT_FILES_ROOT": str(Path(scratch) / "files"),
               "SALON_VAULT_KEYRING": str(settings.SALON_VAULT_KEYRING),
               "SALON_VAULT_VAR": str(settings.VAR_DIR)}
        if progress:
            progress(0, 2)
        restored = _manage(["backup_restore", backup_id, "--database-url", database,
                            "--vault-database-url", vault_database, "--files-dir",
                            str(Path(scratch) / "files")], os.environ)
        report["restore_seconds"] = round(time.monotonic() - started, 1)
        if restored.returncode:
            return report | {"passed": False, "problem": _last_line(restored.stderr)}
        if progress:
            progress(1, 2)
        checked = _manage(["restore_check", "--head", str(head), "--sample", str(sample)], env)
        if checked.returncode:
            return report | {"passed": False, "problem": _last_line(checked.stderr)}
        check = json.loads(checked.stdout.strip().splitlines()[-1])
    report |= {"check": check, "seconds": round(time.monotonic() - started, 1)}
    problems = []
    if not check["chain_ok"]:
        problems.append(f"audit chain: {check['chain_message']}")
    if check["unreadable"]:
        problems.append(f"{len(check['unreadable'])} sampled clients did not open")
    if check["sampled"] and not check["opened"] and not check["shredded"]:
        problems.append("no sampled client opened")
    if progress:
        progress(2, 2)
    return report | {"passed": not problems, "problem": "; ".join(problems)}


def _manage(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - this program, with its own arguments
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args], env=env,
        capture_output=True, text=True, timeout=settings.LIFECYCLE_SOFT_TIME_LIMIT, check=False)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else "failed without a message"


@contextmanager
def _scratch_databases(scratch: Path) -> Iterator[tuple[str, str]]:
    connection = connections["default"]
    if connection.vendor != "postgresql":
        yield f"sqlite:///{scratch}/drill.sqlite3", f"sqlite:///{scratch}/drill-keys.sqlite3"
        return
    import psycopg

    params = connection.get_connection_params()
    names = [f"sv_drill_{secrets.token_hex(4)}", ""]
    names[1] = f"{names[0]}_keys"
    admin = {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as db:
        for name in names:
            db.execute(f'CREATE DATABASE "{name}"')
    host = admin.get("host") or "localhost"
    auth = quote(admin.get("user", ""), safe="")
    if admin.get("password"):
        auth += f":{quote(admin['password'], safe='')}"
    base = f"postgresql://{auth}@{host}:{admin.get('port') or 5432}"
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as db:
            for name in names:
                db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
