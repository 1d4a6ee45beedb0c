"""Benchmark of access control on the client pages, run by hand (bench/README.md):

    .venv/bin/python bench/access.py [--clients 100000] [--quick] [--keep DIR] [--db postgresql]

Target: the permission check and grant filtering add at most 10 % to the client list and
client detail pages at 100,000 clients with 20 staff.

It loads a demo salon with ``records.demo.seed_demo`` into a scratch directory
(SALON_VAULT_VAR; SQLite there by default, or scratch PostgreSQL databases
sv_bench_access* with --db postgresql), brings the staff to 20 (bench/common.py), gives
the new stylists and beauticians grants through access.services.grants_for_assignments,
and gives the measured stylist grants on clients of the other branch and three open
break-glass accesses. Then, in one process and alternating request by request, it measures
through the real views (django.test.Client):

- ours: the pages as the stylist `stylist` sees them: location scope, guardian object
  grants and the Grant ledger (Decider.visible_filter, prefetch, has_grant) and the
  break-glass lookup;
- baseline: the same pages for the owner with the policy's object checks stubbed out
  (Decider.prefetch, has_grant and break_glass patched to no-ops), so that only the
  owner's unconditional path runs;
- for information, the owner without stubs: what the owner pays today for object
  checks that cannot change an owner's ceiling.

The detail pages are of clients assigned to the stylist, so both users open them at L4
and render the same sections; the list pages are the same pages (after the same code;
clients are ordered by code and the stylist's branch sorts first, so the rows are the
same but for granted clients of the other branch). The planner statistics are refreshed
first, as seeding and the daily job leave them.

The code is here: setup (grants, stubs), measure (the pages), diagnose (SQL plans and
profiles), cli (options, main).
"""

from __future__ import annotations

from bench.common import Result

RESULTS: list[Result] = []  # the report's rows, in the order they are measured
QUICK_CLIENTS = 1_000
TARGET_RATIO = 1.10
MEASURED = "stylist"
CROSS_GRANTS = 200  # the stylist's grants on clients of the other branch
EXTRA_SHARE = 0.02  # share of their branch's clients granted to each new stylist/beautician
