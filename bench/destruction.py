#!/usr/bin/env python
"""Benchmark of client destruction: a seeded salon's clients destroyed one by one through
the one destruction path (records/destruction.py: data key shredded, files and records
deleted, grants revoked, a signed certificate written), as an owner's approvals of
retention proposals would. See bench/README.md ("Destruction").

    .venv/bin/python bench/destruction.py [--clients 10000] [--quick] [--keep DIR] [--db postgresql]

There is no target in the issue: the figures are for information (time per client, and
what is left: no data key, no row, no file of a destroyed client).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path[:1] = [str(Path(__file__).resolve().parent.parent)]

from bench.common import (  # noqa: E402
    Result,
    add_run_arguments,
    code_version,
    median,
    ms,
    p95,
    report,
    run_header,
    say,
)
from bench.salon import ensure_seeded, prepare_databases, scratch, setup_django  # noqa: E402

QUICK_CLIENTS = 300


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_arguments(parser, quick=f"{QUICK_CLIENTS} clients",
                      keep="a second run seeds again (the first destroyed the salon)")
    parser.add_argument("--clients", type=int, default=10_000,
                        help="clients seeded, then destroyed (default 10,000)")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients = QUICK_CLIENTS
    return args


def destroy_all() -> tuple[list[float], float, int]:
    """Destroy every client; (seconds per client, wall seconds, certificates written)."""
    from records import destruction
    from records.models import Client

    ids = list(Client.objects.order_by("code").values_list("pk", flat=True))
    times = []
    began = time.perf_counter()
    for n, pk in enumerate(ids, 1):
        client = Client.objects.select_related("location").get(pk=pk)
        start = time.perf_counter()
        destruction.destroy_now(client, actor=None, basis="retention", reason="bench")
        times.append(time.perf_counter() - start)
        if n % 2000 == 0:
            say(f"  destroyed {n:,} / {len(ids):,}")
    wall = time.perf_counter() - began
    written = len(list(destruction.certificates_dir().glob("*.json")))
    return times, wall, written


def left_over() -> dict:
    from django.conf import settings

    from records.models import Client, Destruction, Photo, Treatment
    from vault.models import DataKey, ShredRecord

    files = list(Path(settings.VAULT_FILES_ROOT).rglob("*.sv"))
    return {"clients": Client.objects.count(), "treatments": Treatment.objects.count(),
            "photos": Photo.objects.count(), "data keys": DataKey.objects.count(),
            "files": len(files), "ledger": ShredRecord.objects.count(),
            "certified": Destruction.objects.filter(state="certified").count()}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    measured_code = code_version()
    with scratch("destruction", keep=args.keep, postgresql=args.db == "postgresql",
                 quick=args.quick) as place:
        database, vault_database = place.urls
        setup_django(place.var_dir, database=database, vault_database=vault_database)
        from django.db import connections

        engine = connections["default"].vendor
        say(f"Salon Vault destruction benchmark: {args.clients:,} clients, "
            f"SALON_VAULT_VAR={place.var_dir}, database {engine}")
        fresh = prepare_databases()
        clients = ensure_seeded(args.clients, fresh, photos=max(20, args.clients // 10))
        load_before = os.getloadavg()
        say(f"destroying {clients:,} clients one by one...")
        times, wall, written = destroy_all()
        left = left_over()
    run_header("destruction benchmark", f"{clients:,} clients, databases {engine}")
    print(f"code: {measured_code}")
    print(f"load average (1 min) when the timings began {load_before[0]:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f}")
    if args.quick:
        print("--quick: a smoke test of the bench on a small salon; its figures are no "
              "measurement.")
    print()
    report([
        Result(f"destroy {len(times):,} clients one by one, wall time", ms(wall), "—", "—",
               "(information)", None),
        Result("one client, p50 / p95", f"{ms(median(times))} / {ms(p95(times))}", "—", "—",
               "(information)", None),
        Result("clients per second", f"{len(times) / wall:,.1f}", "—", "—", "(information)",
               None),
        Result("certificates written, destructions certified", f"{written:,} / "
               f"{left['certified']:,}", "—", "—", f"{len(times):,} each",
               written == left["certified"] == len(times)),
        Result("left of the destroyed clients: rows, treatments, photos, data keys, files",
               ", ".join(str(left[k]) for k in ("clients", "treatments", "photos",
                                                 "data keys", "files")),
               "—", "—", "all 0",
               not any(left[k] for k in ("clients", "treatments", "photos", "data keys",
                                         "files"))),
        Result("shred ledger entries", f"{left['ledger']:,}", "—", "—", f"{len(times):,}",
               left["ledger"] == len(times)),
    ], markdown=args.markdown)


if __name__ == "__main__":
    main()
