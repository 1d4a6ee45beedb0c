"""The index of the clients each list or search showed is filled after the fact, completely."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.urls import reverse

from audit import selectors, services, subject_index, tasks
from audit.models import AccessEvent, EventSubject, SubjectIndexState


def _list_event(clients) -> AccessEvent:
    return services.record(actor=None, actor_label="system:test", action="client.list",
                           outcome="allowed", subjects=[c if isinstance(c, uuid.UUID) else c.pk
                                                        for c in clients])


def test_recording_writes_the_event_alone_and_catching_up_indexes_its_subjects(db):
    shown = [uuid.uuid4() for _ in range(3)]
    event = _list_event(shown)
    assert EventSubject.objects.count() == 0
    assert subject_index.catch_up() == 3
    assert set(EventSubject.objects.filter(event_id=event.pk)
               .values_list("client_id", flat=True)) == set(shown)
    assert SubjectIndexState.objects.get(pk=1).seq == event.seq


def test_catching_up_twice_indexes_nothing_twice(db):
    _list_event([uuid.uuid4(), uuid.uuid4()])
    assert subject_index.catch_up() == 2
    assert subject_index.catch_up() == 0
    _list_event([uuid.uuid4()])
    assert subject_index.catch_up() == 1
    assert EventSubject.objects.count() == 3


def test_a_backlog_larger_than_a_batch_is_indexed_in_one_run(db, monkeypatch):
    monkeypatch.setattr(subject_index, "BATCH", 3)
    for _ in range(7):
        _list_event([uuid.uuid4(), uuid.uuid4()])
        services.record(actor=None, actor_label="system:test", action="x", outcome="allowed")
    assert subject_index.catch_up() == 14
    assert EventSubject.objects.count() == 14


def test_a_client_history_includes_pages_shown_a_moment_ago(login, owner, auditor,
                                                            client_record):
    """No beat run between the page view and the auditor's question: the query catches up."""
    login(owner).get(reverse("records:client_list"))
    listed = AccessEvent.objects.filter(action="client.list").latest("seq")
    found = selectors.filtered({"client_code": client_record.code})
    assert listed in found


def test_the_index_is_filled_every_minute_from_beat(db):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-index-subjects"]
    assert entry["task"] == tasks.index_subjects.name and entry["schedule"] == 60
    shown = uuid.uuid4()
    _list_event([shown])
    assert tasks.index_subjects() == 1
    assert EventSubject.objects.filter(client_id=shown).exists()


def test_an_opening_is_indexed_with_its_client_and_code(db):
    client = uuid.uuid4()
    event = services.record(actor=None, actor_label="system:test", action="client.open",
                            outcome="allowed", client_id=client, client_code="BJ-000042")
    assert subject_index.catch_up() == 1
    row = EventSubject.objects.get(event_id=event.pk)
    assert (row.client_id, row.code) == (client, "BJ-000042")


def test_a_code_the_records_no_longer_know_still_finds_its_events(db, settings):
    """A shredded client is gone from records; the log still answers for its code."""
    settings.AUDIT_CLIENT_LOOKUP = ""
    client = uuid.uuid4()
    opened = services.record(actor=None, actor_label="system:test", action="client.open",
                             outcome="allowed", client_id=client, client_code="SH-000007")
    listed = _list_event([client, uuid.uuid4()])
    services.record(actor=None, actor_label="system:test", action="client.open",
                    outcome="allowed", client_id=uuid.uuid4(), client_code="SH-000008")
    assert selectors.client_ids_for_code("sh-000007") == [client]
    found = list(selectors.filtered({"client_code": "sh-000007"}))
    assert found == [listed, opened]


def test_an_index_with_rows_lost_is_rebuilt_from_the_events(db):
    from django.core.management import call_command

    shown = uuid.uuid4()
    listed = _list_event([shown, uuid.uuid4()])
    subject_index.catch_up()
    EventSubject.objects.filter(client_id=shown).delete()  # lost, e.g. a partial restore
    subject_index.catch_up()
    assert not EventSubject.objects.filter(client_id=shown).exists()  # catching up cannot see it
    call_command("audit_reindex")
    assert EventSubject.objects.filter(client_id=shown, event_id=listed.pk).exists()
    assert EventSubject.objects.count() == 2
    assert AccessEvent.objects.filter(action="audit.reindex").latest("seq").detail == {"rows": 2}
