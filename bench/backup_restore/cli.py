"""The command line of bench/backup.py: options, the scratch salon, the timed runs (each
after a wait for a quiet machine, if asked) and the report."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import bench.backup_restore
from bench.backup_restore import CLIENTS, HEADERS, PHOTOS, QUICK, QUIET_LOAD, RESULTS, TREATMENTS
from bench.common import add_run_arguments, code_version, report, run_header, say
from bench.salon import Scratch, ensure_seeded, prepare_databases, scratch, setup_django

LOADS: list[str] = []  # the load average before each timed run, for the report
BUSY: list[str] = []  # timed runs that started on a busy machine (--wait-quiet ran out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=bench.backup_restore.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    clients, treatments, photos = QUICK
    add_run_arguments(parser, quick=f"{clients:,} clients, {treatments} treatments each, "
                                    f"{photos} photos",
                      keep="a second run reuses the seeded salon")
    parser.add_argument("--clients", type=int, default=CLIENTS,
                        help=f"clients in the salon (default {CLIENTS:,})")
    parser.add_argument("--treatments", type=int, default=TREATMENTS,
                        help=f"treatments per client seeded (default {TREATMENTS})")
    parser.add_argument("--photos", type=int, default=PHOTOS,
                        help=f"photos seeded, in before/after pairs (default {PHOTOS:,})")
    parser.add_argument("--runs", type=int, default=1,
                        help="backups and restores timed (each restore into new databases); "
                             "the median counts (default 1)")
    parser.add_argument("--no-phases", action="store_true",
                        help="skip the second restore whose steps are timed")
    parser.add_argument("--profile", type=int, nargs="?", const=16, default=0, metavar="N",
                        help="run the timed-steps restore under cProfile and one more backup "
                             "too; print the N dearest functions of each (default 16)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="MINUTES",
                        help=f"before each timed run, wait up to MINUTES for a 1-minute load "
                             f"average under {QUIET_LOAD} and no pytest process (default 0)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="seed the salon, then stop (with --keep DIR)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.quick:
        args.clients, args.treatments, args.photos = QUICK
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Stopped with SIGTERM, the bench still removes its backups and scratch databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    measured_code = code_version(("lifecycle", "audit", "records", "vault"))
    with scratch("backup", keep=args.keep, postgresql=args.db == "postgresql",
                 quick=args.quick) as place:
        database, vault_database = place.urls
        setup_django(place.var_dir, database=database, vault_database=vault_database,
                     settings="bench.backup_restore.settings")
        from django.db import connections

        engine = _engine(connections["default"])
        say(f"Salon Vault backup benchmark: {args.clients:,} clients, SALON_VAULT_VAR="
            f"{place.var_dir}, database {engine}")
        fresh = prepare_databases()
        ensure_seeded(args.clients, fresh, photos=max(1, args.photos // 2),
                      treatments_per_client=args.treatments)
        if args.prepare_only:
            return
        salon = _salon()
        measure(args, place)
    run_header("backup and restore benchmark", f"{salon}, databases {engine}")
    print("backup: lifecycle.backups.create.create() in the bench process; verify and "
          "restore: manage.py backup_verify ID and manage.py backup_restore ID --database-url "
          "... in a subprocess, into new empty databases, on the wall clock.")
    print(f"code: {measured_code}")
    print(f"load average (1 min) before each timed run: {', '.join(LOADS)}"
          + (f"; busy machine (--wait-quiet ran out) before: {', '.join(BUSY)}" if BUSY
             else ""))
    if args.quick:
        print("--quick: a smoke test of the bench on a small salon; its figures are no "
              "measurement.")
    print()
    report(RESULTS, markdown=args.markdown, headers=HEADERS)


def _engine(connection) -> str:
    if connection.vendor == "postgresql":
        version = connection.pg_version
        return f"PostgreSQL {version // 10000}.{version % 100}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


def _salon() -> str:
    from records.models import Client, ClientForm, Photo, Treatment

    return (f"{Client.objects.count():,} clients, {Treatment.objects.count():,} treatments, "
            f"{Photo.objects.count():,} photos, {ClientForm.objects.count():,} forms")


def measure(args: argparse.Namespace, place: Scratch) -> None:
    from bench.backup_restore import make, restoring
    from bench.backup_restore.report import add_results

    backups: list[make.BackupRun] = []
    try:
        for number in range(1, args.runs + 1):
            wait_quiet(f"backup {number}", args.wait_quiet)
            say(f"backing up (create.create()), run {number} of {args.runs}...")
            backups.append(make.back_up())
        backup_id = backups[-1].id
        wait_quiet("backup_verify", args.wait_quiet)
        verified = restoring.verify(backup_id)
        restores = []
        for number in range(1, args.runs + 1):
            with restoring.target(place, "restored") as into:
                wait_quiet(f"restore {number}", args.wait_quiet)
                say(f"restoring (manage.py backup_restore), run {number} of {args.runs}...")
                restores.append(restoring.restore(backup_id, into))
        phases = None
        if not args.no_phases:
            with restoring.target(place, "phases") as into:
                wait_quiet("the timed-steps restore", args.wait_quiet)
                say("restoring once more, restore() with its steps timed...")
                phases = restoring.timed_restore(backup_id, into, profile=args.profile)
        add_results(backups, verified, restores, phases, postgresql=bool(place.databases))
        if args.profile:
            make.profile_backup(args.profile)
            if phases is not None:
                print(phases.profile)
    finally:
        for backup in backups:
            make.remove(backup.id)


def wait_quiet(what: str, minutes: float) -> None:
    """Wait, up to `minutes`, for a 1-minute load average under QUIET_LOAD and no pytest
    process; note the load average the run starts at."""
    deadline, said = time.monotonic() + minutes * 60, 0.0
    while minutes > 0:
        load, tests = os.getloadavg()[0], _pytest_running()
        if load < QUIET_LOAD and not tests:
            break
        if time.monotonic() > deadline:
            BUSY.append(what)
            say(f"still busy after {minutes:g} min (load {load:.2f}, pytest: {tests}): "
                f"{what} runs anyway")
            break
        if time.monotonic() - said > 120:
            say(f"waiting for a quiet machine before {what} (load {load:.2f}, pytest "
                f"processes: {tests})")
            said = time.monotonic()
        time.sleep(10)
    LOADS.append(f"{what} {os.getloadavg()[0]:.2f}")


def _pytest_running() -> int:
    found = subprocess.run(["pgrep", "-f", "pytest"], capture_output=True, text=True,  # noqa: S607
                           check=False)
    return len([pid for pid in found.stdout.split() if int(pid) != os.getpid()])
