"""The command line of bench/access.py: options, the scratch salon, the measures and the
report."""

from __future__ import annotations

import argparse
import os
import random

import bench.access_control
from bench.access_control import MEASURED, QUICK_CLIENTS, RESULTS
from bench.access_control.diagnose import diagnose_sql, profile
from bench.access_control.measure import add_results, measure, page_urls
from bench.access_control.setup import ensure_grants
from bench.common import add_run_arguments, code_version, report, run_header, say
from bench.salon import (
    ensure_seeded,
    ensure_staff,
    prepare_databases,
    scratch,
    setup_django,
    verify_second_factor,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=bench.access_control.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser, quick=f"{QUICK_CLIENTS:,} clients and fewer requests",
                      keep="a second run reuses the seeded salon")
    parser.add_argument("--clients", type=int, default=100_000,
                        help="clients in the salon (default 100,000)")
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per page and variant (default 200, --quick 20)")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default=None,
                        help="cProfile the pages: when a page misses its target (auto, the "
                             "default), always, or never (the default with --quick)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="seed and set up the salon, then stop (with --keep DIR)")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients = QUICK_CLIENTS
    args.requests = args.requests or (20 if args.quick else 200)
    args.profile = args.profile or ("never" if args.quick else "auto")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    measured_code = code_version()  # what this process imports, not what HEAD is at the end
    with scratch("access", keep=args.keep, postgresql=args.db == "postgresql",
                 quick=args.quick) as place:
        database, vault_database = place.urls
        setup_django(place.var_dir, database=database, vault_database=vault_database)
        from django.db import connections

        engine = connections["default"].vendor
        say(f"Salon Vault access-control benchmark: {args.clients:,} clients, "
            f"SALON_VAULT_VAR={place.var_dir}, database {engine}")
        clients, users = prepare(args.clients)
        if args.prepare_only:
            return
        load_before = os.getloadavg()
        run(args, users)
    run_header("access-control benchmark", f"{clients:,} clients, 20 staff, database {engine}")
    print("ours: the stylist (location scope + grants + break-glass); baseline: the owner "
          "with Decider.prefetch/has_grant/break_glass stubbed; same URLs, alternating.")
    print(f"code: {measured_code}")
    print(f"load average (1 min) when the timings began {load_before[0]:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f}; p95 = nearest rank")
    if args.quick:
        print("--quick: a smoke test of the bench on a small salon; its figures are no "
              "measurement.")
    print()
    report(RESULTS, markdown=args.markdown,
           headers=("measure", "stylist", "owner, stubbed", "ratio", "target", "result"))


def prepare(clients: int) -> tuple[int, dict]:
    """The seeded salon, 20 staff and their grants; returns the clients and the staff."""
    from records import maintenance

    fresh = prepare_databases()
    clients = ensure_seeded(clients, fresh)
    users = ensure_staff()
    grants = ensure_grants(users)
    say(f"20 staff: {len(users)}; {grants['grants']:,} live grants, the stylist holds "
        f"{grants['stylist_grants']:,} ({grants['cross']} in the other branch) and "
        f"{grants['glass']} open break-glass accesses")
    # As seeding and the daily job leave them (a salon kept from an earlier run may
    # predate that).
    maintenance.refresh_statistics()
    return clients, users


def run(args: argparse.Namespace, users: dict) -> None:
    from django.test import Client as HttpClient

    stylist, owner = users[MEASURED], users["owner"]
    http = {"stylist": HttpClient(), "owner": HttpClient()}
    for name, user in (("stylist", stylist), ("owner", owner)):
        http[name].force_login(user)
        verify_second_factor(http[name], user)
    pages = page_urls(stylist, random.Random(20240612), args.requests)
    say(f"measuring: {args.requests} requests per page and variant, alternating...")
    timings = measure(http, pages, args.requests)
    add_results(timings, args.requests)
    missed = [r for r in RESULTS if r.passed is False]
    diagnose_sql(users)
    if args.profile == "always" or (args.profile == "auto" and missed):
        profile(http, pages, min(50, args.requests))
