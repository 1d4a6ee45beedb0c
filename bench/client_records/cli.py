"""The command line of bench/records.py: options, the scratch salon, the three parts and
the report."""

from __future__ import annotations

import argparse
import random

import bench.client_records
from bench.client_records import QUICK_CLIENTS, RESULTS
from bench.client_records.fields import measure_fields
from bench.client_records.pages import measure_pages, profile_pages
from bench.client_records.plain_copy import ensure_plain_copy, refresh_statistics
from bench.client_records.search import measure_search
from bench.common import add_run_arguments, report, run_header, say
from bench.salon import (
    ensure_seeded,
    prepare_databases,
    scratch,
    setup_django,
    verify_second_factor,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=bench.client_records.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser, quick=f"{QUICK_CLIENTS:,} clients and fewer of everything",
                      keep="a second run reuses the seeded salon and its plaintext copy")
    parser.add_argument("--clients", type=int, default=100_000,
                        help="clients in the salon (default 100,000)")
    parser.add_argument("--fresh-copy", action="store_true",
                        help="rebuild the plaintext copy even if --keep DIR holds one")
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per page and variant (default 200, --quick 20)")
    parser.add_argument("--queries", type=int, default=None,
                        help="search terms per kind of search (default 50, --quick 10)")
    parser.add_argument("--scan-limit", type=int, default=0,
                        help="decrypt-and-scan at most this many clients and extrapolate "
                             "linearly (default 0: scan all of them)")
    parser.add_argument("--bulk", type=int, default=None,
                        help="field values encrypted and decrypted in bulk (default 10,000, "
                             "--quick 1,000)")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default=None,
                        help="cProfile the pages: when a page misses its target (auto, the "
                             "default), always, or never (the default with --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients = QUICK_CLIENTS
    args.requests = args.requests or (20 if args.quick else 200)
    args.queries = args.queries or (10 if args.quick else 50)
    args.bulk = args.bulk or (1_000 if args.quick else 10_000)
    args.profile = args.profile or ("never" if args.quick else "auto")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with scratch("records", keep=args.keep, postgresql=args.db == "postgresql",
                 quick=args.quick) as place:
        database, vault_database = place.urls
        setup_django(place.var_dir, database=database, vault_database=vault_database)
        from django.db import connections

        engines = {alias: connections[alias].vendor for alias in ("default", "vault")}
        say(f"Salon Vault records benchmark: {args.clients:,} clients, "
            f"SALON_VAULT_VAR={place.var_dir}, databases {engines}")
        clients = prepare(args)
        measure(args)
    import cryptography

    run_header("records benchmark", f"{clients:,} clients, databases {engines['default']}/"
                                    f"{engines['vault']}, cryptography {cryptography.__version__}")
    print("pages: median/p95 of the same requests to both variants, alternating; ratio = "
          "encrypted / plaintext. search and fields: ratio = baseline / ours.")
    if args.quick:
        print("--quick: a smoke test of the bench on a small salon; its figures are no "
              "measurement.")
    print()
    report(RESULTS, markdown=args.markdown,
           headers=("measure", "encrypted / ours", "baseline", "ratio", "target", "result"))


def prepare(args: argparse.Namespace) -> int:
    """Keyring, schema, the seeded salon and its plaintext twin; returns the clients."""
    fresh = prepare_databases()
    clients = ensure_seeded(args.clients, fresh)
    ensure_plain_copy(fresh=args.fresh_copy)
    refresh_statistics()
    return clients


def measure(args: argparse.Namespace) -> None:
    from django.contrib.auth.models import User
    from django.test import Client as HttpClient

    owner = User.objects.get(username="owner")
    http = HttpClient()
    http.force_login(owner)
    verify_second_factor(http, owner)
    rng = random.Random(20240601)
    say(f"measuring pages: {args.requests} requests per page and variant...")
    kinds = measure_pages(http, args.requests, rng)
    missed = [r for r in RESULTS if r.passed is False]
    say(f"measuring search: {args.queries} terms per kind...")
    measure_search(http, owner, rng, args.queries, args.scan_limit)
    say(f"measuring field encryption: {args.bulk:,} values...")
    measure_fields(args.bulk)
    if args.profile == "always" or (args.profile == "auto" and missed):
        profile_pages(http, kinds, min(30, args.requests))
