"""Filling the client index of list and search events (EventSubject) after the fact.

An event's subjects are part of the event, hashed into the chain and committed before the
access happens. The index beside them only serves the auditor's queries ("every event that
showed this client"), so it is written here, in batches, rather than row by row while a
member of staff waits for a page.
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
                        .values_list("id", "seq", "subjects")[:BATCH])
            if not rows:
                break
            EventSubject.objects.bulk_create(
                [EventSubject(event_id=pk, client_id=client)
                 for pk, _seq, subjects in rows for client in subjects or ()],
                batch_size=1_000)
            written += sum(len(subjects or ()) for _pk, _seq, subjects in rows)
            state.seq = rows[-1][1]
        if state.seq != start:
            state.save(update_fields=["seq"])
    return written
