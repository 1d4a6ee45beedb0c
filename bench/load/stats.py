"""locust's figures (its --csv files) as the rows of a bench report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bench.common import Result, median, p95

TARGET_P95_MS = 100


def read_stats(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def work_times(prefix: Path) -> list[float]:
    """Response times (ms) of every request after sign-in (the locustfile writes them)."""
    return json.loads(Path(f"{prefix}_work.json").read_text())


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


def rows(stats: list[dict], work: list[float], sessions: int) -> list[Result]:
    """One row per kind of click; the staff's work after sign-in against the goals (p95
    under 100 ms, no error); all requests and the throughput for information."""
    results = [Result(f"{row['Name']}: p50 / p95 of {int(row['Request Count']):,}",
                      f"{_ms(row, '50%')} / {_ms(row, '95%')}",
                      f"{int(row['Failure Count'])} errors",
                      f"{float(row['Requests/s']):.1f} req/s", "(information)", None)
               for row in stats if row["Name"] != "Aggregated"]
    total = next(row for row in stats if row["Name"] == "Aggregated")
    errors = int(total["Failure Count"])
    worst = p95(work) if work else float("inf")
    results += [
        Result(f"work after sign-in, {sessions} sessions: p50 / p95 of {len(work):,}",
               f"{median(work) if work else 0:.0f} ms / {worst:.0f} ms", "—", "—",
               f"p95 < {TARGET_P95_MS} ms", worst < TARGET_P95_MS),
        Result(f"all requests, sign-in included: p50 / p95 of {int(total['Request Count']):,}",
               f"{_ms(total, '50%')} / {_ms(total, '95%')}", "—", "—", "(information)", None),
        Result("errors (failed requests, connection resets included)", str(errors), "—", "—",
               "0", errors == 0),
        Result("throughput", f"{float(total['Requests/s']):.1f} req/s", "—", "—",
               "(information)", None),
    ]
    return results
