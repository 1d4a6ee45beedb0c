"""Ours: ``vault.rotation.run()`` on the wall clock, --rotations times, each over every data
key; then a sample of records read through the door, to show they still open."""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass

from bench.common import ROOT, say


@dataclass
class RotationRun:
    wall: float
    cpu: float  # this process; the database server's (PostgreSQL) is not in it
    sql: float  # in SQL statements on `vault` (commits not included)
    statements: int
    by_kind: dict[str, float]  # SQL time by statement kind ("SELECT", "UPDATE ×many")
    rewrapped: int
    target: int


class SqlTimer:
    """A Django execute wrapper adding up the time of each statement (and executemany), by
    kind of statement."""

    def __init__(self) -> None:
        self.seconds, self.calls = 0.0, 0
        self.by_kind: dict[str, float] = {}

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - began
            kind = sql.split(None, 1)[0].upper() + (" ×many" if many else "")
            self.by_kind[kind] = self.by_kind.get(kind, 0.0) + elapsed
            self.seconds += elapsed
            self.calls += 1


def settle() -> None:
    """The keyring and key table as a salon that last rotated long ago has them: retired
    KEK versions that no data key uses destroyed (as ``vault.rotation.retire`` does once the
    backup horizon has passed; else each run here would add one to the versions a batch
    query names), and the key table vacuumed (PostgreSQL; each run leaves a dead row per
    key) or its WAL checkpointed (SQLite)."""
    import datetime as dt

    from django.db import connections

    from vault import rotation
    from vault.models import DataKey

    rotation.retire(now=dt.datetime.now(dt.UTC) + rotation.horizon() + dt.timedelta(days=1))
    connection = connections["vault"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(DataKey._meta.db_table)}")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def rotate(rounds: int) -> list[RotationRun]:
    from django.db import connections

    from vault import rotation
    from vault.models import DataKey

    total = DataKey.objects.count()
    runs = []
    for number in range(1, rounds + 1):
        settle()
        timer = SqlTimer()
        with connections["vault"].execute_wrapper(timer):
            began, began_cpu = time.perf_counter(), time.process_time()
            result = rotation.run()
            wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        if result.rewrapped != total or result.by_version != {result.target: total}:
            raise SystemExit(f"rotation {number} rewrapped {result.rewrapped} of {total} data "
                             f"keys; by KEK version now {result.by_version}")
        runs.append(RotationRun(wall, cpu, timer.seconds, timer.calls, timer.by_kind,
                                result.rewrapped, result.target))
        say(f"rotation {number}/{rounds}: {total:,} data keys rewrapped under KEK version "
            f"{result.target} in {wall:.2f}s (CPU {cpu:.2f}s, SQL {timer.seconds:.2f}s in "
            f"{timer.calls} statements)")
    return runs


def median_run(runs: list[RotationRun]) -> RotationRun:
    middle = statistics.median_low([r.wall for r in runs])
    return next(r for r in runs if r.wall == middle)


def check_readable(sample: int = 10) -> int:
    """Read every encrypted field of the first and last `sample` clients (by code) and
    their treatments as a system job: after the rotations each must still open."""
    from access import door
    from records.models import Client, Treatment
    from vault.classes import DataClass
    from vault.fields import EncryptedField
    from vault.scope import Sealed

    ids = [*Client.objects.order_by("code").values_list("pk", flat=True)[:sample],
           *Client.objects.order_by("-code").values_list("pk", flat=True)[:sample]]
    opened = 0
    with door.open_for_system(actor="bench", purpose="benchmark: records open after rotation",
                              subjects=ids, ceiling=DataClass.L4):
        for model, rows in ((Client, Client.objects.filter(pk__in=ids)),
                            (Treatment, Treatment.objects.filter(client_id__in=ids))):
            fields = [f.name for f in model._meta.concrete_fields
                      if isinstance(f, EncryptedField)]
            for row in rows:
                for name in fields:
                    value = getattr(row, name)  # raises if the ciphertext does not open
                    if isinstance(value, Sealed):  # Damaged is one too
                        raise SystemExit(f"{model.__name__}.{name} of {row.pk} did not open")
                    opened += value is not None
    say(f"after the rotations the records open: {opened} values of {len(ids)} clients read")
    return opened


def profile_rotation(top: int = 14) -> None:
    """One more rotation under cProfile: the dearest functions by their own time, any code
    (the ORM's and the driver's included), to show where a rotation's time goes."""
    import cProfile
    import pstats

    from vault import rotation

    settle()
    profiler = cProfile.Profile()
    profiler.enable()
    result = rotation.run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"\n--- cProfile of one more rotation ({result.rewrapped:,} data keys): "
          f"{stats.total_tt:.2f} s under the profiler ---")
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    print(f"{'own s':>7} {'cum s':>7} {'calls':>9}  function")
    for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in rows:
        where = re.sub(r".*/(site-packages|lib/python3\.\d+)/", "", path.replace(
            str(ROOT) + "/", ""))
        print(f"{tottime:7.3f} {cumtime:7.3f} {ncalls:9}  {where}:{line}({func})")
