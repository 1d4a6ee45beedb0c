"""The command line of bench/rotation.py: options, the scratch salon, the two measures and
the report."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import bench.key_rotation
from bench.common import add_run_arguments, code_version, report, run_header, say
from bench.key_rotation import NAIVE_BATCH, QUICK_CLIENTS, RESULTS, ROTATIONS
from bench.salon import ensure_seeded, prepare_databases, scratch, setup_django


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=bench.key_rotation.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser, quick=f"{QUICK_CLIENTS:,} clients",
                      keep="a second run reuses the seeded salon")
    parser.add_argument("--clients", type=int, default=100_000,
                        help="clients in the salon (default 100,000)")
    parser.add_argument("--rotations", type=int, default=ROTATIONS,
                        help=f"rotation runs, each over every data key; the median counts "
                             f"(default {ROTATIONS})")
    parser.add_argument("--naive-clients", type=int, default=0,
                        help="re-encrypt the fields of this many clients only and extrapolate "
                             "linearly (default 0: all of them)")
    parser.add_argument("--naive-batch", type=int, default=NAIVE_BATCH,
                        help=f"clients per transaction of the naive pass (default "
                             f"{NAIVE_BATCH:,})")
    parser.add_argument("--naive-executemany", action="store_true",
                        help="PostgreSQL: the naive pass writes with executemany of one-row "
                             "UPDATEs instead of one UPDATE from arrays per table and batch")
    parser.add_argument("--profile", action="store_true",
                        help="after the measures, cProfile one more rotation and print the "
                             "dearest functions (any code, the ORM's included)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="seed the salon, then stop (with --keep DIR)")
    args = parser.parse_args(argv)
    if args.rotations < 1:
        parser.error("--rotations must be at least 1")
    if args.quick:
        args.clients = QUICK_CLIENTS
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    measured_code = code_version()  # what this process imports, not what HEAD is at the end
    with scratch("rotation", keep=args.keep, postgresql=args.db == "postgresql",
                 quick=args.quick) as place:
        database, vault_database = place.urls
        setup_django(place.var_dir, database=database, vault_database=vault_database)
        from django.db import connections

        engine = connections["default"].vendor
        say(f"Salon Vault key-rotation benchmark: {args.clients:,} clients, "
            f"SALON_VAULT_VAR={place.var_dir}, database {engine}")
        fresh = prepare_databases()
        clients = ensure_seeded(args.clients, fresh)
        if args.prepare_only:
            return
        load_before = os.getloadavg()
        measure(args, clients, place.var_dir)
    import cryptography

    run_header("key-rotation benchmark", f"{clients:,} clients, databases {engine}, "
                                         f"cryptography {cryptography.__version__}")
    print("ours: vault.rotation.run() (a new primary KEK, every data key rewrapped); "
          "baseline: every encrypted value of every client opened and sealed again under a "
          "new key and written back, on a copy of `default`.")
    print(f"code: {measured_code}")
    print(f"load average (1 min) when the timings began {load_before[0]:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f}")
    if args.quick:
        print("--quick: a smoke test of the bench on a small salon; its figures are no "
              "measurement.")
    print()
    report(RESULTS, markdown=args.markdown,
           headers=("measure", "rotation (ours)", "naive", "ratio", "target", "result"))


def measure(args: argparse.Namespace, clients: int, var_dir: Path) -> None:
    from bench.key_rotation.naive import reencrypt
    from bench.key_rotation.ours import check_readable, profile_rotation, rotate
    from bench.key_rotation.report import add_results
    from bench.key_rotation.snapshot import default_copy
    from bench.key_rotation.tables import encrypted_tables, stored_values

    say(f"rotating the keys of {clients:,} clients ({args.rotations} runs)...")
    runs = rotate(args.rotations)
    check_readable()
    files_dir = var_dir / "bench-naive-files"
    limit = args.naive_clients if 0 < args.naive_clients < clients else 0
    with default_copy(files_dir):
        from django.db import connections

        expected = stored_values(connections["default"], encrypted_tables())
        naive = reencrypt(limit, args.naive_batch, files_dir, arrays=not args.naive_executemany)
    if not limit and naive.values != expected:
        raise SystemExit(f"the naive pass re-encrypted {naive.values:,} of {expected:,} values")
    say(f"naive pass: {naive.values:,} values of {naive.clients:,} clients in "
        f"{naive.wall:.1f}s (CPU {naive.cpu:.1f}s)")
    add_results(runs, naive, clients)
    if args.profile:
        profile_rotation()
