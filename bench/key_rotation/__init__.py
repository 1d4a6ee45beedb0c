"""Benchmark of KEK rotation against re-encrypting every field, run by hand (bench/README.md):

    .venv/bin/python bench/rotation.py [--clients 100000] [--quick] [--keep DIR] [--db postgresql]

Target (at 100,000 clients, on SQLite and on PostgreSQL): rotation under 10 s, and at least
20 times faster than re-encrypting every field (the naive way).

It loads a demo salon with ``records.demo.seed_demo`` into a scratch directory
(SALON_VAULT_VAR; SQLite there, or scratch PostgreSQL databases sv_bench_rotation* with
--db postgresql), then measures, in one process:

- ours: ``vault.rotation.run()`` on the wall clock, as ``manage.py vault_rotate --run``
  runs it: a new primary KEK version in the keyring file, then every data key (one per
  client, in the `vault` database) unwrapped and wrapped again under it, in batches. It
  runs --rotations times (each rotates every key again); the median counts. Before each
  run, as a salon that last rotated long ago has them, retired KEK versions no key uses are
  destroyed (``vault.rotation.retire`` past the backup horizon) and the key table is
  vacuumed (PostgreSQL) or its WAL checkpointed (SQLite). After the runs a sample of records is read
  through the door, to show they still open.
- baseline (naive): what a generic encrypted-field library must do to rotate its key.
  Every encrypted value of every client's rows (each model with encrypted fields:
  clients, beauty profiles, health notes, treatments; the encrypted files of photos and
  forms too) is read as stored ciphertext, opened with the client's current data key
  (``aead.open_``, keys from ``vault.keystore.load``) and sealed again under a fresh key
  (``aead.seal_under``), and every row is written back with ``executemany``, one
  transaction per batch of clients. It runs on a copy of the `default` database made just
  before (SQLite's backup API, or CREATE DATABASE ... TEMPLATE on PostgreSQL), which is
  dropped after: the new keys are thrown away with it (not wrapped or stored, in the
  baseline's favour), and the salon keeps its records. --naive-clients N re-encrypts the
  first N clients only and extrapolates linearly; the report says so.

The code is here: tables (what the naive pass rewrites and its SQL), naive (the pass),
snapshot (the copy of `default`), ours (the rotation runs), cli (options, main, report).
"""

from __future__ import annotations

from bench.common import Result

RESULTS: list[Result] = []  # the report's rows, in the order they are added
QUICK_CLIENTS = 1_000
TARGET_SECONDS = 10.0
TARGET_RATIO = 20.0
ROTATIONS = 3  # rotation runs; the median is held to the targets
NAIVE_BATCH = 1_000  # clients per transaction of the naive pass
