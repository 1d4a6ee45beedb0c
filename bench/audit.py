#!/usr/bin/env python
"""Benchmark of the audit log: see bench/audit_log/ and bench/README.md ("Audit").

    .venv/bin/python bench/audit.py [--quick] [--keep DIR] [--events 10000000] [--markdown]
"""

import sys
from pathlib import Path

# `python bench/audit.py` puts bench/ first on sys.path, where this very file would
# shadow the `audit` app: the project root goes there instead.
sys.path[:1] = [str(Path(__file__).resolve().parent.parent)]

from bench.audit_log.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
