"""The timed backup: ``lifecycle.backups.create.create()`` in this process, each part's time
taken from its progress calls (one after each table part, one after the files part), each
part's rows and bytes from the manifest it wrote."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import say


@dataclass
class Part:
    name: str  # table, or "files"
    seconds: float
    cpu: float  # of this process: the rest is waiting (for the database server, the disk)
    rows: int = 0
    files: int = 0
    bytes: int = 0


@dataclass
class BackupRun:
    id: str
    wall: float
    cpu: float
    parts: int
    rows: int
    files: int
    bytes: int
    timed: list[Part] = field(default_factory=list)
    manifest: float = 0.0  # after the last part: manifest and signature written


def back_up() -> BackupRun:
    from django.db import connections

    from lifecycle.backups import archive, create, store

    connections.close_all()  # as a fresh process: no connection or transaction held
    plan = [m._meta.db_table for m in create.tables("default")] + \
        [m._meta.db_table for m in create.tables("vault")]
    marks: list[tuple[float, float]] = []
    began, began_cpu = time.perf_counter(), time.process_time()
    made = create.create(progress=lambda done, total: marks.append(
        (time.perf_counter(), time.process_time())))
    wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    if len(marks) != len(plan) + 1:
        raise SystemExit(f"create() reported {len(marks)} parts, {len(plan) + 1} expected")
    with store.storage().open(store.path(made.id, archive.MANIFEST), "rb") as fh:
        manifest = json.loads(fh.read())
    by_name = {p.get("table", "files"): p for p in manifest["parts"]}
    run = BackupRun(made.id, wall, cpu, made.parts, made.rows, made.files, made.bytes,
                    manifest=began + wall - marks[-1][0])
    previous = (began, began_cpu)
    for name, mark in zip([*plan, "files"], marks, strict=True):
        part = by_name[name]
        run.timed.append(Part(name, mark[0] - previous[0], mark[1] - previous[1],
                              part.get("rows", 0), part.get("files", 0), part["bytes"]))
        previous = mark
    # The first part's time holds the snapshots' opening too: small, and said in the doc.
    say(f"backup {made.id}: {made.parts} parts, {made.rows:,} rows, {made.files:,} files, "
        f"{made.bytes / 1e6:,.1f} MB in {wall:.1f}s (CPU {cpu:.1f}s; create() says "
        f"{made.seconds:.1f}s)")
    return run


def remove(backup_id: str) -> None:
    """Delete a backup this bench made (the storage is a folder in the scratch salon)."""
    from django.conf import settings

    folder = Path(settings.BACKUP_DIR) / backup_id
    assert folder.parent == Path(settings.BACKUP_DIR) and backup_id, backup_id
    shutil.rmtree(folder, ignore_errors=True)


def profile_backup(top: int = 16) -> None:
    """One more backup under cProfile: the dearest functions by their own time, any code
    (the ORM, the driver, gzip, json and age included). The backup is removed after."""
    import cProfile
    import pstats

    from lifecycle.backups import create

    profiler = cProfile.Profile()
    profiler.enable()
    made = create.create()
    profiler.disable()
    remove(made.id)
    print_profile(pstats.Stats(profiler), f"one more backup ({made.rows:,} rows, "
                                          f"{made.files:,} files)", top)


def print_profile(stats, title: str, top: int) -> None:
    import re

    from bench.common import ROOT

    print(f"\n--- cProfile of {title}: {stats.total_tt:.2f} s under the profiler ---")
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    print(f"{'own s':>8} {'cum s':>8} {'calls':>10}  function")
    for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in rows:
        where = re.sub(r".*/(site-packages|lib/python3\.\d+)/", "",
                       path.replace(str(ROOT) + "/", ""))
        print(f"{tottime:8.3f} {cumtime:8.3f} {ncalls:10}  {where}:{line}({func})")
