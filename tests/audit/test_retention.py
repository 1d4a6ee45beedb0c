"""Retention: events older than AUDIT_RETENTION_DAYS are deleted, leaving a signed checkpoint
from which the chain that remains still verifies; a forged checkpoint does not."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, transaction
from django.utils import timezone

from audit import integrity
from audit.models import AccessEvent, Checkpoint, PrunePermit
from tests.audit.conftest import events, tamper, write


def _verify() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


@pytest.fixture
def old_and_new(record_at, settings):
    """Five events 400 days old and three of today, with a retention of 200 days."""
    settings.AUDIT_RETENTION_DAYS = 200
    long_ago = timezone.now() - dt.timedelta(days=400)
    old = [record_at(long_ago + dt.timedelta(minutes=i), action="client.open") for i in range(5)]
    new = write(3, action="client.open")
    return old, new


def test_the_default_retention_is_three_years():
    from salon_vault import settings as configured

    assert configured.AUDIT_RETENTION_DAYS == 1095


def test_the_default_retention_is_in_force_in_the_running_settings(settings):
    assert settings.AUDIT_RETENTION_DAYS == 1095


def test_prune_deletes_only_events_older_than_the_retention(old_and_new):
    old, new = old_and_new
    cp = integrity.prune()
    assert cp is not None
    assert [e.seq for e in events()] == [e.seq for e in new]
    assert cp.seq == old[-1].seq and cp.hash == old[-1].hash and cp.pruned == 5


def test_prune_signs_a_checkpoint_that_verifies(old_and_new):
    cp = integrity.prune()
    assert integrity.checkpoint_valid(Checkpoint.objects.get(pk=cp.pk))
    assert len(cp.signature) == 128 and len(cp.key_id) == 16


def test_the_chain_still_verifies_after_pruning(old_and_new):
    integrity.prune()
    out = _verify()
    assert "intact" in out and "3 events verified" in out


def test_new_events_link_on_after_pruning(old_and_new):
    integrity.prune()
    write(2)
    assert "5 events verified" in _verify()


def test_pruning_everything_still_leaves_a_verifiable_chain(record_at, settings):
    settings.AUDIT_RETENTION_DAYS = 200
    for _ in range(4):
        record_at(timezone.now() - dt.timedelta(days=300))
    cp = integrity.prune()
    assert AccessEvent.objects.count() == 0 and cp.seq == 4
    assert "0 events verified" in _verify()
    event = write(1)[0]
    assert event.seq == 5 and event.prev_hash == cp.hash
    assert "1 events verified" in _verify()


def test_a_second_prune_counts_all_pruned_so_far(old_and_new, record_at, settings):
    _old, new = old_and_new
    settings.AUDIT_RETENTION_DAYS = 300
    middle = [record_at(timezone.now() - dt.timedelta(days=250)) for _ in range(2)]
    assert integrity.prune().seq == 5
    settings.AUDIT_RETENTION_DAYS = 200
    cp = integrity.prune()
    assert cp.seq == middle[-1].seq and cp.pruned == 5 + 3 + 2
    assert AccessEvent.objects.count() == 0  # `new` came before `middle` in the chain
    assert new[-1].seq < cp.seq
    assert Checkpoint.objects.count() == 2
    assert "0 events verified" in _verify()


def test_nothing_to_prune_changes_nothing(settings):
    settings.AUDIT_RETENTION_DAYS = 200
    write(3)
    assert integrity.prune() is None
    assert AccessEvent.objects.count() == 3 and not Checkpoint.objects.exists()


def test_the_permit_covers_only_the_pruned_events(old_and_new):
    _old, new = old_and_new
    cp = integrity.prune()
    # The permit stays (its table is append-only too) and covers only events now gone.
    assert PrunePermit.objects.get().up_to_seq == cp.seq < new[0].seq
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessEvent.objects.all().delete()
    assert AccessEvent.objects.count() == 3


def test_the_prune_command_reports_the_checkpoint(old_and_new):
    old, _new = old_and_new
    out = StringIO()
    call_command("audit_prune", stdout=out)
    assert f"#{old[-1].seq}" in out.getvalue() and "checkpoint signed" in out.getvalue()


def test_the_prune_task_prunes(old_and_new):
    from audit.tasks import prune_events

    old, _new = old_and_new
    assert prune_events.apply().get() == old[-1].seq
    assert prune_events.apply().get() == 0  # safe to run twice


def test_under_the_default_retention_an_event_just_inside_is_kept(record_at):
    now = timezone.now()
    kept = record_at(now - dt.timedelta(days=1094))
    gone = record_at(now - dt.timedelta(days=1096))
    # `gone` is newer in the chain but older in time: pruning cuts at the newest old event.
    assert gone.seq > kept.seq
    cp = integrity.prune(now=now)
    assert cp is not None and cp.seq == gone.seq


def test_under_the_default_retention_a_recent_year_is_kept(record_at):
    now = timezone.now()
    record_at(now - dt.timedelta(days=1094))
    record_at(now - dt.timedelta(days=400))
    assert integrity.prune(now=now) is None
    assert AccessEvent.objects.count() == 2


def test_a_forged_checkpoint_signature_fails_verification(old_and_new):
    old, _new = old_and_new
    # Someone deletes the old events behind the triggers and writes a checkpoint to hide it.
    tamper("DELETE FROM audit_accessevent WHERE seq <= %s", [old[-1].seq])
    Checkpoint.objects.create(seq=old[-1].seq, hash=old[-1].hash, pruned=5,
                              key_id=integrity._key_id(integrity._signer()),
                              signature="ab" * 64)
    with pytest.raises(CommandError) as failure:
        _verify()
    assert "signature" in str(failure.value)


def test_a_checkpoint_signed_with_another_key_fails_verification(old_and_new):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    old, _new = old_and_new
    tamper("DELETE FROM audit_accessevent WHERE seq <= %s", [old[-1].seq])
    other = Ed25519PrivateKey.generate()
    Checkpoint.objects.create(
        seq=old[-1].seq, hash=old[-1].hash, pruned=5, key_id=integrity._key_id(other),
        signature=other.sign(integrity._statement(old[-1].seq, old[-1].hash, 5)).hex())
    with pytest.raises(CommandError):
        _verify()


def test_a_checkpoint_whose_statement_was_changed_fails(old_and_new):
    integrity.prune()
    tamper("UPDATE audit_checkpoint SET pruned = 1")
    with pytest.raises(CommandError) as failure:
        _verify()
    assert "signature" in str(failure.value)


def test_the_database_refuses_a_permit_written_by_hand(old_and_new):
    # Old enough, but no checkpoint of it.
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        PrunePermit.objects.create(up_to_seq=2)
    assert "prune permit" in str(refused.value)
    assert AccessEvent.objects.count() == 8


def test_the_database_refuses_a_permit_for_recent_events_whatever_the_settings(old_and_new):
    _old, new = old_and_new
    Checkpoint.objects.create(seq=new[0].seq, hash=new[0].hash, pruned=0, key_id="k",
                              signature="00")
    with pytest.raises(DatabaseError), transaction.atomic():
        PrunePermit.objects.create(up_to_seq=new[0].seq)
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessEvent.objects.filter(seq=new[0].seq).delete()


def test_a_permit_written_behind_the_triggers_does_not_hide_a_deletion(old_and_new):
    tamper("INSERT INTO audit_prunepermit (up_to_seq) VALUES (2)")
    AccessEvent.objects.filter(seq__lte=2).delete()
    with pytest.raises(CommandError) as failure:
        _verify()
    assert "#1" in str(failure.value) and "missing" in str(failure.value)
