"""The command line of bench/audit.py: options, the scratch databases, the phases and
the report."""

from __future__ import annotations

import argparse
import os

import bench.audit_log
from bench.audit_log import FULL_EVENTS, QUICK_EVENTS, RESULTS
from bench.audit_log.filters import measure_filters
from bench.audit_log.loading import bulk_load, loaded_events, seed_clients
from bench.audit_log.recording import measure_recording
from bench.audit_log.recording_report import (
    child_sqlite,
    probe_subject_lookup,
    recording_rows,
    sqlite_recording,
)
from bench.audit_log.verify import measure_verify
from bench.common import add_run_arguments, code_version, report, run_header, say
from bench.salon import ensure_staff, prepare_databases, scratch, setup_django


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=bench.audit_log.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser, quick=f"{QUICK_EVENTS:,} events, fewer runs of everything",
                      keep="a second run reuses the loaded events", db=False)
    parser.add_argument("--events", type=int, default=None,
                        help=f"synthetic events to load (default {FULL_EVENTS:,}, --quick "
                             f"{QUICK_EVENTS:,})")
    parser.add_argument("--per-list", type=int, default=10,
                        help="clients named by each synthetic list event (default 10)")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs per auditor query (default 30, --quick 5)")
    parser.add_argument("--record-n", type=int, default=None,
                        help="recordings and openings timed per variant (default 500, "
                             "--quick 50)")
    parser.add_argument("--page-runs", type=int, default=None,
                        help="runs of the client-page timings, the median run reported "
                             "(default 5, --quick 1)")
    parser.add_argument("--clients", type=int, default=None,
                        help="real clients seeded for the openings (default 1000, --quick 200)")
    parser.add_argument("--verify-events", type=int, default=None,
                        help="events the previous verifier (the baseline) checks "
                             "(default 1,000,000; 0: the whole chain)")
    parser.add_argument("--verify-workers", type=int, default=os.cpu_count() or 1,
                        help="processes for audit_verify --full (default: one per core; it "
                             "is also measured with 1)")
    parser.add_argument("--incremental-events", type=int, default=1000,
                        help="events appended before the incremental run (default 1,000)")
    parser.add_argument("--skip", default="",
                        help="comma-separated phases to leave out: a (recording), b "
                             "(filters), c (verify), sqlite, previous (the previous "
                             "selectors' baseline)")
    parser.add_argument("--child-sqlite", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.events = args.events or (QUICK_EVENTS if args.quick else FULL_EVENTS)
    args.runs = args.runs or (5 if args.quick else 30)
    args.record_n = args.record_n or (50 if args.quick else 500)
    args.clients = args.clients or (200 if args.quick else 1000)
    args.page_runs = args.page_runs or (1 if args.quick else 5)
    if args.verify_events is None:
        args.verify_events = QUICK_EVENTS if args.quick else 1_000_000
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child_sqlite:
        child_sqlite(args)
        return
    # The audit log is measured on PostgreSQL (COPY, EXPLAIN, the one-statement append);
    # phase (a) runs on SQLite too, in a child process.
    with scratch("audit", keep=args.keep, postgresql=True, quick=args.quick) as place:
        database, vault_database = place.urls
        setup_django(place.var_dir, database=database, vault_database=vault_database)
        measured_code = code_version()  # what this process imports, not HEAD at the end
        say(f"Salon Vault audit benchmark: {args.events:,} events, "
            f"SALON_VAULT_VAR={place.var_dir}, PostgreSQL databases {place.databases}")
        prepare(args)
        load_before = os.getloadavg()
        measure(args, place.var_dir)
    run_header("audit benchmark", f"{args.events:,} synthetic events, PostgreSQL (SQLite for "
                                  f"the rows so marked)")
    print(f"code: {measured_code}")
    print(f"load average (1 min) when the timings began {load_before[0]:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f}; p95 = nearest rank")
    if args.quick:
        print("--quick: a smoke test of the bench on a small log; its figures are no measurement.")
    print()
    report(RESULTS, markdown=args.markdown)


def prepare(args: argparse.Namespace) -> None:
    """Schema, staff, the synthetic events (or those of an earlier run) and real clients."""
    from django.db import connection

    prepare_databases()
    ensure_staff()
    have = loaded_events()
    if have < args.events:
        bulk_load(args.events - have, seed=1 + have, per_list=args.per_list)
    else:
        say(f"reusing {have:,} loaded synthetic events")
    seed_clients(args.clients)
    with connection.cursor() as cur:
        cur.execute("CHECKPOINT")  # write out the load now, not during the timings


def measure(args: argparse.Namespace, var_dir) -> None:
    if "a" not in args.skip:
        say(f"a) recording overhead on PostgreSQL: {args.record_n} per variant...")
        recording_rows(measure_recording(args.record_n, threads=4, repeats=args.page_runs))
        RESULTS.append(probe_subject_lookup())
        if "sqlite" not in args.skip:
            sqlite_recording(args, var_dir)
    if "b" not in args.skip:
        measure_filters(args)
    if "c" not in args.skip:
        measure_verify(args)
