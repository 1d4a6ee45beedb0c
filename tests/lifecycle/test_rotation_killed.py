"""SIGKILL in the middle of `manage.py vault_rotate --run`: nothing is lost, every data key
still opens, and running it again finishes the same rotation (no third version)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = 6000

SETUP = f"""
import uuid, django
django.setup()
from vault import keystore
keystore.create(uuid.uuid4() for _ in range({KEYS}))
"""

CHECK = """
import json, django
django.setup()
from vault import keyring, keystore
from vault.models import DataKey
from django.db.models import Count
subjects = list(DataKey.objects.values_list("subject_id", flat=True))
opened = len(keystore.load(subjects))
counts = dict(DataKey.objects.values_list("kek_version").annotate(n=Count("id")))
print(json.dumps({"opened": opened, "by_version": counts,
                  "keyring": keyring.load().versions()}))
"""


@pytest.fixture
def salon(scratch_salon):
    scratch_salon("-c", SETUP)
    return scratch_salon.env, scratch_salon


def state(run) -> dict:
    import json

    return json.loads(run("-c", CHECK).stdout)


def test_a_rotation_killed_half_way_loses_nothing_and_finishes_on_rerun(salon):
    env, run = salon
    rotate = subprocess.Popen([sys.executable, "manage.py", "vault_rotate", "--run",
                               "--batch", "20"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    for line in rotate.stdout:
        if line.startswith("rewrapped ") and not line.startswith("rewrapped 0 "):
            rotate.send_signal(signal.SIGKILL)
            break
    rotate.wait(timeout=60)
    assert rotate.returncode == -signal.SIGKILL
    half = state(run)
    assert half["keyring"] == [1, 2] and half["opened"] == KEYS
    assert 0 < half["by_version"].get("2", 0) < KEYS, half  # killed in the middle

    again = run("manage.py", "vault_rotate", "--run").stdout
    assert "finished the rotation to version 2" in again
    done = state(run)
    assert done == {"opened": KEYS, "by_version": {"2": KEYS}, "keyring": [1, 2]}
