#!/usr/bin/env python
"""Benchmark of access control on the client pages: see bench/access_control/ and
bench/README.md ("Access control").

    .venv/bin/python bench/access.py [--clients 100000] [--quick] [--keep DIR] [--db postgresql]
"""

import sys
from pathlib import Path

# `python bench/access.py` puts bench/ first on sys.path, where this very file would
# shadow the `access` app: the project root goes there instead.
sys.path[:1] = [str(Path(__file__).resolve().parent.parent)]

from bench.access_control.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
