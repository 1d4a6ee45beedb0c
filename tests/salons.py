"""Scratch salons for whole-deployment tests: each its own var directory, keyring and pair
of databases, run by `manage.py` and `python -c` in subprocesses (for what a test database
inside a transaction cannot show: a killed process, a restore that replaces the databases,
a package carried from one deployment to another).

`scratch_databases` is a fixture; conftest files that want it import it from here."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What the test run's own environment says about its salon: never passed to a scratch one.
NOT_INHERITED = ("DATABASE_URL", "VAULT_DATABASE_URL", "REDIS_URL", "VAULT_FILES_ROOT",
                 "SALON_NAME", "TRANSFER_PACKAGE_DIR")


class ScratchDatabases:
    """Pairs of empty databases (records, key store) under `folder`: scratch PostgreSQL
    databases when the test run is on PostgreSQL (dropped by `drop_all`), SQLite files
    otherwise."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.server = os.environ.get("DATABASE_URL", "")
        self.made: list[tuple[str, str]] = []

    def __call__(self, name: str) -> tuple[str, str]:
        if not self.server.startswith("postgres"):
            folder = self.folder / name
            folder.mkdir(exist_ok=True)
            return f"sqlite:///{folder}/db.sqlite3", f"sqlite:///{folder}/keys.sqlite3"
        import psycopg

        base = self.server.rsplit("/", 1)[0]
        urls = []
        for suffix in ("", "_keys"):
            db = f"svt_{name}_{uuid.uuid4().hex[:8]}{suffix}"
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{db}"')
            self.made.append((base, db))
            urls.append(f"{base}/{db}")
        return urls[0], urls[1]

    def drop_all(self) -> None:
        import psycopg

        for base, db in self.made:
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self.made.clear()


@pytest.fixture
def scratch_databases(tmp_path):
    """A function making a pair of empty databases (records, key store) and returning their
    URLs (see ScratchDatabases), dropped after the test."""
    make = ScratchDatabases(tmp_path)
    yield make
    make.drop_all()


def new_salon(var: Path, databases: tuple[str, str], **env_extra: str):
    """A salon in `var` on `databases`, initialised and migrated: returns `run(*args,
    check=True, env_extra=None)`, which runs the project's Python with those arguments in
    the salon (`run("manage.py", ...)`, `run("-c", code)`) and returns the finished process;
    `run.var`, `run.env` and `run.root` say where and how (for a `subprocess.Popen`)."""
    var.mkdir(parents=True, exist_ok=True)
    database, vault_database = databases
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(SALON_VAULT_VAR=str(var), DJANGO_SETTINGS_MODULE="salon_vault.settings",
               PYTHONUNBUFFERED="1", SALON_VAULT_KEYRING=str(var / "keyring.json"),
               DATABASE_URL=database, VAULT_DATABASE_URL=vault_database, **env_extra)

    def run(*args, check=True, env_extra=None):
        done = subprocess.run([sys.executable, *args], cwd=ROOT, env={**env, **(env_extra or {})},
                              capture_output=True, text=True, timeout=300)
        if check and done.returncode:
            raise AssertionError(f"{args} failed:\n{done.stdout}\n{done.stderr}")
        return done

    run("manage.py", "vault_init")
    for alias in ("default", "vault"):
        run("manage.py", "migrate", f"--database={alias}", "-v0")
    run.var, run.env, run.root = var, env, ROOT
    return run
