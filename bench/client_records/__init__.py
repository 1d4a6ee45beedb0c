"""Benchmark of the encrypted client records, run by hand (bench/README.md):

    .venv/bin/python bench/records.py [--clients 100000] [--quick] [--keep DIR] [--db postgresql]

It loads a demo salon with ``records.demo.seed_demo`` into a scratch directory
(SALON_VAULT_VAR; SQLite there, or scratch PostgreSQL databases sv_bench_records* with
--db postgresql), makes a plaintext copy of it in twin models (``bench.plainapp``), and measures in
one run:

1. the client list and client detail pages through the real views (django.test.Client,
   logged in as the owner) against the same templates over the plaintext twins;
2. phone (full and last four digits) and name search through the blind indexes against
   decrypting and scanning every client;
3. field encryption and decryption (vault AES-GCM, raw and through the model field)
   against Fernet, per value and in bulk.

It prints a table; the figures of a 100,000-client run are in bench/README.md. The code
is here, by part: plain_copy (the twins), pages (1), search (2), fields (3), cli.
"""

from __future__ import annotations

from bench.common import Result

RESULTS: list[Result] = []  # the report's rows, in the order they are measured
QUICK_CLIENTS = 1_000
BATCH = 2_000  # clients decrypted per scope while copying or scanning
