"""SIGKILL in the middle of `manage.py backup_create`: no backup is listed half-made, the
next run removes what the killed one wrote and makes a whole one."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

SEED = """
import django
django.setup()
from django.core.management import call_command
call_command("seed_demo", clients=150, treatments=3, photos=5, forms=1, stdout=open("/dev/null", "w"))
"""


def test_a_backup_killed_half_way_is_never_listed_and_is_swept_by_the_next(scratch_salon):
    salon = scratch_salon
    salon("-c", SEED)
    backups = salon.var / "backups"
    making = subprocess.Popen([sys.executable, "manage.py", "backup_create"], cwd=salon.root,
                              env=salon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once it has written some parts
        parts = list(backups.rglob("*.age")) if backups.exists() else []
        if len(parts) >= 3:
            making.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    making.wait(timeout=60)
    assert making.returncode == -signal.SIGKILL, "the backup finished before it was killed"
    (unfinished,) = [p.name for p in backups.iterdir()]
    assert not (backups / unfinished / "manifest.json").exists()
    assert "no backups" in salon("manage.py", "backup_list").stdout

    made = salon("manage.py", "backup_create").stdout.splitlines()
    assert f"removed unfinished backup {unfinished}" in made
    assert [p.name for p in backups.iterdir()] == [made[-1]]
    assert not list((salon.var / "backup-scratch").iterdir())  # the killed run's parts too
    assert "verified" in salon("manage.py", "backup_verify", made[-1]).stdout
