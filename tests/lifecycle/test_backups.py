"""Backups: made, listed and verified; only ciphertext inside, each part sealed with age to
its own identity; a tampered, cut, missing or foreign part is named; retention; a backup
stopped half-way is removed by the next."""

from __future__ import annotations

import gzip
import io
import json
from io import StringIO

import pyrage
import pytest
from django.core.management import CommandError, call_command

from lifecycle.backups import archive, create, retention, store


@pytest.fixture(autouse=True)
def backup_dir(settings, tmp_path):
    folder = tmp_path / "backups"
    settings.STORAGES = {**settings.STORAGES, "backups": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(folder)}}}
    settings.VAULT_FILES_ROOT = tmp_path / "vault-files"
    return folder


def backup() -> str:
    out = StringIO()
    call_command("backup_create", stdout=out)
    return out.getvalue().splitlines()[-1]


def verify(backup_id, *args) -> str:
    out, err = StringIO(), StringIO()
    call_command("backup_verify", backup_id, *args, stdout=out, stderr=err)
    return out.getvalue()


def manifest(backup_dir, backup_id) -> dict:
    return json.loads((backup_dir / backup_id / archive.MANIFEST).read_text())


def opened(backup_dir, backup_id, name, part) -> bytes:
    sealed = (backup_dir / backup_id / name).read_bytes()
    return pyrage.decrypt(sealed, [store.identity(part)])


def test_a_backup_is_made_listed_and_verified(client_record, backup_dir):
    backup_id = backup()
    assert (backup_dir / backup_id / archive.MANIFEST).exists()
    out = StringIO()
    call_command("backup_list", stdout=out)
    assert backup_id in out.getvalue()
    assert "verified: signed by this deployment" in verify(backup_id)
    m = manifest(backup_dir, backup_id)
    tables = {p["table"]: p["rows"] for p in m["parts"] if p["kind"] == "table"}
    assert tables["records_client"] == 1 and tables["vault_datakey"] == 1
    assert "django_session" not in tables and "audit_accessevent" in tables
    assert m["engines"] == {"default": "sqlite", "vault": "sqlite"} or \
        set(m["engines"].values()) == {"postgresql"}


def test_it_holds_ciphertext_only_and_each_part_opens_with_its_own_key(
        client_record, backup_dir):
    backup_id = backup()
    everything = b"".join(p.read_bytes() for p in (backup_dir / backup_id).rglob("*")
                          if p.is_file())
    for plain in ("李娜", "13812345678", "lina@example.cn", "对PPD染发剂过敏", client_record.code):
        assert plain.encode() not in everything  # sealed with age, client codes included
    rows = gzip.decompress(opened(backup_dir, backup_id, "data/records_client.jsonl.gz.age",
                                  "data")).decode()
    assert client_record.code in rows  # inside, the rows are as the database holds them
    for plain in ("李娜", "13812345678", "lina@example.cn"):
        assert plain not in rows
    health = gzip.decompress(opened(backup_dir, backup_id,
                                    "data/records_healthnote.jsonl.gz.age", "data")).decode()
    assert "PPD" not in health and "过敏" not in health
    with pytest.raises(pyrage.DecryptError):
        opened(backup_dir, backup_id, "keystore/vault_datakey.jsonl.gz.age", "data")
    with pytest.raises(pyrage.DecryptError):
        opened(backup_dir, backup_id, "data/records_client.jsonl.gz.age", "keystore")
    keys = gzip.decompress(opened(backup_dir, backup_id,
                                  "keystore/vault_datakey.jsonl.gz.age", "keystore"))
    header, found = archive.read_table(io.BytesIO(gzip.compress(keys)))
    assert header["table"] == "vault_datakey" and len(list(found)) == 1


@pytest.mark.parametrize("damage, says", [
    (lambda p: p.write_bytes(p.read_bytes()[:-10]), "truncated or changed"),
    (lambda p: p.write_bytes(p.read_bytes()[:-1] + b"\x00"), "SHA-256 differs"),
    (lambda p: p.unlink(), "missing"),
])
def test_a_changed_cut_or_missing_part_is_named(client_record, backup_dir, damage, says):
    backup_id = backup()
    damage(backup_dir / backup_id / "data" / "records_client.jsonl.gz.age")
    with pytest.raises(CommandError, match=f"data/records_client.jsonl.gz.age: .*{says}"):
        verify(backup_id)


def test_a_changed_manifest_fails_its_signature(client_record, backup_dir):
    backup_id = backup()
    path = backup_dir / backup_id / archive.MANIFEST
    data = json.loads(path.read_text())
    data["parts"] = data["parts"][1:]  # a part dropped from the list
    path.write_text(json.dumps(data, sort_keys=True, indent=1))
    with pytest.raises(CommandError, match="changed after it was signed"):
        verify(backup_id)


def test_a_backup_of_another_deployment_is_refused(client_record, backup_dir):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit import checkpoint_file as cpfile

    backup_id = backup()
    other = cpfile.public_key_text(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CommandError, match="signed by another deployment"):
        verify(backup_id, "--public-key", other)


def test_an_unknown_backup_is_reported(backup_dir):
    with pytest.raises(CommandError, match="manifest.json: missing"):
        verify("20200101T000000Z-000000")


def test_a_backup_stopped_half_way_is_not_listed_and_is_removed_by_the_next(
        client_record, backup_dir, monkeypatch):
    real = create._write_manifest

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(create, "_write_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        create.create()
    unfinished = [p.name for p in backup_dir.iterdir()]
    assert len(unfinished) == 1 and store.ids() == []
    monkeypatch.setattr(create, "_write_manifest", real)
    out = StringIO()
    call_command("backup_create", stdout=out)
    assert f"removed unfinished backup {unfinished[0]}" in out.getvalue()
    assert [p.name for p in backup_dir.iterdir()] == [out.getvalue().splitlines()[-1]]


def test_retention_keeps_the_newest_of_each_day_week_and_month(settings):
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY, settings.BACKUP_KEEP_MONTHLY = 2, 2, 3
    ids = ["20261204T020000Z-a", "20261203T020000Z-b", "20261203T010000Z-c",
           "20261202T020000Z-d", "20261125T020000Z-e", "20261118T020000Z-f",
           "20261031T020000Z-g", "20261015T020000Z-h", "20260930T020000Z-i",
           "20260815T020000Z-j"]
    assert retention.kept(ids) == {
        "20261204T020000Z-a", "20261203T020000Z-b",  # the newest of the last two days
        "20261125T020000Z-e",  # of the week before (this week's newest is a)
        "20261031T020000Z-g",  # of October (December's is a, November's e)
    }


def test_a_keyring_without_backup_keys_says_how_to_add_them(client_record, settings, tmp_path):
    from vault import keyring

    ring = keyring.load()
    ring.backup_identities = {}
    path = tmp_path / "old-keyring.json"
    keyring.write_file(ring, path)
    settings.SALON_VAULT_KEYRING = str(path)
    keyring.reset()
    with pytest.raises(CommandError, match="vault_init --add-backup-keys"):
        backup()
    call_command("vault_init", "--add-backup-keys", stdout=StringIO())
    assert set(keyring.load().backup_identities) == {"data", "keystore"}
    assert backup()


def test_backups_go_through_any_django_storage(client_record, settings):
    """Not only a folder: the storage API alone (here Django's in-memory storage, as an S3
    bucket through django-storages would be)."""
    settings.STORAGES = {**settings.STORAGES, "backups": {
        "BACKEND": "django.core.files.storage.InMemoryStorage"}}
    backup_id = backup()
    assert store.ids() == [backup_id]
    assert "verified" in verify(backup_id)
    settings.BACKUP_KEEP_DAILY = settings.BACKUP_KEEP_WEEKLY = settings.BACKUP_KEEP_MONTHLY = 0
    assert retention.prune() == [backup_id] and store.ids() == []


def test_the_backup_storage_is_chosen_in_the_environment():
    import os
    import subprocess
    import sys

    env = {**os.environ, "BACKUP_STORAGE_BACKEND": "storages.backends.s3.S3Storage",
           "BACKUP_STORAGE_OPTIONS": '{"bucket_name": "salon-backups", "endpoint_url": "https://s3.example.cn"}',
           "DJANGO_SETTINGS_MODULE": "salon_vault.settings"}
    shown = subprocess.run([sys.executable, "-c", "import django; django.setup(); "
                            "from django.conf import settings; print(settings.STORAGES['backups'])"],
                           env=env, capture_output=True, text=True, check=True).stdout
    assert "storages.backends.s3.S3Storage" in shown and "'bucket_name': 'salon-backups'" in shown
