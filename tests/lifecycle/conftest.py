"""Lifecycle tests: a keyring file of their own (rotation rewrites it), Celery run eagerly."""

from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.fixture(autouse=True)
def own_keyring(settings, tmp_path):
    from vault import keyring

    keyring.reset()
    settings.SALON_VAULT_KEYRING = str(tmp_path / "keyring.json")
    call_command("vault_init", stdout=None)
    yield tmp_path / "keyring.json"
    keyring.reset()


@pytest.fixture
def eager():
    """Tasks run in the test's process when sent, as a worker would run them."""
    from celery import current_app

    conf = current_app.conf
    before = conf.task_always_eager, conf.task_eager_propagates
    conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    conf.update(task_always_eager=before[0], task_eager_propagates=before[1])


@pytest.fixture
def schedules(db):
    from lifecycle.schedule import install_defaults

    install_defaults()


@pytest.fixture
def scratch_databases(tmp_path):
    """A function making a pair of empty databases (records, key store) and returning their
    URLs: scratch PostgreSQL databases on the PostgreSQL run (dropped afterwards), SQLite
    files otherwise."""
    import os
    import uuid

    import psycopg

    server = os.environ.get("DATABASE_URL", "")
    made = []

    def make(name: str) -> tuple[str, str]:
        if not server.startswith("postgres"):
            folder = tmp_path / name
            folder.mkdir(exist_ok=True)
            return f"sqlite:///{folder}/db.sqlite3", f"sqlite:///{folder}/keys.sqlite3"
        base = server.rsplit("/", 1)[0]
        urls = []
        for suffix in ("", "_keys"):
            db = f"svt_{name}_{uuid.uuid4().hex[:8]}{suffix}"
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{db}"')
            made.append((base, db))
            urls.append(f"{base}/{db}")
        return urls[0], urls[1]

    yield make
    for base, db in made:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture
def scratch_salon(tmp_path, scratch_databases):
    """A salon of its own (files under tmp_path; its databases from scratch_databases), run
    by `manage.py` and Python in subprocesses: for what a test database inside a
    transaction cannot show (a killed process, a restore that replaces the databases)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    var = tmp_path / "salon"
    var.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "VAULT_DATABASE_URL", "REDIS_URL", "VAULT_FILES_ROOT")}
    database, vault_database = scratch_databases("salon")
    env.update(SALON_VAULT_VAR=str(var), DJANGO_SETTINGS_MODULE="salon_vault.settings",
               PYTHONUNBUFFERED="1", SALON_VAULT_KEYRING=str(var / "keyring.json"),
               DATABASE_URL=database, VAULT_DATABASE_URL=vault_database)

    def run(*args, check=True, env_extra=None):
        done = subprocess.run([sys.executable, *args], cwd=root, env={**env, **(env_extra or {})},
                              capture_output=True, text=True, timeout=300)
        if check and done.returncode:
            raise AssertionError(f"{args} failed:\n{done.stdout}\n{done.stderr}")
        return done

    run("manage.py", "vault_init")
    for alias in ("default", "vault"):
        run("manage.py", "migrate", f"--database={alias}", "-v0")
    run.var, run.env, run.root = var, env, root
    return run
