"""The layering of DESIGN.md as a test: import-linter's contracts in pyproject.toml.

records and transfer depend on access, access on audit, everything on vault, and nothing
the other way; only access/ imports django-guardian.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_import_runs_against_the_layering():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_access_reaches_records_only_through_the_directory_records_registers():
    """No import arrow runs up, and no model lookup by name sneaks around the contract."""
    reaching = [str(path.relative_to(ROOT)) for path in (ROOT / "access").rglob("*.py")
                if 'get_model("records"' in path.read_text()]
    assert reaching == []
