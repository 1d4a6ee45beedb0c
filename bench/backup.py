#!/usr/bin/env python
"""Benchmark of backup and restore: see bench/backup_restore/ and bench/README.md ("Backup
and restore").

    .venv/bin/python bench/backup.py [--clients 100000] [--quick] [--keep DIR] [--db postgresql]
"""

import sys
from pathlib import Path

# `python bench/backup.py` puts bench/ first on sys.path, where the bench modules would
# shadow the `access`, `audit` and `records` apps: the project root goes there instead.
sys.path[:1] = [str(Path(__file__).resolve().parent.parent)]

from bench.backup_restore.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
