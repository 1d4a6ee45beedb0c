"""Signed checkpoints of the chain head, kept outside the database: whoever rewrites the whole
chain consistently, or cuts its tail together with the head, is caught by them; and anyone
with the public key can verify a checkpoint offline."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import CommandError, call_command

from audit import chain, checkpoint_file, checkpoints, integrity
from audit.checkpoint_store import CheckpointExists, DirectoryStore, name_for
from audit.models import AccessEvent, VerificationRun
from tests.audit.conftest import triggers_lifted, write


def _command(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def _checkpoint() -> list[str]:
    return _command("audit_checkpoint")


def _verify(*args) -> str:
    return "\n".join(_command("audit_verify", *args))


def _broken(*args) -> str:
    with pytest.raises(CommandError) as failure:
        _verify(*args)
    return str(failure.value)


def _files() -> list[Path]:
    directory = Path(settings.AUDIT_CHECKPOINT_DIR)
    return sorted(directory.iterdir()) if directory.exists() else []


def _rewrite_from(seq: int) -> None:
    """Change event `seq` and recompute every hash after it, head included, in raw SQL with
    the triggers dropped: a chain consistent in itself, as someone with the database
    password could leave it."""
    rows = list(AccessEvent.objects.order_by("seq"))
    with triggers_lifted() as connection, connection.cursor() as cursor:
        previous = chain.GENESIS
        for event in rows:
            values = {name: getattr(event, name) for name in chain.FIELDS}
            if event.seq == seq:
                values["purpose"] = "nothing to see"
            if event.seq >= seq:
                values["prev_hash"] = previous
                digest = chain.digest(values)
                cursor.execute("UPDATE audit_accessevent SET purpose = %s, prev_hash = %s, "
                               "hash = %s WHERE seq = %s",
                               [values["purpose"], previous, digest, event.seq])
                previous = digest
            else:
                previous = event.hash
        cursor.execute("UPDATE audit_chainhead SET hash = %s", [previous])


def _cut_after(seq: int) -> None:
    """Delete the events after `seq` and move the head back to `seq`, triggers dropped."""
    kept = AccessEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
    with triggers_lifted() as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_accessevent WHERE seq > %s", [seq])
        cursor.execute("UPDATE audit_chainhead SET seq = %s, hash = %s",
                       [seq, kept or chain.GENESIS])


# -- writing ------------------------------------------------------------------------------


def test_the_command_signs_the_head_and_prints_its_seq_and_hash_last(db):
    events = write(3)
    lines = _checkpoint()
    assert lines[-1] == f"#3 {events[-1].hash}"
    [path] = _files()
    assert str(path) in lines[0]
    head = checkpoint_file.verify(path.read_bytes(), checkpoints.public_key())
    assert (head.seq, head.hash, head.count) == (3, events[-1].hash, 3)


def test_the_checkpoint_file_is_read_only_and_its_directory_private(db):
    write(2)
    _checkpoint()
    [path] = _files()
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_nothing_is_written_when_the_head_has_not_moved(db):
    events = write(2)
    _checkpoint()
    lines = _checkpoint()
    assert len(_files()) == 1
    assert "has not moved" in lines[0] and lines[-1] == f"#2 {events[-1].hash}"
    write(1)
    assert _checkpoint()[-1].startswith("#3 ")
    assert len(_files()) == 2


def test_an_empty_chain_signs_nothing(db):
    assert _checkpoint()[-1] == f"#0 {chain.GENESIS}"
    assert _files() == []


def test_a_checkpoint_is_never_overwritten(tmp_path):
    store = DirectoryStore(tmp_path / "kept")
    store.add(name_for(7), b"first")
    with pytest.raises(CheckpointExists):
        store.add(name_for(7), b"second")
    assert store.read(name_for(7)) == b"first"
    assert store.names() == [name_for(7)]


class MemoryStore:
    """Another place to keep checkpoints (as an object-locked bucket would be)."""

    kept: dict[str, bytes] = {}
    location = "memory"

    def add(self, name: str, data: bytes) -> str:
        if name in self.kept:
            raise CheckpointExists(name)
        self.kept[name] = data
        return f"memory:{name}"

    def names(self) -> list[str]:
        return sorted(self.kept)

    def read(self, name: str) -> bytes:
        return self.kept[name]


def test_another_store_can_be_configured(db, settings):
    settings.AUDIT_CHECKPOINT_STORE = f"{__name__}.MemoryStore"
    MemoryStore.kept = {}
    write(3)
    assert _checkpoint()[0] == f"checkpoint written: memory:{name_for(3)}"
    assert _files() == [] and list(MemoryStore.kept) == [name_for(3)]
    _cut_after(1)
    assert "#2" in _broken("--full")


def test_the_default_directory_is_under_var():
    from salon_vault import settings as configured

    if not os.environ.get("AUDIT_CHECKPOINT_DIR"):
        assert configured.AUDIT_CHECKPOINT_DIR == configured.VAR_DIR / "audit-checkpoints"


def test_the_beat_task_writes_once_per_head(db):
    from audit.tasks import write_checkpoint

    write(4)
    assert write_checkpoint.apply().get() == 4
    assert write_checkpoint.apply().get() == 0  # safe to run twice
    assert len(_files()) == 1


def test_the_signing_key_is_not_in_the_database(db):
    from django.db import connection

    write(2)
    _checkpoint()
    seed = checkpoints.signer().private_bytes_raw()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the schema
            for row in cursor.fetchall():
                for value in row:
                    assert seed.hex() not in str(value) and seed != value


# -- verifying the chain against them -----------------------------------------------------


def test_an_intact_chain_agrees_with_every_checkpoint(db):
    write(3)
    _checkpoint()
    write(2)
    _checkpoint()
    out = _verify("--full")
    assert "intact" in out and "5 events verified" in out and "2 signed checkpoint" in out


def test_a_consistent_rewrite_of_the_whole_chain_fails_naming_the_seq(db):
    write(3)
    _checkpoint()
    write(3)
    _checkpoint()
    write(2)
    _rewrite_from(5)
    assert integrity._verify_links(full=True, workers=1).ok  # consistent in itself
    message = _broken("--full")
    assert "#6" in message and "rewritten" in message and "#3" in message
    run = VerificationRun.objects.order_by("-pk").first()
    assert not run.ok and run.first_bad_seq == 6


def test_a_rewrite_from_the_first_event_fails_at_the_first_checkpoint(db):
    write(2)
    _checkpoint()
    write(2)
    _checkpoint()
    _rewrite_from(1)
    message = _broken("--full")
    assert "#2" in message
    assert VerificationRun.objects.order_by("-pk").first().first_bad_seq == 2


def test_the_nightly_incremental_run_checks_the_latest_checkpoint(db):
    write(2)
    _verify()  # a full run, signing #2 as verified
    write(2)
    _checkpoint()
    _rewrite_from(3)
    message = _broken()  # incremental: from #2 on
    run = VerificationRun.objects.order_by("-pk").first()
    assert not run.full and run.first_bad_seq == 4 and "#4" in message


def test_a_cut_tail_with_the_head_moved_back_fails(db):
    write(6)
    _checkpoint()
    _cut_after(3)
    assert integrity._verify_links(full=True, workers=1).ok
    message = _broken("--full")
    assert "#4" in message and "removed" in message and "#6" in message
    assert VerificationRun.objects.order_by("-pk").first().first_bad_seq == 4


def test_events_deleted_after_the_last_checkpoint_fail_by_the_head(db):
    write(3)
    _checkpoint()
    write(3)
    with triggers_lifted() as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_accessevent WHERE seq > %s", [4])
    message = _broken("--full")
    assert "#5" in message and "removed" in message


def test_a_cut_tail_is_caught_by_the_nightly_run_too(db):
    write(5)
    _checkpoint()
    _cut_after(2)
    assert "#3" in _broken()


def test_a_chain_emptied_with_its_head_fails_at_the_first_event(db):
    write(3)
    _checkpoint()
    with triggers_lifted() as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_accessevent")
        cursor.execute("DELETE FROM audit_chainhead")
    assert "#1" in _broken("--full")


def test_a_checkpoint_with_a_forged_signature_is_reported(db):
    write(3)
    _checkpoint()
    write(1)
    forged = json.loads(_files()[0].read_bytes()) | {"seq": 4,
                                                   "hash": AccessEvent.objects.get(seq=4).hash}
    (Path(settings.AUDIT_CHECKPOINT_DIR) / name_for(4)).write_text(json.dumps(forged))
    message = _broken("--full")
    assert "not validly signed" in message and name_for(4) in message


def test_a_checkpoint_signed_with_another_key_is_reported(db):
    events = write(2)
    head = checkpoint_file.Head(seq=2, hash=events[-1].hash, at="2026-12-01T00:00:00.000000Z",
                                count=2)
    other = checkpoint_file.sign(head, Ed25519PrivateKey.generate())
    DirectoryStore(settings.AUDIT_CHECKPOINT_DIR).add(name_for(2),
                                                      checkpoint_file.dumps(other))
    message = _broken("--full")
    assert "not validly signed" in message and "signed by key" in message


def test_no_checkpoint_is_signed_over_a_chain_that_disagrees_with_the_last(db):
    write(3)
    _checkpoint()
    write(1)
    _rewrite_from(2)
    with pytest.raises(CommandError) as refused:
        _checkpoint()
    assert "not signed" in str(refused.value) and "#3" in str(refused.value)
    assert len(_files()) == 1


def test_no_checkpoint_is_signed_after_a_forged_one(db):
    write(2)
    _checkpoint()
    path = _files()[0]
    path.chmod(0o600)
    path.write_text(path.read_text().replace('"count": 2', '"count": 9'))
    write(1)
    with pytest.raises(CommandError) as refused:
        _checkpoint()
    assert "does not verify" in str(refused.value)


def test_checkpoints_of_pruned_events_do_not_fail_verification(record_at, settings):
    import datetime as dt

    from django.utils import timezone

    settings.AUDIT_RETENTION_DAYS = 200
    for days in (400, 399):
        record_at(timezone.now() - dt.timedelta(days=days))
    _checkpoint()
    write(2)
    _checkpoint()
    assert integrity.prune().seq == 2
    out = _verify("--full")
    assert "intact" in out and "2 events verified" in out


# -- offline verification -----------------------------------------------------------------


def _public_key() -> str:
    lines = _command("audit_checkpoint", "--public-key")
    assert lines[1] == f"fingerprint: {checkpoint_file.fingerprint(checkpoints.public_key())}"
    return lines[0].removeprefix("public key: ")


def test_a_good_file_verifies_with_the_public_key_alone(db):
    write(2)
    _checkpoint()
    [path] = _files()
    out = _command("audit_verify_checkpoint", str(path), "--public-key", _public_key())
    assert out[-1].startswith("valid: head #2")


def test_without_a_key_given_the_keyrings_own_key_verifies(db):
    write(1)
    _checkpoint()
    out = _command("audit_verify_checkpoint", str(_files()[0]))
    assert out[-1].startswith("valid: head #1")


def test_a_tampered_file_fails_offline_verification(db, tmp_path):
    events = write(2)
    _checkpoint()
    tampered = tmp_path / "tampered.json"
    tampered.write_text(_files()[0].read_text().replace(events[-1].hash, events[0].hash))
    with pytest.raises(CommandError) as failure:
        _command("audit_verify_checkpoint", str(tampered), "--public-key", _public_key())
    assert "INVALID" in str(failure.value)


def test_a_file_verifies_offline_only_under_its_own_key(db):
    write(1)
    _checkpoint()
    other = checkpoint_file.public_key_text(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CommandError):
        _command("audit_verify_checkpoint", str(_files()[0]), "--public-key", other)


def test_the_standalone_script_needs_only_the_file_and_the_key(db, tmp_path):
    """Copied out of the project, run with no Django settings: only `cryptography`."""
    events = write(2)
    _checkpoint()
    script = tmp_path / "verify_checkpoint.py"
    script.write_bytes(Path(checkpoint_file.__file__).read_bytes())
    key = _public_key()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTHONPATH"))}
    run = [sys.executable, str(script), str(_files()[0]), "--public-key", key]
    good = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert good.returncode == 0 and "valid: head #2" in good.stdout
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(_files()[0].read_text().replace('"count": 2', '"count": 1'))
    bad = subprocess.run([*run[:2], str(bad_file), *run[3:]], capture_output=True, text=True,
                         cwd=tmp_path, env=env)
    assert bad.returncode == 1 and "INVALID" in bad.stderr
    assert events[-1].hash in _files()[0].read_text()


def test_vault_status_shows_the_public_key_and_its_fingerprint(db):
    out = StringIO()
    call_command("vault_status", stdout=out)
    key = checkpoints.public_key()
    assert checkpoint_file.public_key_text(key) in out.getvalue()
    assert checkpoint_file.fingerprint(key) in out.getvalue()


# -- schedule -----------------------------------------------------------------------------


def test_beat_writes_checkpoints_every_few_minutes_and_verifies_in_full_weekly(settings):
    from celery.schedules import crontab

    from salon_vault.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE
    jobs = {entry["task"]: entry["schedule"] for entry in schedule.values()}
    assert 0 < jobs["audit.tasks.write_checkpoint"] <= 600
    weekly = jobs["audit.tasks.verify_chain_full"]
    assert isinstance(weekly, crontab) and len(weekly.day_of_week) == 1
    nightly = jobs["audit.tasks.verify_chain"]
    assert isinstance(nightly, crontab) and len(nightly.day_of_week) == 7
    app.loader.import_default_modules()
    for task in ("audit.tasks.write_checkpoint", "audit.tasks.verify_chain_full",
                 "audit.tasks.verify_chain"):
        assert task in app.tasks


def test_the_weekly_task_verifies_the_whole_chain_against_every_checkpoint(db):
    from audit.tasks import verify_chain_full

    write(2)
    _checkpoint()
    write(2)
    _checkpoint()
    _verify()
    _rewrite_from(1)
    assert verify_chain_full.apply().get() is False
    run = VerificationRun.objects.order_by("-pk").first()
    assert run.full and run.first_bad_seq == 2
