"""c) audit_verify throughput: the whole chain with one worker and with one per core,
against the previous loop, its profile, and a nightly (incremental) run."""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import hashlib
import itertools
import json
import pstats
import sys
import time

from bench.audit_log import (
    RESULTS,
    TARGET_VERIFY,
)
from bench.common import ROOT, Result, say
from bench.salon import ensure_staff, request_facts


def previous_rows(after: int):
    """integrity._rows as it was (the baseline): the ORM's values_list, a dict per row."""
    from audit import chain
    from audit.models import AccessEvent

    names = (*chain.FIELDS, "hash")
    last = after
    while True:
        batch = list(AccessEvent.objects.filter(seq__gt=last).order_by("seq")
                     .values_list(*names)[:20_000])
        if not batch:
            return
        for values in batch:
            yield dict(zip(names, values, strict=True))
        last = batch[-1][0]


def previous_verify(rows, *, start_seq: int, start_hash: str):
    """chain.verify_rows as it was (the baseline): json.dumps per event."""
    from audit import chain

    expected_seq, expected_prev, checked = start_seq + 1, start_hash, 0
    for row in rows:
        values = [row[name] for name in chain.FIELDS]
        values[1] = values[1].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        values[6] = str(values[6]) if values[6] is not None else None
        text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=str).encode()
        if (row["seq"] != expected_seq or row["prev_hash"] != expected_prev
                or hashlib.sha256(text).hexdigest() != row["hash"]):
            return chain.Verdict(False, checked, row["seq"], f"#{row['seq']} does not verify")
        expected_seq, expected_prev, checked = row["seq"] + 1, row["hash"], checked + 1
    return chain.Verdict(True, checked, None, f"{checked} events verified")


def _rate_row(what: str, checked: int, seconds: float, baseline: str = "—",
              ratio: str = "—", target: bool = True) -> Result:
    rate = checked / seconds
    return Result(what, f"{rate:,.0f} events/s", baseline, ratio or f"{seconds:.1f} s",
                  f"≥ {TARGET_VERIFY:,}/s" if target else "(information)",
                  rate >= TARGET_VERIFY if target else None)


def measure_verify(args: argparse.Namespace) -> None:
    from audit.models import ChainHead, Checkpoint

    head = ChainHead.objects.get(pk=1).seq
    if Checkpoint.objects.exists():
        raise SystemExit("the bench chain has a checkpoint; the bench expects none")
    n = min(head, args.verify_events) if args.verify_events > 0 else head
    say(f"c) audit_verify over {head:,} events; the previous loop over the first {n:,}...")
    old_rate = previous_rate(n)
    RESULTS.append(same_rows_check())
    print_verifier_profile(min(head, 20_000))
    full_runs(head, args.verify_workers, old_rate)
    RESULTS.append(incremental_run(args.incremental_events))


def previous_rate(n: int) -> float:
    """Events per second of the previous loop over the first n events (the baseline)."""
    from audit import chain

    gc.collect()
    began = time.perf_counter()
    verdict = previous_verify(itertools.islice(previous_rows(0), n), start_seq=0,
                              start_hash=chain.GENESIS)
    seconds = time.perf_counter() - began
    if not verdict.ok or verdict.checked != n:
        raise SystemExit(f"the chain does not verify: {verdict}")
    say(f"  previous loop: {n / seconds:,.0f} events/s ({seconds:.1f}s)")
    return n / seconds


def same_rows_check() -> Result:
    """The same canonical bytes: the product's reader + formatter against the previous one,
    and an altered event is caught."""
    from audit import chain, integrity

    sample = list(itertools.islice(previous_rows(0), 20_000))
    stored = list(itertools.islice(integrity._rows(0), 20_000))
    same = sum(chain.stored(o) + (o["hash"],) == r for o, r in zip(sample, stored, strict=True))
    tampered = list(stored[:100])
    tampered[50] = (*tampered[50][:11], tampered[50][11] + "x", *tampered[50][12:])
    caught = chain.verify_stored(iter(tampered), start_seq=0, start_hash=chain.GENESIS)
    if same != len(sample) or caught.ok or caught.first_bad_seq != tampered[50][0]:
        raise SystemExit(f"the verifier reads other values: {same} of {len(sample)} rows "
                         f"identical, tampering verdict {caught}")
    return Result("verifier: stored rows identical to the ORM's, an altered event caught",
                  f"{same:,} identical", "—", "—", "(check)", True)


def print_verifier_profile(profiled: int) -> None:
    from audit import chain, integrity

    profiler = cProfile.Profile()
    profiler.enable()
    chain.verify_stored(itertools.islice(integrity._rows(0), profiled), start_seq=0,
                        start_hash=chain.GENESIS)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"\n--- cProfile of the verifier's loop over {profiled:,} events "
          f"({total / profiled * 1e6:.0f} µs per event under the profiler) ---")
    rows = []
    for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
        short = path.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")
        rows.append((cumtime, tottime, ncalls, f"{short}:{line}({func})"))
    print(f"{'cum %':>6} {'own %':>6} {'calls/event':>11}  function")
    for cumtime, tottime, ncalls, where in sorted(rows, reverse=True)[:14]:
        print(f"{cumtime / total * 100:6.1f} {tottime / total * 100:6.1f} "
              f"{ncalls / profiled:11.1f}  {where}")
    print()


def full_runs(head: int, default_workers: int, old_rate: float) -> None:
    """audit_verify --full as it runs (one worker per core by default; the target) and with
    one worker alone (information)."""
    from audit import integrity

    ratio = f"{{:.1f}}× the previous ({old_rate:,.0f}/s)"
    for workers in sorted({1, default_workers}):
        gc.collect()
        began = time.perf_counter()
        run = integrity.verify_and_record(full=True, workers=workers)
        seconds = time.perf_counter() - began
        if not run.ok or run.checked != head:
            raise SystemExit(f"audit_verify --full does not verify the chain: {run.message}")
        default = workers == default_workers
        label = (f"audit_verify --full (default: one worker per core, here {workers})"
                 if default else f"audit_verify --full --workers {workers}")
        RESULTS.append(_rate_row(
            f"{label}: all {head:,} events", head, seconds,
            f"{seconds:.1f} s", ratio.format(head / seconds / old_rate), target=default))
        say(f"  --full, {workers} worker(s): {head / seconds:,.0f} events/s ({seconds:.1f}s)")


def incremental_run(new: int) -> Result:
    """The nightly run: from the last signed link, after a day's worth of new events."""
    from audit import integrity, services
    from audit.models import VerificationRun

    stylist = ensure_staff()["stylist"]
    with request_facts():
        for i in range(new):
            services.record(actor=stylist, actor_label="stylist", role="stylist",
                            action="client.open", outcome="allowed", data_class=4,
                            client_code=f"BJ-{100_001 + i % 1000:06d}",
                            purpose="view client record", detail={"granted": True})
    began = time.perf_counter()
    run = integrity.verify_and_record(full=False, workers=1)
    seconds = time.perf_counter() - began
    if not run.ok or run.full or run.checked != new:
        raise SystemExit(f"the incremental run did not verify {new} events: {run.message}")
    return Result(f"audit_verify (nightly, incremental) after {new:,} new events",
                  f"{seconds * 1e3:,.0f} ms", f"from #{run.start_seq:,}",
                  f"{VerificationRun.objects.count()} runs recorded", "(information)", None)
