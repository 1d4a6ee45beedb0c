"""locust's figures (its --csv files) as the rows of a bench report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bench.common import Result, median, p95

TARGET_P95_MS = 100
TARGET_SATURATION = 100  # req/s on 2 cores, with no think time
SETTLE_SECONDS = 10  # after the last session starts, for its sign-in to be over


def read_stats(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def work_times(prefix: Path) -> list[float]:
    """Response times (ms) of every request after sign-in (the locustfile writes them)."""
    return json.loads(Path(f"{prefix}_work.json").read_text())


def steady_rate(prefix: Path, sessions: int) -> float | None:
    """Requests per second once every session has started and signed in (locust's
    per-second history): the rate the server keeps up, without the slow sign-ins of
    the ramp. None when the run was too short to settle."""
    with open(f"{prefix}_stats_history.csv", newline="") as fh:
        rows = [row for row in csv.DictReader(fh) if row["Name"] == "Aggregated"]
    full = [row for row in rows if int(row["User Count"]) >= sessions]
    if not full:
        return None
    start = int(full[0]["Timestamp"]) + SETTLE_SECONDS
    settled = [row for row in full if int(row["Timestamp"]) >= start]
    if len(settled) < 2:
        return None
    first, last = settled[0], settled[-1]
    seconds = int(last["Timestamp"]) - int(first["Timestamp"])
    done = int(last["Total Request Count"]) - int(first["Total Request Count"])
    return done / seconds if seconds else None


def failures(prefix: Path) -> list[str]:
    """What failed, and how often (locust's _failures.csv)."""
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [f"{row['Occurrences']}× {row['Method']} {row['Name']}: {row['Error']}"
                for row in csv.DictReader(fh)]


def _ms(row: dict, column: str) -> str:
    return f"{float(row[column]):.0f} ms" if row[column] not in ("", "N/A") else "—"


def rows(stats: list[dict], work: list[float], sessions: int, *, steady: float | None = None,
         saturating: bool = False) -> list[Result]:
    """One row per kind of click; the staff's work after sign-in against the goals (p95
    under 100 ms, no error); all requests and the throughput for information; the steady
    rate, against the saturation goal when there is no think time (`saturating`)."""
    results = [Result(f"{row['Name']}: p50 / p95 of {int(row['Request Count']):,}",
                      f"{_ms(row, '50%')} / {_ms(row, '95%')}",
                      f"{int(row['Failure Count'])} errors",
                      f"{float(row['Requests/s']):.1f} req/s", "(information)", None)
               for row in stats if row["Name"] != "Aggregated"]
    total = next(row for row in stats if row["Name"] == "Aggregated")
    errors = int(total["Failure Count"])
    worst = p95(work) if work else float("inf")
    results += [
        # With no think time every request queues behind the others: the latency goal is
        # for staff at work, and a saturation run reports it for information.
        Result(f"work after sign-in, {sessions} sessions: p50 / p95 of {len(work):,}",
               f"{median(work) if work else 0:.0f} ms / {worst:.0f} ms", "—", "—",
               "(information)" if saturating else f"p95 < {TARGET_P95_MS} ms",
               None if saturating else worst < TARGET_P95_MS),
        Result(f"all requests, sign-in included: p50 / p95 of {int(total['Request Count']):,}",
               f"{_ms(total, '50%')} / {_ms(total, '95%')}", "—", "—", "(information)", None),
        Result("errors (failed requests, connection resets included)", str(errors), "—", "—",
               "0", errors == 0),
        Result("throughput, whole run (sign-ins included)",
               f"{float(total['Requests/s']):.1f} req/s", "—", "—", "(information)", None),
    ]
    if steady is not None:
        results.append(Result(
            "throughput once every session is signed in", f"{steady:.1f} req/s", "—", "—",
            f"≥ {TARGET_SATURATION} req/s" if saturating else "(information)",
            steady >= TARGET_SATURATION if saturating else None))
    return results
