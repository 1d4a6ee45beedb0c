#!/usr/bin/env python
"""Benchmark of client destruction: a seeded salon's clients destroyed one by one through
the one destruction path (records/destruction.py: data key shredded, files and records
deleted, grants revoked, a signed certificate written), as an owner's approvals of
retention proposals would. See bench/README.md ("Destruction").

    .venv/bin/python bench/destruction.py [--clients 10000] [--quick] [--keep DIR] [--db postgresql]

There is no target in the issue. The baseline, in the same process, is what a generic
application does: a plain cascading delete of the first clients (one in ten, at most
1,000), which leaves their data keys and files behind, so every backup still reads them.
The rest go through the destruction path; the figures are time per client for each, and
what is left of each.
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


def destroy_all() -> dict:
    """Delete the first clients plainly (the baseline), destroy the rest; times and what is
    left of each group."""
    from records import destruction
    from records.models import Client

    ids = list(Client.objects.order_by("code").values_list("pk", flat=True))
    plain_ids, destroyed_ids = ids[:min(1000, len(ids) // 10)], ids[min(1000, len(ids) // 10):]
    plain_files, destroyed_files = file_paths(plain_ids), file_paths(destroyed_ids)
    plain = []
    for pk in plain_ids:
        client = Client.objects.select_related("location").get(pk=pk)
        start = time.perf_counter()
        client.delete()
        plain.append(time.perf_counter() - start)
    say(f"  baseline: {len(plain):,} clients deleted plainly")
    times = []
    began = time.perf_counter()
    for n, pk in enumerate(destroyed_ids, 1):
        client = Client.objects.select_related("location").get(pk=pk)
        start = time.perf_counter()
        destruction.destroy_now(client, actor=None, basis="retention", reason="bench")
        times.append(time.perf_counter() - start)
        if n % 2000 == 0:
            say(f"  destroyed {n:,} / {len(destroyed_ids):,}")
    wall = time.perf_counter() - began
    written = len(list(destruction.certificates_dir().glob("*.json")))
    return {"plain": plain, "times": times, "wall": wall, "written": written,
            "plain_left": left_over(plain_ids, plain_files),
            "left": left_over(destroyed_ids, destroyed_files)}


def file_paths(ids: list) -> list[Path]:
    """The encrypted files of these clients (photos, thumbnails), as stored."""
    from records.models import Photo
    from vault.fields import _files_root

    names = [n for row in Photo.objects.filter(client_id__in=ids)
             .values_list("image", "thumbnail") for n in row if n]
    return [_files_root() / name[:2] / name for name in names]


def left_over(ids: list, files: list[Path]) -> dict:
    from records.models import Client, Destruction, Photo, Treatment
    from vault.models import DataKey, ShredRecord

    return {"files": sum(1 for path in files if path.exists()),
            "clients": Client.objects.filter(pk__in=ids).count(),
            "treatments": Treatment.objects.filter(client_id__in=ids).count(),
            "photos": Photo.objects.filter(client_id__in=ids).count(),
            "data keys": DataKey.objects.filter(subject_id__in=ids).count(),
            "ledger": ShredRecord.objects.filter(subject_id__in=ids).count(),
            "certified": Destruction.objects.filter(client_id__in=ids,
                                                    state="certified").count()}


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
        got = destroy_all()
    run_header("destruction benchmark", f"{clients:,} clients, databases {engine}")
    print(f"code: {measured_code}")
    print(f"load average (1 min) when the timings began {load_before[0]:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f}")
    if args.quick:
        print("--quick: a smoke test of the bench on a small salon; its figures are no "
              "measurement.")
    print()
    times, wall, written, left = got["times"], got["wall"], got["written"], got["left"]
    plain, plain_left = got["plain"], got["plain_left"]
    kept = ("clients", "treatments", "photos", "data keys", "files")
    report([
        Result(f"destroy {len(times):,} clients one by one, wall time", ms(wall), "—", "—",
               "(information)", None),
        Result(f"one client, p50 (baseline: plain delete of {len(plain):,})",
               ms(median(times)), ms(median(plain)),
               f"{median(times) / median(plain):.1f}× the time", "(information)", None),
        Result("one client, p95", ms(p95(times)), ms(p95(plain)), "—", "(information)",
               None),
        Result("clients per second", f"{len(times) / wall:,.1f}", "—", "—", "(information)",
               None),
        Result("certificates written, destructions certified", f"{written:,} / "
               f"{left['certified']:,}", "—", "—", f"{len(times):,} each",
               written == left["certified"] == len(times)),
        Result("left of the destroyed clients: rows, treatments, photos, data keys, files",
               ", ".join(str(left[k]) for k in kept),
               ", ".join(str(plain_left[k]) for k in kept), "—", "all 0",
               not any(left[k] for k in kept)),
        Result("shred ledger entries", f"{left['ledger']:,}", "—", "—", f"{len(times):,}",
               left["ledger"] == len(times)),
    ], markdown=args.markdown)


if __name__ == "__main__":
    main()
