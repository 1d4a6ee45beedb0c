"""Tamper evidence: the events form a hash chain, the database refuses to change or delete
them, and `audit_verify` names the first broken link of a chain altered behind its back."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit import chain
from audit.models import AccessEvent, ChainHead, Checkpoint, VerificationRun
from tests.audit.conftest import events, tamper, triggers_lifted, write


def _verify() -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def _broken() -> str:
    with pytest.raises(CommandError) as failure:
        _verify()
    return str(failure.value)


@pytest.fixture
def ten():
    return write(10, action="client.open", purpose="test")


def test_each_event_links_to_the_one_before(ten):
    rows = events()
    assert [e.seq for e in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == chain.GENESIS
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.hash
    for event in rows:
        values = {name: getattr(event, name) for name in chain.FIELDS}
        assert chain.digest(values) == event.hash


def test_the_head_names_the_last_event(ten):
    head = ChainHead.objects.get()
    assert (head.seq, head.hash) == (ten[-1].seq, ten[-1].hash)


def test_the_hash_covers_every_field(ten):
    event = ten[4]
    values = {name: getattr(event, name) for name in chain.FIELDS}
    for name, other in (("actor_label", "someone else"), ("action", "client.list"),
                        ("outcome", "denied"), ("purpose", "x"), ("client_code", "BJ-9"),
                        ("data_class", 1), ("break_glass", True), ("detail", {"a": 1}),
                        ("ip", "10.0.0.1"), ("request_id", "f" * 32), ("subjects", ["x"])):
        assert chain.digest(values | {name: other}) != event.hash, name


def test_an_intact_chain_verifies_and_prints_the_count(ten):
    out = _verify()
    assert "intact" in out and f"{len(events())} events verified" in out
    run = VerificationRun.objects.get()
    assert run.ok and run.checked == len(events()) and run.first_bad_seq is None


def test_an_empty_chain_verifies(db):
    assert "0 events verified" in _verify()


def test_an_altered_event_is_found_and_named(ten):
    tamper("UPDATE audit_accessevent SET actor_label = %s WHERE seq = %s", ["nobody", 4])
    message = _broken()
    assert "#4" in message and "altered" in message
    run = VerificationRun.objects.get()
    assert not run.ok and run.first_bad_seq == 4


def test_an_altered_event_with_a_recomputed_hash_breaks_the_next_link(ten):
    event = AccessEvent.objects.get(seq=6)
    values = {name: getattr(event, name) for name in chain.FIELDS} | {"outcome": "denied"}
    tamper("UPDATE audit_accessevent SET outcome = %s, hash = %s WHERE seq = %s",
           ["denied", chain.digest(values), 6])
    message = _broken()
    assert "#7" in message and "does not link" in message


def test_a_deleted_middle_event_is_reported_missing(ten):
    tamper("DELETE FROM audit_accessevent WHERE seq = %s", [5])
    message = _broken()
    assert "#5" in message and "missing" in message


def test_a_truncated_tail_is_detected_by_the_head(ten):
    tamper("DELETE FROM audit_accessevent WHERE seq > %s", [7])
    message = _broken()
    assert "#8" in message and "removed" in message


def test_verification_after_tampering_fails_again_the_next_time(ten):
    tamper("UPDATE audit_accessevent SET purpose = %s WHERE seq = %s", ["hidden", 2])
    _broken()
    _broken()
    assert VerificationRun.objects.filter(ok=False).count() == 2


def test_the_triggers_are_back_after_tampering(ten):
    tamper("UPDATE audit_accessevent SET purpose = %s WHERE seq = %s", ["hidden", 2])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_accessevent SET purpose = 'again' WHERE seq = 3")


@pytest.mark.parametrize("sql", [
    "UPDATE audit_accessevent SET actor_label = 'nobody' WHERE seq = 3",
    "UPDATE audit_accessevent SET hash = prev_hash",
    "DELETE FROM audit_accessevent WHERE seq = 3",
    "DELETE FROM audit_accessevent",
])
def test_the_database_refuses_to_change_or_delete_events(ten, sql):
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(sql)
    assert "append-only" in str(refused.value)
    assert AccessEvent.objects.count() == 10
    assert AccessEvent.objects.get(seq=3).actor_label == "system:test"
    assert "intact" in _verify()


def test_the_orm_cannot_change_or_delete_events_either(ten):
    event = AccessEvent.objects.get(seq=2)
    event.purpose = "rewritten"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessEvent.objects.filter(seq__lte=3).delete()
    assert AccessEvent.objects.count() == 10


def test_checkpoints_and_the_change_log_are_append_only_too(ten, owner, client_record):
    from auditlog.models import LogEntry

    assert LogEntry.objects.exists()
    Checkpoint.objects.create(seq=1, hash=ten[0].hash, pruned=0, key_id="k", signature="00")
    for sql in ("UPDATE audit_checkpoint SET signature = 'ff'",
                "DELETE FROM audit_checkpoint",
                "UPDATE auditlog_logentry SET object_repr = 'x'",
                "DELETE FROM auditlog_logentry"):
        with pytest.raises(DatabaseError), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(sql)


def test_the_triggers_exist_in_the_database(db):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            names = {row[0] for row in cursor.fetchall()}
            assert {"audit_accessevent_no_update", "audit_accessevent_no_delete"} <= names
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            names = {row[0] for row in cursor.fetchall()}
            assert "audit_accessevent_append_only" in names


def test_triggers_lifted_then_reinstalled_guard_again(db):
    with triggers_lifted():
        pass
    write(1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_accessevent")


def test_the_verify_task_records_an_intact_chain_shown_to_the_auditor(ten, login, auditor):
    from audit.tasks import verify_chain

    assert verify_chain.apply().get() is True
    page = login(auditor).get(reverse("audit:events")).content.decode()
    assert "Chain intact" in page and "Chain broken" not in page


def test_the_verify_task_records_a_broken_chain_shown_to_the_auditor(ten, login, auditor):
    from audit.tasks import verify_chain

    tamper("UPDATE audit_accessevent SET client_code = %s WHERE seq = %s", ["XX-1", 3])
    assert verify_chain.apply().get() is False
    page = login(auditor).get(reverse("audit:events")).content.decode()
    assert "Chain broken" in page and "#3" in page and "Chain intact" not in page


def test_before_any_verification_the_page_says_so(login, auditor):
    page = login(auditor).get(reverse("audit:events")).content.decode()
    assert "has not been verified yet" in page


def test_an_event_naming_thousands_of_clients_is_indexed_in_full_and_verifies(db):
    import uuid

    from audit import services, subject_index
    from audit.models import EventSubject

    subjects = [uuid.uuid4() for _ in range(1_234)]  # more than one batch of index rows
    event = services.record(actor=None, actor_label="system:import", action="client.import",
                            outcome="allowed", subjects=subjects)
    services.record(actor=None, actor_label="system:test", action="x", outcome="allowed")
    assert subject_index.catch_up() == 1_234
    stored = set(EventSubject.objects.filter(event_id=event.pk).values_list("client_id", flat=True))
    assert stored == set(subjects)
    call_command("audit_verify", "--full")
    assert AccessEvent.objects.get(pk=event.pk).hash == event.hash
