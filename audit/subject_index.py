"""Filling the client index of the audit log (EventSubject) after the fact.

The client an event opened and the clients a list showed are part of the event, hashed
into the chain and committed before the access happens. The index beside them only serves
the auditor's queries ("every event that named this client"), so it is written here, in
batches, rather than while a member of staff waits for a page.
"""

from __future__ import annotations

from django.db import transaction

from .models import AccessEvent, EventSubject, SubjectIndexState

BATCH = 5_000  # events read per query


def catch_up() -> int:
    """Index the subjects of every event recorded since the last run; returns how many
    index rows were written. Runs one at a time (the state row is locked)."""
    written = 0
    with transaction.atomic():
        state = SubjectIndexState.objects.select_for_update().filter(pk=1).first()
        if state is None:
            state = SubjectIndexState.objects.create(pk=1, seq=0)
        start = state.seq
        while True:
            rows = list(AccessEvent.objects.filter(seq__gt=state.seq).order_by("seq")
                        .values_list("id", "seq", "client_id", "client_code", "subjects")[:BATCH])
            if not rows:
                break
            entries = [entry for row in rows for entry in _entries(*row)]
            EventSubject.objects.bulk_create(entries, batch_size=1_000)
            written += len(entries)
            state.seq = rows[-1][1]
        if state.seq != start:
            state.save(update_fields=["seq"])
    return written


def rebuild() -> int:
    """Make the index anew from the events (after a restore, or if rows of it were lost):
    the events are the evidence, the index only ever a copy of what they say."""
    with transaction.atomic():
        state = SubjectIndexState.objects.select_for_update().filter(pk=1).first()
        EventSubject.objects.all().delete()
        if state is None:
            SubjectIndexState.objects.create(pk=1, seq=0)
        else:
            state.seq = 0
            state.save(update_fields=["seq"])
        return catch_up()


def _entries(pk, _seq, client_id, code, subjects) -> list[EventSubject]:
    """The index rows of one event: the client it opened, then those it showed."""
    entries = [EventSubject(event_id=pk, client_id=client_id, code=code)] if client_id else []
    entries += [EventSubject(event_id=pk, client_id=subject) for subject in subjects or ()
                if str(subject) != str(client_id)]
    return entries
