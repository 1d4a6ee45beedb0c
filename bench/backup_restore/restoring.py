"""The commands an operator runs, each timed on the wall clock in a subprocess
(``manage.py backup_verify ID``, ``manage.py backup_restore ID --database-url ...``), the
new empty databases a restore goes into, and the timed-steps restore (phases.py).

The subprocesses get this process's environment: the scratch salon's SALON_VAULT_VAR,
bench.settings (the schema the backup was made with) and, on PostgreSQL, the salon's
DATABASE_URL and VAULT_DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import ROOT, say
from bench.salon import Scratch, _close_connections, pg_create, pg_drop, pg_url

REPORTED = re.compile(r"(\d+) tables, (\d+) rows and (\d+) files restored in ([\d.]+) s")


@dataclass
class Target:
    """Where one restore goes: two new empty databases and a folder for the files."""

    database: str
    vault_database: str
    files_dir: Path


@contextlib.contextmanager
def target(place: Scratch, kind: str) -> Iterator[Target]:
    """New empty databases `<salon's>_<kind>` (PostgreSQL) or SQLite files in the scratch
    directory, removed at the end (also with --keep: they are a copy)."""
    folder = place.var_dir / f"bench-{kind}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    names: tuple[str, ...] = ()
    if place.databases:
        names = (f"{place.databases[0]}_{kind}", f"{place.databases[0]}_{kind}_keys")
        assert all(n.startswith("sv_bench_backup") for n in names), names
        for name in names:
            pg_create(name, fresh=True)
        urls = (pg_url(names[0]), pg_url(names[1]))
    else:
        urls = (f"sqlite:///{folder / 'records.sqlite3'}", f"sqlite:///{folder / 'keys.sqlite3'}")
    try:
        yield Target(*urls, files_dir=folder / "files")
    finally:
        for name in names:
            pg_drop(name)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Command:
    argv: list[str]
    wall: float
    stdout: str
    stderr: str


def run(argv: list[str], *, env: dict[str, str] | None = None) -> Command:
    """`argv` (a manage.py command, or a module of the bench) timed on the wall clock; a
    failure ends the bench with its output."""
    _close_connections()  # nothing of this process in the way (SQLite locks, PostgreSQL)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env or {**os.environ},  # noqa: S603
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n"
                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return Command(argv, wall, done.stdout, done.stderr)


def verify(backup_id: str) -> Command:
    done = run(["manage.py", "backup_verify", backup_id])
    say(f"backup_verify: {done.stdout.strip().splitlines()[-1]} ({done.wall:.1f}s)")
    return done


@dataclass
class RestoreRun:
    wall: float
    tables: int
    rows: int
    files: int
    reported: float  # the restore's own figure: restore() in the child, from its start


def restore(backup_id: str, into: Target) -> RestoreRun:
    done = run(["manage.py", "backup_restore", backup_id, "--database-url", into.database,
                "--vault-database-url", into.vault_database, "--files-dir",
                str(into.files_dir)])
    found = REPORTED.search(done.stdout)
    if not found:
        raise SystemExit(f"backup_restore did not report what it restored:\n{done.stdout}")
    tables, rows, files = (int(n) for n in found.groups()[:3])
    said = float(found.group(4))
    say(f"backup_restore: {found.group(0)}; the command took {done.wall:.1f}s")
    return RestoreRun(done.wall, tables, rows, files, said)


@dataclass
class Phases:
    startup: float  # the child's imports and django.setup()
    restore: float  # restore() on the wall clock
    seconds: dict[str, float] = field(default_factory=dict)
    sql: dict[str, float] = field(default_factory=dict)
    statements: int = 0
    rows: int = 0
    files: int = 0
    profile: str = ""  # the child's cProfile listing, if asked


def timed_restore(backup_id: str, into: Target, *, profile: int = 0) -> Phases:
    """restore() once more into `into`, its steps timed (phases.py), in a child process set
    up as backup_restore sets up its own (the salon's shred ledger passed in a file)."""
    from django.conf import settings

    from vault.models import ShredRecord

    ledger = Path(into.files_dir).parent / "ledger.txt"
    ledger.write_text("".join(f"{s}\n" for s in ShredRecord.objects.values_list(
        "subject_id", flat=True)))
    env = {**os.environ, "DATABASE_URL": into.database,
           "VAULT_DATABASE_URL": into.vault_database,
           "VAULT_FILES_ROOT": str(into.files_dir.resolve()),
           "SALON_VAULT_KEYRING": str(settings.SALON_VAULT_KEYRING),
           "SALON_VAULT_VAR": str(settings.VAR_DIR)}
    argv = ["-m", "bench.backup_restore.phases", backup_id, "--ledger-file", str(ledger)]
    done = run([*argv, *(["--profile", str(profile)] if profile else [])], env=env)
    *listing, last = done.stdout.rstrip("\n").splitlines()
    figures = json.loads(last)
    say(f"timed-steps restore: {figures['rows']:,} rows, {figures['files']:,} files; "
        f"restore() {figures['restore']:.1f}s, process {done.wall:.1f}s")
    return Phases(figures["startup"], figures["restore"], figures["seconds"], figures["sql"],
                  figures["statements"], figures["rows"], figures["files"],
                  "\n".join(listing))
