"""Restoring a backup, as operators run it: into empty databases given by URL, or in place
with --confirm; a client destroyed after the backup stays unreadable; the restored chain
verifies and ends with the restore; a tampered backup restores nothing."""

from __future__ import annotations

import json

import pytest

SEED = """
import django
django.setup()
from django.core.management import call_command
call_command("seed_demo", clients=12, treatments=2, photos=2, forms=1, stdout=open("/dev/null", "w"))
"""

# Destroy one client (its data key) and print its code and id.
SHRED = """
import django
django.setup()
from records.models import Client
from vault import keystore
client = Client.objects.order_by("code")[3]
keystore.shred(client.pk, actor="owner", reason="deletion request")
print(client.code, client.pk)
"""

# What the salon's databases say now: clients, readable and unreadable ones, the last event.
LOOK = """
import json, django
django.setup()
from access import door
from audit.models import AccessEvent
from records.models import Client, Photo
from vault.errors import ShreddedError
last = AccessEvent.objects.order_by("-seq").first()  # before this script's own opening
readable, shredded = [], []
clients = list(Client.objects.order_by("code"))
with door.open_for_system(actor="check", purpose="integrity check", subjects=[c.pk for c in clients]):
    for c in clients:
        try:
            str(c.full_name); readable.append(c.code)
        except ShreddedError:
            shredded.append(c.code)
    photo = Photo.objects.exclude(client_id__in=[c.pk for c in clients if c.code in shredded]).first()
    photo_bytes = len(photo.image.read())
print(json.dumps({"readable": readable, "shredded": shredded, "photo_bytes": photo_bytes,
                  "last_action": last.action, "last_detail": last.detail}))
"""


@pytest.fixture
def salon(scratch_salon):
    scratch_salon("-c", SEED)
    return scratch_salon


def backup(salon) -> str:
    return salon("manage.py", "backup_create").stdout.splitlines()[-1]


def look(salon, **env) -> dict:
    return json.loads(salon("-c", LOOK, env_extra=env).stdout.splitlines()[-1])


def test_restore_elsewhere_keeps_a_client_destroyed_after_the_backup_unreadable(
        salon, tmp_path, scratch_databases):
    backup_id = backup(salon)
    code, _pk = salon("-c", SHRED).stdout.split()
    target = tmp_path / "restored"
    target.mkdir()
    database, vault_database = scratch_databases("restored")
    done = salon("manage.py", "backup_restore", backup_id, "--database-url", database,
                 "--vault-database-url", vault_database, "--files-dir", str(target / "files"))
    assert f"1 clients destroyed after the backup stay unreadable: {code}" in done.stdout
    assert done.stdout.splitlines()[-1] == f"restored backup {backup_id}"
    assert "this copy is not the salon" in done.stdout
    copy = {"DATABASE_URL": database, "VAULT_DATABASE_URL": vault_database,
            "VAULT_FILES_ROOT": str(target / "files")}
    restored = look(salon, **copy)
    assert restored["shredded"] == [code] and len(restored["readable"]) == 11
    assert restored["photo_bytes"] > 100
    assert restored["last_action"] == "backup.restore"
    assert restored["last_detail"]["backup"] == backup_id
    verified = salon("manage.py", "audit_verify", "--full", env_extra=copy)
    assert "intact" in verified.stdout
    assert "vault-files" not in str(list(target.iterdir()))  # the salon's own files untouched
    # No checkpoint era is opened for a copy: it would excuse the live salon's chain.
    folder = salon.var / "audit-checkpoints"
    assert not any("-e0001-" in p.name for p in (folder.iterdir() if folder.exists() else ()))
    assert look(salon)["shredded"] == [code]  # and the salon itself as it was


def test_a_tampered_backup_restores_nothing(salon, tmp_path, scratch_databases):
    backup_id = backup(salon)
    part = next((salon.var / "backups" / backup_id / "data").glob("records_client.*"))
    part.write_bytes(part.read_bytes()[:-5])
    target = tmp_path / "restored"
    target.mkdir()
    database, vault_database = scratch_databases("refused")
    done = salon("manage.py", "backup_restore", backup_id, "--database-url", database,
                 "--vault-database-url", vault_database, "--files-dir", str(target / "files"),
                 check=False)
    assert done.returncode != 0
    assert "data/records_client.jsonl.gz.age" in done.stderr and "failed verification" in done.stderr
    assert not (target / "files").exists()
    tables = salon("manage.py", "shell", "-c",
                   "from django.db import connection; print(len(connection.introspection.table_names()))",
                   env_extra={"DATABASE_URL": database, "VAULT_DATABASE_URL": vault_database})
    assert tables.stdout.split()[-1] == "0"  # not even migrated


def test_in_place_needs_confirm_then_replaces_the_salon(salon):
    salon("manage.py", "audit_checkpoint")
    backup_id = backup(salon)
    before = look(salon)
    code, _pk = salon("-c", SHRED).stdout.split()
    refused = salon("manage.py", "backup_restore", backup_id, check=False)
    assert refused.returncode != 0 and "--confirm" in refused.stderr
    salon("manage.py", "seed_demo", "--clients", "3")  # work done after the backup...
    salon("manage.py", "audit_checkpoint")  # ...and a checkpoint signed of it
    done = salon("manage.py", "backup_restore", backup_id, "--confirm")
    assert f"stay unreadable: {code}" in done.stdout
    assert "rolls back past checkpoint" in done.stdout
    after = look(salon)
    assert sorted(after["readable"] + after["shredded"]) == sorted(before["readable"])
    assert after["shredded"] == [code]
    # The chain verifies: the checkpoint signed after the backup is named as rolled back by
    # the restore (a new era of checkpoints starts at the restore), not held against it.
    verified = salon("manage.py", "audit_verify", "--full").stdout
    assert "intact" in verified and "a restore rolled back" in verified
    assert any("-e0001-" in p.name for p in (salon.var / "audit-checkpoints").iterdir())
    # Checkpoints go on being signed after the restore.
    salon("-c", LOOK)  # one more event
    assert "checkpoint written" in salon("manage.py", "audit_checkpoint").stdout
    assert "intact" in salon("manage.py", "audit_verify", "--full").stdout
