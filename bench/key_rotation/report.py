"""The report's rows: the rotation against its targets, the naive pass, and where the time
of each goes."""

from __future__ import annotations

from bench.common import Result, ms
from bench.key_rotation import RESULTS, TARGET_RATIO, TARGET_SECONDS
from bench.key_rotation.naive import PHASES, NaiveRun
from bench.key_rotation.ours import RotationRun, median_run

INFO = "(information)"


def add_results(runs: list[RotationRun], naive: NaiveRun, clients: int) -> None:
    """Rows for `runs` of ours against the naive pass over `naive.clients` of `clients`."""
    ours = median_run(runs)
    scale = clients / naive.clients
    naive_wall = naive.wall * scale
    sample = "" if naive.clients == clients else (
        f" (measured on {naive.clients:,} of {clients:,} clients, extrapolated linearly)")
    of = f"median of {len(runs)}" if len(runs) > 1 else "one run"
    ratio = naive_wall / ours.wall
    RESULTS.extend([
        Result(f"rotation of {ours.rewrapped:,} data keys, vault.rotation.run(), wall time, "
               f"{of}", ms(ours.wall), "—", "—", f"< {TARGET_SECONDS:.0f} s",
               ours.wall < TARGET_SECONDS),
        Result(f"rotation against re-encrypting every field (naive), wall time{sample}",
               ms(ours.wall), f"{ms(naive_wall)} naive", f"{ratio:,.1f}× faster",
               f"≥ {TARGET_RATIO:.0f}× faster", ratio >= TARGET_RATIO),
        *([Result(f"rotation, slowest and fastest of {len(runs)}",
                  f"{ms(max(r.wall for r in runs))} / {ms(min(r.wall for r in runs))}", "—",
                  "—", INFO, None)] if len(runs) > 1 else []),
        Result("data keys rewrapped per rotation (one per client)", f"{ours.rewrapped:,}", "—",
               "—", INFO, None),
        Result("throughput", f"{ours.rewrapped / ours.wall:,.0f} keys/s",
               f"{naive.clients / naive.wall:,.0f} clients/s, "
               f"{naive.values / naive.wall:,.0f} values/s", "—", INFO, None),
        Result("work", f"{ours.rewrapped:,} keys rewritten",
               _work(naive, scale), "—", INFO, None),
        Result("CPU time of the bench process (the PostgreSQL server's not included)",
               ms(ours.cpu), ms(naive.cpu * scale), "—", INFO, None),
        Result("where the time goes", _ours_split(ours), _naive_split(naive, scale), "—", INFO,
               None),
    ])


def _work(naive: NaiveRun, scale: float) -> str:
    text = (f"{naive.values * scale:,.0f} values ({naive.files * scale:,.0f} files) in "
            f"{naive.rows * scale:,.0f} rows rewritten ({naive.writes})")
    return text if scale == 1 else "about " + text


def _ours_split(run: RotationRun) -> str:
    dearest = sorted(run.by_kind.items(), key=lambda item: item[1], reverse=True)[:2]
    kinds = ", ".join(f"{kind} {ms(seconds)}" for kind, seconds in dearest)
    return (f"SQL {ms(run.sql)} in {run.statements} statements ({kinds}); the rest "
            f"{ms(run.wall - run.sql)}: Python (rows fetched, unwrap and wrap), "
            "commits, the keyring")


def _naive_split(run: NaiveRun, scale: float) -> str:
    names = {"read": "reading rows", "keys": "keys (old unwrapped, new made)", "crypto": "open + seal",
             "files": "files", "write": "writing rows + commits"}
    return ", ".join(f"{names[p]} {ms(run.phases[p] * scale)}" for p in PHASES)
