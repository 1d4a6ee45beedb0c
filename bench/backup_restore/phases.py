"""Where a restore's time goes: ``lifecycle.backups.restore.restore()`` with its steps timed.

Run by bench/backup_restore/restoring.py as the child process ``manage.py backup_restore
--database-url ...`` starts (the same environment: DATABASE_URL and VAULT_DATABASE_URL of
the new empty databases, VAULT_FILES_ROOT, the salon's keyring and SALON_VAULT_VAR):

    python -m bench.backup_restore.phases ID [--ledger-file FILE] [--profile N]

Each step of restore() is wrapped in a timer on its module (verify, the schema and ledger
checks, migrate, the rows, the files, the shred ledger, the audit event), each table's
load too, and inside the loads the age decryption, the SQL statements (an execute wrapper
on both connections) and the commits (deferred foreign keys are checked then) are added
up: the rest of a load is Python (gunzip, JSON, values prepared for the driver). The last line printed is the figures as JSON.
"""

from __future__ import annotations

import time

BEGAN = time.perf_counter()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402


class Timers:
    """Seconds by step; SQL seconds by the innermost step they ran in."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.sql: dict[str, float] = {}
        self.statements = 0
        self.stack = ["(outside)"]

    def wrap(self, name, function):
        def timed(*args, **kwargs):
            step = name(*args) if callable(name) else name
            self.stack.append(step)
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - began
                self.stack.pop()
        return timed

    def __call__(self, execute, sql, params, many, context):  # a Django execute wrapper
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            step = self.stack[-1]
            self.sql[step] = self.sql.get(step, 0.0) + time.perf_counter() - began
            self.statements += len(params) if many and hasattr(params, "__len__") else 1


class _Age:
    """pyrage as lifecycle.backups.restore sees it, with decrypt_io timed."""

    def __init__(self, pyrage, timers: Timers) -> None:
        self._pyrage = pyrage
        self.decrypt_io = timers.wrap(
            lambda *_: "decrypt (age), " + ("files" if timers.stack[-1] == "files" else "rows"),
            pyrage.decrypt_io)

    def __getattr__(self, name):
        return getattr(self._pyrage, name)


def instrument(timers: Timers) -> None:
    from audit import checkpoints
    from lifecycle.backups import restore, verify

    verify.verify = timers.wrap("verify", verify.verify)
    restore.call_command = timers.wrap("migrate", restore.call_command)
    for name in ("_same_schema", "_current_ledger", "_refuse_unless_empty"):
        setattr(restore, name, timers.wrap("checks", getattr(restore, name)))
    checkpoints.checkpoint_latest = timers.wrap("checks", checkpoints.checkpoint_latest)
    restore._load_all = timers.wrap("rows", restore._load_all)
    restore._load = timers.wrap(lambda _id, part, *rest: f"table {part['table']}",
                                restore._load)
    restore._unpack_files = timers.wrap("files", restore._unpack_files)
    restore._replay = timers.wrap("shred ledger", restore._replay)
    restore._record = timers.wrap("audit event", restore._record)
    restore.pyrage = _Age(restore.pyrage, timers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backup_id")
    parser.add_argument("--ledger-file")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="run under cProfile and print the N dearest functions")
    args = parser.parse_args(argv)
    import django

    django.setup()
    from django.db import connections

    from lifecycle.backups import restore

    started = time.perf_counter()
    ledger = [uuid.UUID(line) for line in Path(args.ledger_file).read_text().split()] \
        if args.ledger_file else []
    timers = Timers()
    instrument(timers)
    profiler = None
    with contextlib.ExitStack() as stack:
        for alias in ("default", "vault"):
            stack.enter_context(connections[alias].execute_wrapper(timers))
            # The commit of the rows' transaction: deferred foreign keys are checked then.
            connections[alias].commit = timers.wrap(
                lambda *_: f"commit, {timers.stack[-1]}", connections[alias].commit)
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        done = restore.restore(args.backup_id, ledger=ledger)
        if profiler:
            profiler.disable()
    ended = time.perf_counter()
    if profiler:
        import pstats

        from bench.backup_restore.make import print_profile

        print_profile(pstats.Stats(profiler), "the restore (restore.restore())", args.profile)
    print(json.dumps({
        "startup": started - BEGAN, "restore": ended - started, "reported": done.seconds,
        "rows": done.rows, "tables": done.tables, "files": done.files,
        "seconds": timers.seconds, "sql": timers.sql, "statements": timers.statements,
        "profiled": bool(profiler)}))


if __name__ == "__main__":
    main()
