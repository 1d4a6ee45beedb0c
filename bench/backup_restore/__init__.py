"""Benchmark of backup and restore, run by hand (bench/README.md, "Backup and restore"):

    .venv/bin/python bench/backup.py [--clients 100000] [--quick] [--keep DIR] [--db postgresql]

Targets (at 100,000 clients with 1,000,000 treatments and 10,000 photos, on SQLite and on
PostgreSQL): a backup under 60 s, a restore under 120 s.

It loads a demo salon with ``records.demo.seed_demo`` into a scratch directory
(SALON_VAULT_VAR; SQLite there, or scratch PostgreSQL databases sv_bench_backup* with
--db postgresql): --clients clients with --treatments treatments each and --photos
photos (before/after pairs: two Photo rows, each an image and a thumbnail file), then
measures, one after the other:

- backup: ``lifecycle.backups.create.create()`` in this process on the wall clock, what
  ``manage.py backup_create`` runs (through lifecycle/jobs.py, without the sweep of
  unfinished backups and the retention policy). The backup goes into the backup storage
  of the scratch salon (var/backups under SALON_VAULT_VAR). Each part's time is taken
  from create()'s progress calls.
- verify: ``manage.py backup_verify ID`` in a subprocess (information).
- restore: ``manage.py backup_restore ID --database-url URL --vault-database-url URL
  --files-dir DIR`` in a subprocess, as an operator runs it, into new empty databases
  (SQLite files in the scratch directory, or scratch PostgreSQL databases
  sv_bench_backup*_restored on the same server), on the wall clock. The command starts
  a child process that restores (verify, migrate, rows, files, shred ledger).
- where a restore's time goes (unless --no-phases): the same restore once more, by
  ``lifecycle.backups.restore.restore()`` in a child process of the bench
  (bench/backup_restore/phases.py) whose steps are timed; --profile runs it under
  cProfile, and one more backup in this process too.

--runs N makes N backups and N restores (each into new databases); the median of each
counts.

With --wait-quiet MINUTES each timed run waits first, up to MINUTES, for a 1-minute load
average under 1.5 and no pytest process on the machine. The backups made are removed at
the end; the salon stays with --keep DIR.

The code: make (the timed backup), restoring (the commands and their scratch targets),
phases (the child that times a restore's steps), report (the rows), cli (options, main).
"""

from __future__ import annotations

from bench.common import Result

RESULTS: list[Result] = []  # the report's rows, in the order they are added
CLIENTS = 100_000
TREATMENTS = 10  # per client
PHOTOS = 10_000  # Photo rows: seed_demo makes them in before/after pairs
QUICK = (1_000, 10, 100)  # clients, treatments per client, photos
BACKUP_TARGET = 60.0
RESTORE_TARGET = 120.0
QUIET_LOAD = 1.5  # --wait-quiet: the 1-minute load average to wait for
HEADERS = ("measure", "figure", "detail", "rate", "target", "result")
