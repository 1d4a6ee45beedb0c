"""SIGKILL in the middle of the retention job's destructions (`manage.py job_run
retention`, an automatic policy): running it again finishes every destruction it began,
destroys the rest, and touches nobody else: each destroyed client has one signed
certificate, no data key, no file and no row; the kept clients still read."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

SEED = """
import datetime as dt, django
django.setup()
from django.core.management import call_command
from records import retention
from records.models import Client, RetentionPolicy
call_command("seed_demo", clients=36, treatments=2, photos=2, forms=1,
             stdout=open("/dev/null", "w"))
retention.policies()
RetentionPolicy.objects.filter(key="client").update(automatic=True)
RetentionPolicy.objects.exclude(key="client").update(enabled=False)
codes = sorted(Client.objects.values_list("code", flat=True))
Client.objects.filter(code__in=codes[:30]).update(last_visit=dt.date(2015, 1, 1))
Client.objects.filter(code__in=codes[30:]).update(last_visit=dt.date.today())
retention.place_hold(Client.objects.get(code=codes[0]), actor=None, reason="court order",
                     until=dt.date.today() + dt.timedelta(days=30))
print(" ".join(codes))
"""

CHECK = """
import json, django
django.setup()
from pathlib import Path
from records import certificate_file, destruction
from records.models import Client, ClientForm, Destruction, Photo
from audit import checkpoints
from vault.fields import _files_root
from vault.models import DataKey, ShredRecord
done = Destruction.objects.filter(state="certified")
ids = list(done.values_list("client_id", flat=True))  # the key store is another database
certificates = {}
for d in done:
    statement = certificate_file.verify(destruction.certificate_path(d).read_bytes(),
                                        checkpoints.public_key())
    certificates[d.client_code] = statement["key_ids"]
kept = {c.code: c.full_name for c in Client.objects.all()}
print(json.dumps({
    "certified": sorted(done.values_list("client_code", flat=True)),
    "unfinished": destruction.unfinished().count(),
    "certificates": certificates,
    "kept": sorted(kept), "kept_named": all(kept.values()),
    "keys_of_destroyed": DataKey.objects.filter(
        subject_id__in=ids).count(),
    "shredded": ShredRecord.objects.filter(subject_id__in=ids).count(),
    "rows_of_destroyed": Photo.objects.filter(client_id__in=ids).count()
        + ClientForm.objects.filter(client_id__in=ids).count(),
    "files": sum(1 for p in _files_root().rglob("*") if p.is_file()),
    "files_expected": sum(len([v for v in row if v]) for row in
                          Photo.objects.values_list("image", "thumbnail"))
                      + ClientForm.objects.exclude(document="").count(),
}))
"""


def state(salon) -> dict:
    return json.loads(salon("-c", CHECK).stdout)


def test_a_retention_run_killed_half_way_is_finished_by_the_next(scratch_salon):
    salon = scratch_salon
    codes = salon("-c", SEED).stdout.split()
    held, old, recent = codes[0], codes[1:30], codes[30:]
    job = subprocess.Popen([sys.executable, "manage.py", "job_run", "retention"],
                           cwd=salon.root, env=salon.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    destroyed = 0
    for line in job.stderr:  # kill it half-way through a client, a few clients in
        destroyed += line.rstrip().endswith(": certified")
        if destroyed >= 3 and line.rstrip().endswith(": files_deleted"):
            job.send_signal(signal.SIGKILL)
            break
    job.wait(timeout=120)
    assert job.returncode == -signal.SIGKILL, "the job finished before it was killed"
    half = state(salon)
    assert half["unfinished"] == 1  # the client it was killed on: files gone, rows not
    assert 0 < len(half["certified"]) < len(old), half["certified"]
    assert set(half["kept"]) >= {held, *recent}

    last = salon("manage.py", "job_run", "retention").stdout.splitlines()[-1]
    assert last.startswith("retention finished: ")
    done = state(salon)
    assert done["certified"] == sorted(old)  # each once: certified destructions per client
    assert done["unfinished"] == 0
    assert done["kept"] == sorted([held, *recent]) and done["kept_named"]
    assert all(done["certificates"][code] for code in old)  # every certificate names keys
    assert done["keys_of_destroyed"] == 0 and done["rows_of_destroyed"] == 0
    assert done["shredded"] == len(old)
    assert done["files"] == done["files_expected"]  # only the kept clients' files remain
