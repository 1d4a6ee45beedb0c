"""Benchmark of the audit log, run by hand (bench/README.md, "Audit"):

    .venv/bin/python bench/audit.py [--quick] [--keep DIR] [--events 10000000]

The code is here, by phase: events and loading (the synthetic chain), recording (a),
recording_report (a's rows, SQLite child), filters (b), verify (c), cli (options, main).

It uses scratch PostgreSQL databases (sv_bench_audit / sv_bench_audit_keys, or
sv_bench_audit_quick* with --quick, BENCH_DB_TAG appended when set; server from
BENCH_PG, default
postgresql://postgres@127.0.0.1:5432/) and a scratch SALON_VAULT_VAR, and measures in one
run:

a) recording overhead: audit.services.record() alone, and access.door.open_client with
   recording against the same opening with audit.services._append stubbed out, on
   PostgreSQL and (in a child process) on SQLite; the durability floor (a one-row UPDATE
   and its commit); on PostgreSQL also the ORM append (SQLite's path, PostgreSQL's before
   the one-statement append) as the comparison, and four writers at once;
b) the auditor's filters at 10 million events: synthetic events bulk-loaded with COPY as a
   valid hash chain, then audit.selectors.filtered + page as the /audit/ views run them,
   the client history view and the per-day chart; the queries that missed their target
   before are measured again with the previous selectors (PreviousSelectors, same first
   page checked) as the baseline, and every filter is planned with EXPLAIN (no full scan
   of the event table);
c) audit_verify throughput: `verify_and_record(full=True)` over the whole chain with one
   worker process and with one per core, the previous verifier loop (ORM rows and
   json.dumps) over the first million as the baseline, the cProfile of the loop, and an
   incremental (nightly) run after new events.

Without --keep the databases are created fresh and dropped at the end. With --keep DIR the
scratch directory (keyring) and the databases are kept, and a second run reuses the
loaded events (loading 10 million takes several minutes).
"""

from __future__ import annotations

from bench.common import Result

RESULTS: list[Result] = []  # the report's rows, in the order they are measured
FULL_EVENTS, QUICK_EVENTS = 10_000_000, 20_000
CLIENTS = 100_000  # distinct clients named by the synthetic events
YEARS_DAYS = 3 * 365
TARGET_RECORD_MS = 1.0  # recording adds at most this much to an opening at p95
TARGET_FILTER_MS = 200.0  # each auditor query at p95
TARGET_VERIFY = 100_000  # events per second
