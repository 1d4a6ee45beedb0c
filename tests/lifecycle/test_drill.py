"""The weekly restore drill: the latest backup restored into scratch databases, its audit
chain and a sample of records checked, timed, the copy dropped, the report on the jobs page."""

from __future__ import annotations

import json

import pytest

SEED = """
import django
django.setup()
from django.core.management import call_command
call_command("seed_demo", clients=10, treatments=2, photos=2, forms=1, stdout=open("/dev/null", "w"))
"""

DRILL = """
import json, django
django.setup()
from lifecycle import jobs
run = jobs.create_run("restore-drill", trigger="command")
run = jobs.execute(run.pk)
print(json.dumps({"status": run.status, "summary": run.summary, "error": run.error}))
"""


@pytest.fixture
def salon(scratch_salon):
    scratch_salon("-c", SEED)
    return scratch_salon


def drill(salon) -> dict:
    return json.loads(salon("-c", DRILL).stdout.splitlines()[-1])


def test_the_drill_restores_the_latest_backup_checks_it_and_reports(salon):
    backup_id = salon("manage.py", "backup_create").stdout.splitlines()[-1]
    done = drill(salon)
    assert done["status"] == "succeeded", done
    s = done["summary"]
    assert s["passed"] is True and s["backup"] == backup_id
    assert s["check"]["chain_ok"] and s["check"]["chain_events"] >= 1
    assert s["check"]["clients"] == 10 and s["check"]["opened"] == 10
    assert s["check"]["files"] >= 2 and s["check"]["unreadable"] == []
    assert s["restore_seconds"] > 0
    assert not list(salon.var.glob("drill*"))


def test_a_drill_of_a_damaged_backup_fails_and_says_why(salon):
    backup_id = salon("manage.py", "backup_create").stdout.splitlines()[-1]
    part = next((salon.var / "backups" / backup_id / "data").glob("records_treatment.*"))
    part.write_bytes(part.read_bytes() + b"x")
    done = drill(salon)
    assert done["status"] == "failed"
    assert "records_treatment" in done["error"] and done["summary"]["passed"] is False


def test_a_drill_with_no_backup_fails(salon):
    done = drill(salon)
    assert done["status"] == "failed" and "no backup" in done["error"]
