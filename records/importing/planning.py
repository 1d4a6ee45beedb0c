"""Planning an import before anything is written: which rows are new, which match a client
already at the location and what they would change, and which are skipped and why.

Matching uses the blind indexes alone (phone, else email, else name). Telling a changed
client from an unchanged one needs the stored values, so the matched clients are opened
for the comparison: one recorded access for all of them, up to the classes of the columns
in the file. The plan names fields, never values; its digest lets a confirmation check that
nothing moved since the preview.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from vault import blind
from vault.classes import DataClass

from ..models import Client
from ..services import ALL_FIELDS, HEALTH_FIELDS, PROFILE_FIELDS

NEW, CHANGED, UNCHANGED, SKIPPED = "new", "changed", "unchanged", "skipped"
_MATCH_ON = (("phone", "phone", "phone_bidx"), ("email", "email", "email_bidx"),
             ("full_name", "name", "name_bidx"))

# opener(client ids, data class) -> a context in which those clients may be read
Opener = Callable[[list[uuid.UUID], int], AbstractContextManager]


@dataclass
class RowPlan:
    line: int
    outcome: str
    data: dict[str, object] = field(repr=False)  # the row's values: in memory only
    client_id: uuid.UUID | None = None
    code: str = ""
    changed: list[str] = field(default_factory=list)  # field names, never values
    reason: str = ""


@dataclass
class Plan:
    rows: list[RowPlan]
    update: bool

    def of(self, outcome: str) -> list[RowPlan]:
        return [row for row in self.rows if row.outcome == outcome]

    @property
    def matched(self) -> list[RowPlan]:
        return [row for row in self.rows if row.outcome in (CHANGED, UNCHANGED)]

    @property
    def to_write(self) -> list[RowPlan]:
        return self.of(NEW) + (self.of(CHANGED) if self.update else [])

    @property
    def digest(self) -> str:
        """What the plan would do, row by row (no values): equal before and after = same."""
        summary = "|".join(f"{r.line}:{r.outcome}:{r.client_id or ''}:{','.join(r.changed)}"
                           for r in self.rows)
        return hashlib.sha256(f"{self.update}|{summary}".encode()).hexdigest()


def _match_key(data: dict[str, object]) -> tuple[str, str]:
    for name, kind, column in _MATCH_ON:
        if data.get(name):
            return column, blind.terms(kind, str(data[name]))
    return "name_bidx", ""


def _present(location, keys: set[tuple[str, str]]) -> dict[tuple[str, str], list[tuple]]:
    """(column, digest) -> [(client id, code)] of the location's clients that have it."""
    found: dict[tuple[str, str], list[tuple]] = {}
    for _name, _kind, column in _MATCH_ON:
        digests = sorted({d for c, d in keys if c == column and d})
        for i in range(0, len(digests), 500):
            hits = (Client.objects.filter(location=location, **{f"{column}__in": digests[i:i + 500]})
                    .order_by("code").values_list(column, "pk", "code"))
            for digest, pk, code in hits:
                found.setdefault((column, digest), []).append((pk, code))
    return found


def _matched(line: int, data: dict, hits: list[tuple], taken: dict) -> RowPlan:
    if not hits:
        return RowPlan(line, NEW, data)
    if len(hits) > 1:
        codes = ", ".join(code for _pk, code in hits[:5])
        return RowPlan(line, SKIPPED, data, reason=_(
            "Matches %(count)d clients (%(codes)s): which one is meant cannot be told.")
            % {"count": len(hits), "codes": codes})
    pk, code = hits[0]
    if pk in taken:
        return RowPlan(line, SKIPPED, data, pk, code, reason=_(
            "Matches the same client as line %(line)d.") % {"line": taken[pk]})
    taken[pk] = line
    return RowPlan(line, UNCHANGED, data, pk, code)


def _same(name: str, stored: object, new: object) -> bool:
    if stored is None or stored == "":
        return False
    if isinstance(new, dt.date):
        return stored == new
    stored, new = str(stored).strip(), str(new).strip()
    if name == "phone":
        return blind.normalise_phone(stored) == blind.normalise_phone(new)
    if name == "email":
        return stored.casefold() == new.casefold()
    return stored == new


def _stored(client: Client, name: str) -> object:
    holder: object = client
    for related, fields in (("profile", PROFILE_FIELDS), ("health", HEALTH_FIELDS)):
        if name in fields:
            holder = getattr(client, related, None)
    return getattr(holder, name, None) if holder is not None else None


def _compare(rows: list[RowPlan], opener: Opener) -> None:
    want = max((ALL_FIELDS[n] for row in rows for n in row.data), default=DataClass.L2)
    ids = [row.client_id for row in rows]
    with opener(ids, want):
        clients = Client.objects.select_related("profile", "health").in_bulk(ids)
        for row in rows:
            client = clients[row.client_id]
            row.changed = [n for n, v in row.data.items() if not _same(n, _stored(client, n), v)]
    for row in rows:
        if row.changed:
            row.outcome = CHANGED


def match_rows(*, location, rows: Iterable[tuple[int, dict[str, object]]],
               update: bool) -> Plan:
    """Sort the checked rows into new, matched (for now: unchanged) and skipped, through
    the blind indexes alone. Reads no value and writes nothing."""
    rows = list(rows)
    keys = [_match_key(data) for _line, data in rows]
    present = _present(location, set(keys))
    taken: dict[uuid.UUID, int] = {}
    plans = [_matched(line, data, present.get(key, []), taken)
             for (line, data), key in zip(rows, keys, strict=True)]
    return Plan(plans, update)


def compare(plan: Plan, opener: Opener) -> Plan:
    """Tell the matched rows that would change their client (and which fields) from the rest."""
    matched = plan.matched
    if matched:
        _compare(matched, opener)
    return plan
