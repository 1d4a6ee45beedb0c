"""Writing a planned import in short transactions, and taking it all back if one fails.

Why batches: on SQLite one writer holds the database at a time, and an opening of a record
writes its audit event. An import written in one transaction kept every member of staff
from opening a record until it ended. Here each batch of BATCH rows is its own short
transaction, and on SQLite the import steps aside between batches for long enough that a
waiting writer, which polls the lock every 100 ms at most, gets it.

Why undo rather than a hidden staging state: a staging flag on clients would have to be
honoured by every query of the project, forever; an import that fails is rare. So when a
batch fails, its own transaction rolls back (its new data keys go with it, see
vault.rollback), and what the earlier batches committed is removed or put back: the new
clients and their data keys are deleted, and the clients that were updated get their
stored ciphertext and blind indexes back, byte for byte. Until then, the new clients of
earlier batches are visible at the location for a moment, as they would be had someone
typed them in. The client codes they took are not given back, since creates by staff may
have taken later ones meanwhile: the numbering has a gap.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from auditlog.context import disable_auditlog
from django.db import connections, transaction

from vault import keystore
from vault import scope as vault_scope
from vault.fields import personal_field_names

from ..models import BeautyProfile, Client, HealthNote
from ..services import CLIENT_FIELDS, HEALTH_FIELDS, PROFILE_FIELDS
from .planning import RowPlan

BATCH = 200
SQLITE_PAUSE = 0.1  # seconds between batches: SQLite's busy handler polls at most this often
_RELATED = ((BeautyProfile, PROFILE_FIELDS, "profile"), (HealthNote, HEALTH_FIELDS, "health"))


@dataclass
class Progress:
    """What the committed batches wrote, so that it can be taken back."""

    created: list[uuid.UUID] = field(default_factory=list)
    # model -> pk -> stored personal columns (ciphertext, blind indexes) before the update
    before: dict[type, dict[object, dict]] = field(default_factory=dict)
    updated_clients: list[uuid.UUID] = field(default_factory=list)


def chunks(items: Sequence, size: int | None = None) -> Iterator[Sequence]:
    size = size or BATCH  # looked up now, so that a test can make batches small
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _pick(data: dict[str, object], names) -> dict[str, object]:
    return {name: data[name] for name in names if name in data}


def _step_aside() -> None:
    if connections["default"].vendor == "sqlite":
        time.sleep(SQLITE_PAUSE)


def create_batch(location, rows: Sequence[tuple[uuid.UUID, str, RowPlan]],
                 progress: Progress) -> None:
    ids = [pk for pk, _code, _row in rows]
    clients, profiles, notes = [], [], []
    for pk, code, row in rows:
        clients.append(Client(id=pk, code=code, location=location,
                              **_pick(row.data, CLIENT_FIELDS)))
        if profile := _pick(row.data, PROFILE_FIELDS):
            profiles.append(BeautyProfile(client_id=pk, **profile))
        if health := _pick(row.data, HEALTH_FIELDS):
            notes.append(HealthNote(client_id=pk, **health))
    # The keys commit first (vault database): should the rows then fail to commit, the
    # rollback hook takes the keys back.
    with transaction.atomic(using="default"), transaction.atomic(using="vault"):
        vault_scope.current().create_keys(ids)
        Client.objects.bulk_create(clients)
        BeautyProfile.objects.bulk_create(profiles)
        HealthNote.objects.bulk_create(notes)
    progress.created += ids
    _step_aside()


def _remember(progress: Progress, ids: list[uuid.UUID]) -> None:
    for model, key in ((Client, "pk"), (BeautyProfile, "client_id"), (HealthNote, "client_id")):
        columns = personal_field_names(model)
        rows = model.objects.filter(**{f"{key}__in": ids}).values("pk", *columns)
        progress.before.setdefault(model, {}).update({row.pop("pk"): row for row in rows})


def _apply(client: Client, data: dict[str, object]) -> None:
    for name in CLIENT_FIELDS.keys() & data.keys():
        setattr(client, name, data[name])
    client.save()
    for model, fields, related in _RELATED:
        names = fields.keys() & data.keys()
        if names:
            row = getattr(client, related, None) or model(client=client)
            for name in names:
                setattr(row, name, data[name])
            row.save()


def update_batch(rows: Sequence[RowPlan], progress: Progress) -> None:
    """Write the changed fields of matched clients; empty cells never erase anything."""
    ids = [row.client_id for row in rows]
    with transaction.atomic():
        _remember(progress, ids)
        progress.updated_clients += ids
        clients = Client.objects.select_related("profile", "health").in_bulk(ids)
        for row in rows:
            _apply(clients[row.client_id], {name: row.data[name] for name in row.changed})
    _step_aside()


def undo(progress: Progress) -> None:
    """Take back what the committed batches wrote (see the module's docstring)."""
    with disable_auditlog():
        for ids in chunks(progress.created):
            with transaction.atomic():
                Client.objects.filter(pk__in=ids).delete()
        keystore.discard(progress.created)
        for ids in chunks(progress.updated_clients):
            with transaction.atomic():
                _put_back(progress, ids)


def _put_back(progress: Progress, ids: Sequence[uuid.UUID]) -> None:
    for model, key in ((Client, "pk"), (BeautyProfile, "client_id"), (HealthNote, "client_id")):
        before = progress.before.get(model, {})
        for pk in model.objects.filter(**{f"{key}__in": ids}).values_list("pk", flat=True):
            if pk in before:
                model.objects.filter(pk=pk).update(**before[pk])
            else:  # made by the import for a client who had none
                model.objects.filter(pk=pk).delete()
