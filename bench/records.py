#!/usr/bin/env python
"""Benchmark of the encrypted client records: see bench/client_records/ and bench/README.md.

    .venv/bin/python bench/records.py [--clients 100000] [--quick] [--keep DIR] [--db postgresql]
"""

import sys
from pathlib import Path

# `python bench/records.py` puts bench/ first on sys.path, where this very file would
# shadow the `records` app: the project root goes there instead.
sys.path[:1] = [str(Path(__file__).resolve().parent.parent)]

from bench.client_records.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
