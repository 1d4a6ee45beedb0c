"""Helpers shared by the benchmarks in bench/ (records, access, audit, load): the shared
command-line options, statistics, timing, profiles and the report table. The scratch salon
they measure is set up by bench/salon.py.

Importing this module touches neither Django nor the project.
A bench run as ``python bench/NAME.py`` must first put the project root, not bench/, at
the head of sys.path (see bench/audit.py): bench/audit.py, bench/access.py and
bench/records.py would otherwise shadow the ``audit``, ``access`` and ``records`` apps.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# -- output ----------------------------------------------------------------------------
BEGAN = time.monotonic()


def say(message: str = "") -> None:
    print(f"[{time.monotonic() - BEGAN:6.0f}s] {message}" if message else "", flush=True)


@dataclass
class Result:
    measure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None  # None: information only, no target


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs"


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank


HEADERS = ("measure", "ours", "baseline", "ratio", "target", "result")


def verdict(result: Result) -> str:
    return "—" if result.passed is None else ("PASS" if result.passed else "FAIL")


def print_table(results: list[Result], headers=HEADERS) -> None:
    rows = [(r.measure, r.ours, r.baseline, r.ratio, r.target, verdict(r)) for r in results]
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def print_markdown(results: list[Result], headers=HEADERS) -> None:
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for r in results:
        result = {"PASS": "pass", "FAIL": "**FAIL**"}.get(verdict(r), "—")
        print(f"| {r.measure} | {r.ours} | {r.baseline} | {r.ratio} | {r.target} | {result} |")


def report(results: list[Result], *, markdown: bool, headers=HEADERS) -> None:
    """The table, as Markdown too when asked, and whether every target was met."""
    print_table(results, headers)
    if markdown:
        print()
        print_markdown(results, headers)
    failed = [r for r in results if r.passed is False]
    print()
    print(f"{len(results) - len(failed)} of {len(results)} rows meet or have no target; "
          f"{len(failed)} missed." if failed else "All targets met.")
    say("done")


def code_version(paths=("access", "audit", "records", "vault")) -> str:
    """The commit measured, and whether the measured apps had uncommitted changes."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,  # noqa: S603, S607
                                  timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--", *paths)
    return f"commit {head}" + (" + uncommitted changes in " + ", ".join(
        sorted({line[3:] for line in dirty.splitlines() if line.strip()})) if dirty.strip()
        else "")


def timed_get(http, url: str, cpu: list[float] | None = None) -> float:
    """Wall time of one GET; its CPU time (this thread, SQLite included) goes to `cpu`."""
    began, began_cpu = time.perf_counter(), time.thread_time()
    response = http.get(url)
    elapsed = time.perf_counter() - began
    if cpu is not None:
        cpu.append(time.thread_time() - began_cpu)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return elapsed


def print_profile(profiler: cProfile.Profile, title: str, requests: int, top: int) -> None:
    """The project's own functions in a profile of `requests` requests, dearest first."""
    stats = pstats.Stats(profiler)
    print(f"\n--- cProfile, {title}: {requests} requests, "
          f"{stats.total_tt / requests * 1e3:.1f} ms per request under the profiler ---")
    rows = []
    for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
        if path.startswith(str(ROOT)) and "/.venv/" not in path:
            short = path.replace(str(ROOT) + "/", "")
            rows.append((cumtime, tottime, ncalls, f"{short}:{line}({func})"))
    rows.sort(reverse=True)
    print(f"{'cum ms/req':>10} {'own ms/req':>10} {'calls/req':>9}  function (project code)")
    for cumtime, tottime, ncalls, where in rows[:top]:
        print(f"{cumtime / requests * 1e3:10.2f} {tottime / requests * 1e3:10.2f} "
              f"{ncalls / requests:9.1f}  {where}")


def add_run_arguments(parser: argparse.ArgumentParser, *, quick: str, keep: str,
                      db: bool = True) -> None:
    """The options every bench shares: --quick, --keep DIR, --db and --markdown."""
    parser.add_argument("--quick", action="store_true", help=f"a fast check: {quick}")
    parser.add_argument("--keep", metavar="DIR", type=Path,
                        help=f"use DIR as SALON_VAULT_VAR and keep it (and the PostgreSQL "
                             f"databases): {keep} (default: a temp dir, removed at the end)")
    if db:
        parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                            help="SQLite in the scratch directory (default) or scratch "
                                 "PostgreSQL databases sv_bench_* on the BENCH_PG server")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")


def run_header(title: str, facts: str) -> None:
    """The first lines of a report: what was measured, where and on what."""
    import django

    print()
    print(f"Salon Vault {title} — {time.strftime('%Y-%m-%d')}, {facts}, {os.cpu_count()} "
          f"cores, Python {sys.version.split()[0]}, Django {django.get_version()}")

