#!/usr/bin/env python
"""Benchmark of access control on the client pages, run by hand:

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
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import os
import platform
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `python bench/access.py` puts bench/ first on sys.path, where this very file would
# shadow the `access` app: the project root goes there instead.
sys.path[:1] = [str(ROOT)]

from bench.common import (  # noqa: E402
    EXTRA_STAFF,
    Result,
    code_version,
    ensure_seeded,
    ensure_staff,
    median,
    ms,
    p95,
    pg_create,
    pg_drop,
    pg_exists,
    pg_url,
    prepare_databases,
    report,
    say,
    setup_django,
    verify_second_factor,
)

RESULTS: list[Result] = []
QUICK_CLIENTS = 5_000
TARGET_RATIO = 1.10
MEASURED = "stylist"
CROSS_GRANTS = 200  # the stylist's grants on clients of the other branch
EXTRA_SHARE = 0.02  # share of their branch's clients granted to each new stylist/beautician


# -- setup -----------------------------------------------------------------------------
def ensure_grants(users: dict) -> dict:
    """Grants for the staff beyond the demo's, cross-branch grants and break-glass for the
    measured stylist; returns counts for the report."""
    from django.utils import timezone

    from access import services
    from access.models import BreakGlass, Grant
    from records.models import Client

    rng = random.Random(20240611)
    by_branch = {}
    for code in ("bj", "sh"):
        by_branch[code] = list(Client.objects.filter(location__code=code).order_by("code")
                               .values_list("pk", flat=True))
    for username, role, branch in EXTRA_STAFF:
        user = users[username]
        if role == "reception" or Grant.objects.filter(user=user).exists():
            continue
        ids = rng.sample(by_branch[branch], max(1, int(EXTRA_SHARE * len(by_branch[branch]))))
        services.grants_for_assignments(
            pairs=[(user, c) for c in Client.objects.filter(pk__in=ids)])
    stylist = users[MEASURED]
    home = stylist.staff.location.code
    other = "sh" if home == "bj" else "bj"
    have_cross = Grant.objects.filter(user=stylist, client_id__in=by_branch[other]).count()
    if have_cross < CROSS_GRANTS:
        ids = rng.sample(by_branch[other], CROSS_GRANTS - have_cross)
        services.grants_for_assignments(
            pairs=[(stylist, c) for c in Client.objects.filter(pk__in=ids)])
    now = timezone.now()
    open_glass = BreakGlass.objects.filter(user=stylist, ended_at__isnull=True,
                                           expires_at__gt=now + dt.timedelta(hours=1))
    if open_glass.count() < 3:
        for client in Client.objects.filter(location__code=home,
                                            assigned_staff__isnull=True)[:3]:
            BreakGlass.objects.create(
                user=stylist, client_id=client.pk, client_code=client.code,
                reason="benchmark: the client called about an allergic reaction",
                expires_at=now + dt.timedelta(days=1))
    return {
        "grants": Grant.objects.filter(revoked_at__isnull=True).count(),
        "stylist_grants": Grant.objects.filter(user=stylist, revoked_at__isnull=True).count(),
        "cross": CROSS_GRANTS,
        "glass": open_glass.count(),
    }


@contextlib.contextmanager
def object_checks_stubbed():
    """Decider without object checks: no grants, no break-glass, nothing prefetched."""
    from unittest import mock

    from access.policy import Decider

    with (mock.patch.object(Decider, "prefetch", lambda self, clients: None),
          mock.patch.object(Decider, "has_grant", lambda self, client: False),
          mock.patch.object(Decider, "break_glass", lambda self, client: None)):
        yield


# -- measuring -------------------------------------------------------------------------
def _get(http, url: str, cpu: list[float] | None = None) -> float:
    began, began_cpu = time.perf_counter(), time.thread_time()
    response = http.get(url)
    elapsed = time.perf_counter() - began
    if cpu is not None:
        cpu.append(time.thread_time() - began_cpu)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return elapsed


def _queries(http, url: str, stubbed: bool) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured, (
            object_checks_stubbed() if stubbed else contextlib.nullcontext()):
        http.get(url)
    return len(captured)


def measure(clients_http: dict, pages: dict, requests: int,
            variants=("stylist", "owner, stubbed", "owner")) -> dict:
    """Alternate the variants request by request over the same URLs."""
    timings = {}
    for page, urls in pages.items():
        for url in urls[:10]:  # warm up: templates, connections, translation catalogs
            for variant in variants:
                _call(clients_http, variant, url)
        wall = {v: [] for v in variants}
        cpu = {v: [] for v in variants}
        gc.collect()
        for i, url in enumerate(urls[:requests]):
            k = i % len(variants)
            order = variants[k:] + variants[:k]  # rotate who goes first
            for variant in order:
                wall[variant].append(_call(clients_http, variant, url, cpu[variant]))
        queries = {v: _queries(clients_http[v.split(",")[0]], urls[0], v == "owner, stubbed")
                   for v in variants}
        timings[page] = (wall, cpu, queries)
        say(f"{page}: median " + ", ".join(f"{v} {ms(median(wall[v]))}" for v in variants)
            + f"; queries {queries}")
    return timings


def _call(clients_http: dict, variant: str, url: str, cpu: list[float] | None = None) -> float:
    http = clients_http[variant.split(",")[0]]
    with object_checks_stubbed() if variant == "owner, stubbed" else contextlib.nullcontext():
        return _get(http, url, cpu)


def add_results(timings: dict, requests: int) -> None:
    for page, (wall, cpu, queries) in timings.items():
        ours, base, owner = wall["stylist"], wall["owner, stubbed"], wall["owner"]
        n = len(ours)
        ratio = median(ours) / median(base)
        RESULTS.append(Result(f"{page}, median of {n}", ms(median(ours)), ms(median(base)),
                              f"{ratio:.2f}×", f"≤ {TARGET_RATIO:.2f}×", ratio <= TARGET_RATIO))
        RESULTS.append(Result(f"{page}, p95 of {n}", ms(p95(ours)), ms(p95(base)),
                              f"{p95(ours) / p95(base):.2f}×", "(information)", None))
        c_ours, c_base = median(cpu["stylist"]), median(cpu["owner, stubbed"])
        RESULTS.append(Result(f"{page}, median CPU time", ms(c_ours), ms(c_base),
                              f"{c_ours / c_base:.2f}×", "(information)", None))
        RESULTS.append(Result(f"{page}, SQL queries per request", str(queries["stylist"]),
                              str(queries["owner, stubbed"]),
                              f"{queries['stylist'] - queries['owner, stubbed']:+d}",
                              "(information)", None))
        RESULTS.append(Result(f"{page}: owner without stubs, median",
                              ms(median(owner)), ms(median(base)),
                              f"{median(owner) / median(base):.2f}×",
                              f"(information; {queries['owner']} queries)", None))


def diagnose_sql(users: dict, note: str = "") -> None:
    """The stylist's own queries, timed alone against the owner's (median of 7), with the
    plan SQLite or PostgreSQL chooses: where the list page's extra time goes."""
    from django.db import connection
    from django.db.models import Q
    from django.utils import timezone

    from access.models import Grant
    from records import selectors

    stylist, owner = users[MEASURED], users["owner"]

    def best(fn) -> float:
        times = []
        for _ in range(7):
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
        return median(times)

    def plan(qs) -> str:
        sql, params = qs.query.sql_with_params()
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        with connection.cursor() as cur:
            cur.execute(prefix + sql, params)
            rows = cur.fetchall()
        steps = [r[-1] for r in rows] if connection.vendor == "sqlite" else [r[0] for r in rows]
        return "; ".join(step.strip() for step in steps[:12])

    mine = selectors.clients_visible_to(stylist).select_related("location", "assigned_staff")
    theirs = selectors.clients_visible_to(owner).select_related("location", "assigned_staff")
    codes = list(mine.order_by("code").values_list("code", flat=True))
    after = codes[len(codes) // 2]  # a page in the middle of the stylist's list

    def page(q):
        return q.filter(code__gt=after).order_by("code")[:51]

    rows = [(f"the rows of a list page (after {after})", lambda q: list(page(q)), page)]
    for label, fn, planned in rows:
        a, b = best(lambda fn=fn: fn(mine)), best(lambda fn=fn: fn(theirs))
        RESULTS.append(Result(f"SQL{note}: {label}", ms(a), ms(b), f"{a / b:.1f}×",
                              "(information)", None))
        if planned is not None:
            say(f"  plan{note}, stylist: {plan(planned(mine))}")
            say(f"  plan{note}, owner:   {plan(planned(theirs))}")
    client_id = Grant.objects.filter(user=stylist).values_list("client_id", flat=True)[
        Grant.objects.filter(user=stylist).count() // 2]
    grant = (Grant.objects.filter(user=stylist, client_id__in=[client_id],
                                  revoked_at__isnull=True)
             .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
             .values_list("client_id", flat=True))
    a = best(lambda: list(grant.all()))  # .all(): a fresh query each time, no cache
    RESULTS.append(Result(f"SQL{note}: the Grant ledger lookup of one client",
                          ms(a), "—", "—", "(information)", None))
    say(f"  plan{note}, Grant lookup: {plan(grant)}")


def profile(clients_http: dict, pages: dict, requests: int) -> None:
    """cProfile of the stylist's pages: where the time over the baseline goes."""
    for page, urls in pages.items():
        for variant in ("stylist", "owner, stubbed"):
            sample = urls[:requests]
            profiler = cProfile.Profile()
            profiler.enable()
            for url in sample:
                _call(clients_http, variant, url)
            profiler.disable()
            stats = pstats.Stats(profiler)
            print(f"\n--- cProfile, {page}, {variant}: {len(sample)} requests, "
                  f"{stats.total_tt / len(sample) * 1e3:.1f} ms per request under the "
                  f"profiler ---")
            rows = []
            for (path, line, func), (_cc, ncalls, tottime, cumtime, _c) in stats.stats.items():
                if path.startswith(str(ROOT)) and "/.venv/" not in path:
                    short = path.replace(str(ROOT) + "/", "")
                    rows.append((cumtime, tottime, ncalls, f"{short}:{line}({func})"))
            rows.sort(reverse=True)
            print(f"{'cum ms/req':>10} {'own ms/req':>10} {'calls/req':>9}  function "
                  f"(project code)")
            for cumtime, tottime, ncalls, where in rows[:16]:
                print(f"{cumtime / len(sample) * 1e3:10.2f} {tottime / len(sample) * 1e3:10.2f} "
                      f"{ncalls / len(sample):9.1f}  {where}")


def page_urls(stylist, rng: random.Random, requests: int) -> dict:
    from access.models import Grant
    from records import selectors

    codes = list(selectors.clients_visible_to(stylist).order_by("code")
                 .values_list("code", flat=True))
    granted = list(Grant.objects.filter(user=stylist, revoked_at__isnull=True,
                                        client_id__in=selectors.clients_visible_to(stylist)
                                        .filter(assigned_staff=stylist).values("pk"))
                   .values_list("client_id", flat=True))
    detail = rng.sample(granted, min(len(granted), requests + 10))
    while len(detail) < requests + 10:
        detail += detail
    return {
        # Any page of the stylist's list: the list pages by code (?after=<code>).
        "client list page (50 rows)": [f"/clients/?after={rng.choice(codes)}"
                                       for _ in range(requests + 10)],
        "client detail page (assigned client, L4)": [f"/clients/{pk}/"
                                                     for pk in detail[:requests + 10]],
    }


# -- main ------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100_000,
                        help="clients in the salon (default 100,000)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a fast check: {QUICK_CLIENTS:,} clients and fewer requests")
    parser.add_argument("--keep", metavar="DIR", type=Path,
                        help="use DIR as SALON_VAULT_VAR and keep it (and the PostgreSQL "
                             "databases): a second run reuses the seeded salon")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                        help="SQLite in the scratch directory (default) or scratch "
                             "PostgreSQL databases sv_bench_access* (BENCH_PG server)")
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per page and variant (default 200, --quick 60)")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="cProfile the pages: when a page misses its target (auto), "
                             "always, or never")
    parser.add_argument("--prepare-only", action="store_true",
                        help="seed and set up the salon, then stop (with --keep DIR)")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients = QUICK_CLIENTS
    args.requests = args.requests or (60 if args.quick else 200)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    var_dir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(
        prefix="salon-vault-bench-access-"))
    var_dir.mkdir(parents=True, exist_ok=True)
    names: tuple[str, ...] = ()
    urls = (None, None)
    load_before = os.getloadavg()
    measured_code = code_version()  # what this process imports, not what HEAD is at the end
    if args.db == "postgresql":
        names = (("sv_bench_access_quick", "sv_bench_access_quick_keys") if args.quick
                 else ("sv_bench_access", "sv_bench_access_keys"))
        fresh = not args.keep or not (var_dir / "keyring.json").exists()
        for name in names:
            pg_create(name, fresh=fresh or not pg_exists(names[1]))
        urls = (pg_url(names[0]), pg_url(names[1]))
    setup_django(var_dir, database=urls[0], vault_database=urls[1])

    import django
    from django.db import connections
    from django.test import Client as HttpClient

    from records import maintenance

    engine = connections["default"].vendor
    say(f"Salon Vault access-control benchmark: {args.clients:,} clients, "
        f"SALON_VAULT_VAR={var_dir}, database {engine}")
    try:
        fresh = prepare_databases()
        clients = ensure_seeded(args.clients, fresh)
        users = ensure_staff()
        grants = ensure_grants(users)
        say(f"20 staff: {len(users)}; {grants['grants']:,} live grants, the stylist holds "
            f"{grants['stylist_grants']:,} ({grants['cross']} in the other branch) and "
            f"{grants['glass']} open break-glass accesses")
        # As seeding and the daily job leave them (a salon kept from an earlier run may
        # predate that).
        maintenance.refresh_statistics()
        if args.prepare_only:
            return
        stylist, owner = users[MEASURED], users["owner"]
        http = {"stylist": HttpClient(), "owner": HttpClient()}
        http["stylist"].force_login(stylist)
        http["owner"].force_login(owner)
        verify_second_factor(http["owner"], owner)
        pages = page_urls(stylist, random.Random(20240612), args.requests)
        say(f"measuring: {args.requests} requests per page and variant, alternating...")
        load_before = os.getloadavg()
        timings = measure(http, pages, args.requests)
        add_results(timings, args.requests)
        missed = [r for r in RESULTS if r.passed is False]
        diagnose_sql(users)
        if args.profile == "always" or (args.profile == "auto" and missed):
            profile(http, pages, min(50, args.requests))
    finally:
        connections.close_all()
        if not args.keep:
            for name in names:
                pg_drop(name)
            shutil.rmtree(var_dir, ignore_errors=True)

    print()
    print(f"Salon Vault access-control benchmark — {dt.date.today().isoformat()}, {clients:,} "
          f"clients, 20 staff, database {engine}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, Django {django.get_version()}")
    print("ours: the stylist (location scope + grants + break-glass); baseline: the owner "
          "with Decider.prefetch/has_grant/break_glass stubbed; same URLs, alternating.")
    print(f"code: {measured_code}")
    print(f"load average (1 min) when the timings began {load_before[0]:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f}; p95 = nearest rank")
    print()
    report(RESULTS, markdown=args.markdown,
           headers=("measure", "stylist", "owner, stubbed", "ratio", "target", "result"))

if __name__ == "__main__":
    main()
