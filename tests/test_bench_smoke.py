"""The benchmarks still run: each one's --quick mode, as documented in bench/README.md, in
a subprocess against its own scratch salon, on the engine this suite runs on (SQLite, or
scratch PostgreSQL databases and Redis on the PostgreSQL run), ends well, reports its
measures and leaves nothing behind. The runs start from one migrated, empty salon
(bench/template.py): migrating is most of a --quick run's time.

The audit benchmark measures PostgreSQL (COPY, EXPLAIN, the one-statement append) and runs
on the PostgreSQL run only; its phase (a) covers SQLite in a child process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
# What the suite's own environment says of databases and settings is not the bench's:
# each bench makes its own scratch salon.
NOT_PASSED = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "VAULT_DATABASE_URL", "REDIS_URL",
              "SECRET_KEY", "DEBUG", "PYTHONPATH")

BENCHES = {
    "records": ("bench/records.py", (
        "client list, page 1 (50 rows), median of 20", "client detail page, median of 20",
        "search phone (last 4 digits), list page POST /clients/",
        "search name (full name), blind index (client_search)",
        "decrypt one field value, vault AES-GCM (aead.open_)")),
    "access": ("bench/access.py", (
        "client list page (50 rows), median of 20",
        "client detail page (assigned client, L4), SQL queries per request",
        "SQL: the Grant ledger lookup of one client")),
    "rotation": ("bench/rotation.py", (
        "rotation of 1,000 data keys, vault.rotation.run(), wall time, median of 3",
        "rotation against re-encrypting every field (naive), wall time",
        "data keys rewrapped per rotation (one per client)", "where the time goes")),
    "load": ("bench/load/run.py", (
        "list, page 1 (bj): p50 / p95", "list, page 1 (sh): p50 / p95", "search: p50 / p95",
        "detail: p50 / p95", "photo: p50 / p95", "edit: save: p50 / p95",
        "sign-in: authenticator code: p50 / p95", "work after sign-in, 8 sessions",
        "errors (failed requests, connection resets included)  0 ",
        "throughput once every session is signed in")),
    "backup": ("bench/backup.py", (
        "backup, lifecycle.backups.create.create() in-process, wall time",
        "restore, manage.py backup_restore ID --database-url ... into empty databases",
        "backup_verify ID (signature, every part's size and SHA-256), wall time",
        "restore: what the command restored", "restore: where the rows' time goes")),
    "destruction": ("bench/destruction.py", (
        "destroy 270 clients one by one, wall time", "one client, p50 (baseline: plain delete",
        "one client, p95",
        "certificates written, destructions certified",
        "left of the destroyed clients: rows, treatments, photos, data keys, files  0, 0, 0, 0, 0",
        "shred ledger entries")),
    "transfer": ("bench/transfer.py", (
        "build the package (packaging.build) of 200 clients, wall time",
        "package size", "peak memory of the build",
        "verify and import (importer.import_package) into an empty salon, wall time",
        "peak memory of verify and import",
        "imported: clients, treatments, photos, stored files")),
}
AUDIT = ("bench/audit.py", (
    "[PG] client page, recording vs _append stubbed, p95",
    "[SQLite] client page, recording vs _append stubbed, p95",
    "filter: client code, p50 / p95", "client history view, p50 / p95",
    "EXPLAIN: filters that read the whole event table", "audit_verify --full"))
if ON_POSTGRESQL:
    BENCHES["audit"] = AUDIT


def _pg_server() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"


# Scratch database names of this run alone: never the suite's (test_*), never another run's.
TAG = f"smoke{os.getpid()}"


def _bench_env(tmp_path: Path, template: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in NOT_PASSED and not k.startswith("SALON_VAULT_")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env.update(SALON_VAULT_VAR=str(tmp_path / "var"), TMPDIR=str(tmp_path / "tmp"),
               BENCH_DB_TAG=TAG, BENCH_TEMPLATE=str(template))
    if ON_POSTGRESQL:
        env["BENCH_PG"] = _pg_server()
    return env


def _scratch_databases(*, templates: bool = False) -> list[str]:
    import psycopg

    pattern = f"sv_bench_template_{TAG}%" if templates else f"sv_bench_%_{TAG}%"
    with psycopg.connect(_pg_server() + "postgres", autocommit=True) as conn:
        return [name for (name,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,))
            if templates or not name.startswith("sv_bench_template_")]


def _drop(names: list[str]) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_pg_server() + "postgres", autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """A migrated, empty salon (bench/template.py) that every bench run starts from, so that
    each need not migrate again: SQLite files, and PostgreSQL templates on that run."""
    where = tmp_path_factory.mktemp("bench-template")
    env = _bench_env(where, where / "salon")
    engines = ("sqlite", "postgresql") if ON_POSTGRESQL else ("sqlite",)
    try:
        for db in engines:  # SQLite first: both share its keyring
            subprocess.run([sys.executable, "bench/template.py", str(where / "salon"),  # noqa: S603
                            "--db", db], cwd=ROOT, env=env, check=True, capture_output=True,
                           timeout=600)
        yield where / "salon"
    finally:
        if ON_POSTGRESQL:
            _drop(_scratch_databases(templates=True))
        shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def leftovers_dropped():
    # Whatever a failed bench left is dropped here.
    yield
    if ON_POSTGRESQL:
        _drop(_scratch_databases())


@pytest.mark.parametrize("name", list(BENCHES))
def test_quick_run_of_the_benchmark_reports_its_measures(name, tmp_path, template,
                                                         leftovers_dropped):
    script, measures = BENCHES[name]
    command = [sys.executable, script, "--quick"]
    if ON_POSTGRESQL and name != "audit":  # the audit bench is on PostgreSQL always
        command += ["--db", "postgresql"]
    if ON_POSTGRESQL and name == "load" and settings.REDIS_URL:
        command += ["--redis", settings.REDIS_URL]
    run = subprocess.run(command, cwd=ROOT, env=_bench_env(tmp_path, template),  # noqa: S603
                         capture_output=True, text=True, timeout=900)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    missing = [m for m in measures if m not in run.stdout]
    assert not missing, f"the report lacks {missing}:\n{run.stdout[-6000:]}"
    assert "rows meet or have no target" in run.stdout or "All targets met." in run.stdout
    # The scratch salon is gone: its directory, and its databases on PostgreSQL.
    assert list((tmp_path / "tmp").iterdir()) == []
    if ON_POSTGRESQL:
        assert _scratch_databases() == []
