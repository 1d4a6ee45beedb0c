"""Reads of client records: only ever the clients the user may see."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from access import door, policy
from access.door import AccessDenied
from audit import actions
from audit.selectors import normal_code
from vault import blind

from .models import Client


def clients_visible_to(user, *, decider: policy.Decider | None = None) -> QuerySet[Client]:
    allowed = (decider or policy.Decider(user)).visible_filter()
    if allowed is None:
        return Client.objects.none()
    return Client.objects.filter(allowed)


def client_for(user, pk: uuid.UUID | str, *, decider: policy.Decider | None = None,
               related: tuple[str, ...] = ()) -> Client:
    """The client, or the same 404 whether it is missing or not the user's to see.
    `related`: one-to-one parts the page shows, read in the same query (ciphertext)."""
    try:
        client = (Client.objects.select_related("location", "assigned_staff__staff", *related)
                  .get(pk=pk))
    except (Client.DoesNotExist, ValueError, ValidationError):
        client = None
    # The same rule as clients_visible_to, decided on the one row.
    if client is None or not (decider or policy.Decider(user)).may_see(client):
        # Recorded either way (missing or not theirs), so probing shows in the audit log.
        door.record_denied(user=user, action=actions.CLIENT_OPEN, client_id=_uuid_or_none(pk))
        raise AccessDenied()
    return client


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def classify_query(q: str) -> tuple[str, Q]:
    """Turn a search box entry into a blind-index lookup. Returns (kind, filter)."""
    q = q.strip()
    if "@" in q:
        return blind.EMAIL, Q(email_bidx=blind.terms(blind.EMAIL, q))
    digits = re.sub(r"\D", "", q)
    if digits and re.fullmatch(r"[\d\s+\-()]+", q):
        if len(digits) == 4:
            return blind.PHONE_LAST4, Q(phone_last4_bidx=blind.terms(blind.PHONE_LAST4, q))
        return blind.PHONE, Q(phone_bidx=blind.terms(blind.PHONE, q))
    name = Q(name_bidx=blind.terms(blind.NAME, q))
    surname = blind.terms(blind.SURNAME, q)
    if surname and len(blind.normalise_name(q)) <= 2:
        # A short entry may be a surname alone (张, 欧阳) or a two-character full name.
        return blind.NAME, name | Q(surname_bidx=surname)
    if surname and " " not in q.strip() and not blind._is_cjk(q):
        return blind.NAME, name | Q(surname_bidx=surname)
    return blind.NAME, name


def client_search(user, q: str, *,
                  decider: policy.Decider | None = None) -> tuple[str, QuerySet[Client]]:
    kind, condition = classify_query(q)
    return kind, clients_visible_to(user, decider=decider).filter(condition)


def client_ids_for_code(code: str) -> list[uuid.UUID]:
    """Ids of the clients with this code (L1), for the audit log's client history."""
    # Codes are made upper-case (BJ-000123): an exact match on the unique index.
    return list(Client.objects.filter(code=normal_code(code)).values_list("pk", flat=True))


@dataclass(frozen=True)
class CodePage:
    """A page of clients in code order, reached by the codes at its edges (keyset paging:
    every page costs the same, however deep, and needs no count of the whole list)."""

    rows: list
    previous_before: str  # link to the page before: ?before=<first code>; "" when first
    next_after: str  # link to the page after: ?after=<last code>; "" when last


def cursor_from(params) -> dict[str, str]:
    """The page cursor of a request's query string: at most one of after/before."""
    after = params.get("after", "").strip()[:32]
    before = "" if after else params.get("before", "").strip()[:32]
    return {"after": after, "before": before}


def code_page(qs: QuerySet, *, after: str = "", before: str = "", size: int = 50) -> CodePage:
    return merged_code_page([qs], after=after, before=before, size=size)


def visible_code_page(user, *, condition: Q | None = None, fields: tuple[str, ...] = (),
                      after: str = "", before: str = "", size: int = 50,
                      decider: policy.Decider | None = None) -> CodePage:
    """A page of the clients the user may see (that match `condition`: a search), each
    part of the rule read on its own index (policy.visible_parts), so that a page costs
    the same for every location. `fields`: only these columns (a list shows a few)."""
    parts = _visible_parts(user, condition or Q(), decider)
    return merged_code_page([part.only(*fields) if fields else part for part in parts],
                            after=after, before=before, size=size)


def visible_count(user, *, condition: Q, decider: policy.Decider | None = None) -> int:
    """How many clients the user may see match `condition` (the parts are disjoint)."""
    return sum(part.count() for part in _visible_parts(user, condition, decider))


def _visible_parts(user, condition: Q, decider: policy.Decider | None) -> list[QuerySet[Client]]:
    parts = (decider or policy.Decider(user)).visible_parts()
    return [_part_in_code_order(part).filter(condition) for part in parts or ()]


def _part_in_code_order(part: policy.VisiblePart) -> QuerySet[Client]:
    qs = Client.objects.filter(part.filter)
    if part.location_id is None:
        return qs.order_by("code")
    # One location, read on the (location, code) index. Not "location = x": PostgreSQL
    # drops a column fixed by "=" from the order, then prefers the unique code index
    # and filters it, reading every client of the locations whose codes sort first
    # (55,000 rows for page 1 of the second location at 100,000 clients). A range of
    # one value keeps the order (location, code), which only that index gives.
    return (qs.filter(location_id__gte=part.location_id, location_id__lte=part.location_id)
            .order_by("location_id", "code"))


def _edge(parts: list[QuerySet], condition: Q, descending: bool, size: int) -> list:
    """The first size + 1 rows of the parts together, each part read in its own order
    (code, or location then code) and merged by code."""
    rows = {}
    for qs in parts:
        order = qs.query.order_by or ("code",)
        if descending:
            order = [f"-{field}" for field in order]
        rows.update((row.pk, row) for row in qs.filter(condition).order_by(*order)[:size + 1])
    return sorted(rows.values(), key=lambda row: row.code, reverse=descending)[:size + 1]


def merged_code_page(parts: list[QuerySet], *, after: str = "", before: str = "",
                     size: int = 50) -> CodePage:
    if before:
        rows = _edge(parts, Q(code__lt=before), True, size)
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return CodePage(rows, rows[0].code if more_before and rows else "",
                        rows[-1].code if rows else "")
    rows = _edge(parts, Q(code__gt=after) if after else Q(), False, size)
    more_after = len(rows) > size
    rows = rows[:size]
    return CodePage(rows, rows[0].code if after and rows else "",
                    rows[-1].code if more_after else "")
