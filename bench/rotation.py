#!/usr/bin/env python
"""Benchmark of KEK rotation against re-encrypting every field: see bench/key_rotation/ and
bench/README.md ("Key rotation").

    .venv/bin/python bench/rotation.py [--clients 100000] [--quick] [--keep DIR] [--db postgresql]
"""

import sys
from pathlib import Path

# `python bench/rotation.py` puts bench/ first on sys.path, where the bench modules would
# shadow the `access`, `audit` and `records` apps: the project root goes there instead.
sys.path[:1] = [str(Path(__file__).resolve().parent.parent)]

from bench.key_rotation.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
