"""The report's rows: the backup and the restore against their targets, backup_verify, what
the backup holds, and where the time of each goes."""

from __future__ import annotations

import statistics

from bench.backup_restore import BACKUP_TARGET, RESTORE_TARGET, RESULTS
from bench.backup_restore.make import BackupRun
from bench.backup_restore.restoring import Command, Phases, RestoreRun
from bench.common import Result, ms

INFO = "(information)"


def add_results(backups: list[BackupRun], verified: Command, restores: list[RestoreRun],
                phases: Phases | None, *, postgresql: bool) -> None:
    backup, restored = median_run(backups), median_run(restores)
    mb = backup.bytes / 1e6
    server = "; the PostgreSQL server's not included" if postgresql else ""
    rest = restored.wall - restored.reported
    RESULTS.extend([
        Result(f"backup, lifecycle.backups.create.create() in-process, wall time, {_of(backups)}",
               ms(backup.wall), f"CPU {ms(backup.cpu)} (the bench process{server})",
               f"{backup.rows / backup.wall:,.0f} rows/s, {mb / backup.wall:,.1f} MB/s",
               f"< {BACKUP_TARGET:.0f} s", backup.wall < BACKUP_TARGET),
        Result("restore, manage.py backup_restore ID --database-url ... into empty "
               f"databases, wall time, {_of(restores)}", ms(restored.wall),
               f"restore() {restored.reported:.1f} s by its own report line (verify, migrate, "
               f"rows, files, ledger); the rest {ms(rest)}: two processes start Django, "
               "the shred ledger is handed over",
               f"{restored.rows / restored.wall:,.0f} rows/s", f"< {RESTORE_TARGET:.0f} s",
               restored.wall < RESTORE_TARGET),
        *_spread("backup", backups), *_spread("restore", restores),
        Result("backup_verify ID (signature, every part's size and SHA-256), wall time",
               ms(verified.wall), f"{backup.parts} parts, {mb:,.1f} MB read",
               f"{mb / verified.wall:,.0f} MB/s", INFO, None),
        Result("backup: parts, rows, files, size", f"{backup.parts} parts",
               f"{backup.rows:,} rows, {backup.files:,} files, {mb:,.1f} MB",
               "—", INFO, None),
        Result("restore: what the command restored", f"{restored.tables} tables",
               f"{restored.rows:,} rows, {restored.files:,} files", "—",
               "= the backup's", all(r.rows == backup.rows and r.files == backup.files
                                     for r in restores)),
        Result("backup: where the time goes (each part: rows read, JSON, gzip, age, "
               "stored; CPU of the bench process in brackets)", ms(backup.wall),
               _backup_split(backup), "—", INFO, None),
    ])
    if phases is not None:
        RESULTS.extend(_phase_rows(phases))


def median_run(runs: list):
    middle = statistics.median_low([r.wall for r in runs])
    return next(r for r in runs if r.wall == middle)


def _of(runs: list) -> str:
    return f"median of {len(runs)}" if len(runs) > 1 else "one run"


def _spread(what: str, runs: list) -> list[Result]:
    if len(runs) < 2:
        return []
    return [Result(f"{what}, slowest and fastest of {len(runs)}",
                   f"{ms(max(r.wall for r in runs))} / {ms(min(r.wall for r in runs))}", "—",
                   "—", INFO, None)]


def _backup_split(run: BackupRun) -> str:
    tables = sorted((p for p in run.timed if p.name != "files"), key=lambda p: p.seconds,
                    reverse=True)
    shown = [f"{p.name} {ms(p.seconds)} [{ms(p.cpu)}] ({p.rows:,} rows, "
             f"{p.bytes / 1e6:,.1f} MB)" for p in tables[:4]]
    others = tables[4:]
    files = next(p for p in run.timed if p.name == "files")
    return "; ".join([
        *shown, f"{len(others)} other tables {ms(sum(p.seconds for p in others))} "
                f"[{ms(sum(p.cpu for p in others))}]",
        f"files part {ms(files.seconds)} [{ms(files.cpu)}] ({files.files:,} files, "
        f"{files.bytes / 1e6:,.1f} MB)",
        f"manifest and signature {ms(run.manifest)}"])


def _phase_rows(run: Phases) -> list[Result]:
    s, sql = run.seconds, run.sql
    steps = ("verify", "checks", "migrate", "rows", "files", "shred ledger", "audit event")
    split = ", ".join(f"{name} {ms(s.get(name, 0.0))}" for name in steps)
    tables = {k.removeprefix("table "): v for k, v in s.items() if k.startswith("table ")}
    table_sql = sum(v for k, v in sql.items() if k.startswith("table "))
    decrypt = s.get("decrypt (age), rows", 0.0)
    other_sql = sql.get("rows", 0.0)
    commit = s.get("commit, rows", 0.0)
    python = s.get("rows", 0.0) - table_sql - decrypt - other_sql - commit
    dearest = sorted(tables.items(), key=lambda item: item[1], reverse=True)[:3]
    profiled = " (under cProfile: slower)" if run.profile else ""
    return [
        Result(f"restore once more, restore() with its steps timed{profiled}",
               ms(run.restore), f"{split}; the child's Django start {ms(run.startup)}",
               "—", INFO, None),
        Result("restore: where the rows' time goes", ms(s.get("rows", 0.0)),
               f"INSERTs (executemany, 2,000 rows each) {ms(table_sql)}, age decryption "
               f"{ms(decrypt)}, Python (gunzip, JSON, values prepared) {ms(python)}, "
               f"commits (deferred foreign keys checked) {ms(commit)}, clearing, triggers "
               f"and sequences {ms(other_sql)}; dearest tables: "
               + ", ".join(f"{name} {ms(v)}" for name, v in dearest),
               f"{run.rows / max(s.get('rows', 0.0), 1e-9):,.0f} rows/s", INFO, None),
        Result("restore: migrate into the empty databases", ms(s.get("migrate", 0.0)),
               f"SQL {ms(sql.get('migrate', 0.0))}, commits {ms(s.get('commit, migrate', 0.0))}"
               ", the rest Python (Django's migration framework)", "—", INFO, None),
    ]
