"""Writing the checked rows: skip clients already present, open the door, insert the rest in
one transaction. `clients_import` runs the whole import."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from access import door
from access.models import Location
from records.maintenance import LARGE_WRITE, refresh_statistics
from vault import blind
from vault import scope as vault_scope
from vault.classes import DataClass

from ..models import BeautyProfile, Client, HealthNote
from ..services import ALL_FIELDS, CLIENT_FIELDS, HEALTH_FIELDS, PROFILE_FIELDS, next_client_codes
from .checking import RowError, check_rows
from .columns import LABELS
from .reading import Sheet, _is_blank, parse_spreadsheet, read_upload

# The package's name, as when this was one module: log settings may name it.
log = logging.getLogger("records.importing")

BATCH = 1000


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _match_key(data: dict[str, object]) -> tuple[str, str]:
    """The blind index a row is matched on: phone if it has one, else email, else name."""
    for name, kind, column in (("phone", "phone", "phone_bidx"), ("email", "email", "email_bidx"),
                               ("full_name", "name", "name_bidx")):
        if data.get(name):
            return column, blind.terms(kind, str(data[name]))
    return "name_bidx", ""


def _present(location: Location, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for column in ("phone_bidx", "email_bidx", "name_bidx"):
        digests = sorted({d for c, d in keys if c == column and d})
        for i in range(0, len(digests), 500):
            hits = (Client.objects.filter(location=location, **{f"{column}__in": digests[i:i + 500]})
                    .values_list(column, flat=True))
            found |= {(column, digest) for digest in hits}
    return found


def _split_present(location: Location, rows: list[dict[str, object]]
                   ) -> tuple[list[dict[str, object]], int]:
    keys = [_match_key(data) for data in rows]
    present = _present(location, set(keys))
    fresh = [data for data, key in zip(rows, keys, strict=True) if key not in present]
    return fresh, len(rows) - len(fresh)


def _pick(data: dict[str, object], names: Iterable[str]) -> dict[str, object]:
    return {name: data[name] for name in names if name in data}


def _write(location: Location, ids: list[uuid.UUID], rows: list[dict[str, object]]) -> None:
    # Keys commit first: if the records then fail to commit, only unused keys remain.
    with transaction.atomic(using="default"), transaction.atomic(using="vault"):
        vault_scope.current().create_keys(ids)
        codes = next_client_codes(location, len(rows))
        clients, profiles, notes = [], [], []
        for pk, code, data in zip(ids, codes, rows, strict=True):
            clients.append(Client(id=pk, code=code, location=location,
                                  **_pick(data, CLIENT_FIELDS)))
            if profile := _pick(data, PROFILE_FIELDS):
                profiles.append(BeautyProfile(client_id=pk, **profile))
            if health := _pick(data, HEALTH_FIELDS):
                notes.append(HealthNote(client_id=pk, **health))
        Client.objects.bulk_create(clients, batch_size=BATCH)
        BeautyProfile.objects.bulk_create(profiles, batch_size=BATCH)
        HealthNote.objects.bulk_create(notes, batch_size=BATCH)


def _needed_class(rows: list[dict[str, object]]) -> int:
    return max((ALL_FIELDS[name] for row in rows for name in row), default=DataClass.L2)


def _opening(*, user, location: Location, ids: list[uuid.UUID], want: int, username: str):
    if user is None:  # the command line: a named system job
        purpose = f"import {len(ids)} clients from spreadsheet by {username}"
        return door.open_for_system(actor="import", purpose=purpose, subjects=ids, create=True)
    return door.open_new_clients(user=user, location=location, subjects=ids, want=want,
                                 purpose=N_("import clients from spreadsheet"))


def _insert(*, location: Location, rows: list[dict[str, object]], username: str,
            user=None) -> None:
    ids = [uuid.uuid4() for _row in rows]
    with _opening(user=user, location=location, ids=ids, want=_needed_class(rows),
                  username=username):
        _write(location, ids, rows)


def _check_ceiling(user, location: Location, sheet: Sheet) -> None:
    """A user imports only what they could write by hand: no health notes beyond their role."""
    if user is None:
        return
    ceiling = door.ceiling_for_new_client(user, location)
    beyond = sorted({name for _line, row in sheet.rows for name, value in row.items()
                     if ALL_FIELDS.get(name, 0) > ceiling and not _is_blank(value)})
    if beyond:
        raise ValidationError(
            _("Your role may not import these columns: %(columns)s. Remove them, or ask the "
              "owner to import the file.")
            % {"columns": ", ".join(str(LABELS.get(n, n)) for n in beyond)})


def clients_import(*, upload, location: Location, username: str, user=None,
                   dry_run: bool = False) -> ImportResult:
    """Import the clients of one spreadsheet into `location`, all or nothing.

    Raises ValidationError when the file as a whole cannot be read (type, size, encoding,
    no name column, too many rows). Otherwise returns an ImportResult: with errors, nothing
    was written; without, `created` clients were written in one transaction and `skipped`
    rows matched clients already present. `username` goes into the audit purpose.
    """
    sheet = parse_spreadsheet(data=read_upload(upload), filename=getattr(upload, "name", ""))
    _check_ceiling(user, location, sheet)
    rows, errors = check_rows(sheet.rows)
    result = ImportResult(rows=len(sheet.rows), errors=errors,
                          ignored_columns=sheet.ignored_columns, dry_run=dry_run)
    if errors:
        return result
    fresh, result.skipped = _split_present(location, [data for _line, data in rows])
    result.created = len(fresh)
    if fresh and not dry_run:
        _insert(location=location, rows=fresh, username=username, user=user)
        if len(fresh) >= LARGE_WRITE:
            refresh_statistics()
    log.info("client import into %s by %s: %d created, %d already present%s", location.code,
             username, result.created, result.skipped, " (dry run)" if dry_run else "")
    return result
