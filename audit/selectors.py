"""Reads of the audit log for the auditor's pages: filters, keyset pages, aggregates."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils.module_loading import import_string

from .models import AccessEvent, EventSubject

PAGE = 50


def filtered(data: dict) -> QuerySet[AccessEvent]:
    """Events matching the cleaned filter form data, newest first."""
    qs = AccessEvent.objects.all()
    if data.get("person"):
        qs = qs.filter(actor=data["person"])
    if data.get("client_code"):
        ids = client_ids_for_code(data["client_code"])
        qs = qs.filter(Q(client_id__in=ids)
                       | Q(pk__in=EventSubject.objects.filter(client_id__in=ids).values("event_id"))
                       | Q(client_code__iexact=data["client_code"]))
    if data.get("action"):
        qs = qs.filter(action__startswith=data["action"])
    if data.get("data_class") not in (None, ""):
        qs = qs.filter(data_class=data["data_class"])
    if data.get("outcome"):
        qs = qs.filter(outcome=data["outcome"])
    if data.get("break_glass") in ("yes", "no"):
        qs = qs.filter(break_glass=data["break_glass"] == "yes")
    if data.get("location"):
        qs = qs.filter(location_code__iexact=data["location"])
    if data.get("since"):
        qs = qs.filter(at__gte=data["since"])
    if data.get("until"):
        qs = qs.filter(at__lt=data["until"])
    return qs.order_by("-seq")


def client_ids_for_code(code: str) -> list[uuid.UUID]:
    """The client behind a code: as the events name it, and as the records name it (through
    AUDIT_CLIENT_LOOKUP, since audit has no client table of its own)."""
    ids = set(AccessEvent.objects.filter(client_code__iexact=code, client_id__isnull=False)
              .values_list("client_id", flat=True).distinct()[:5])
    lookup = getattr(settings, "AUDIT_CLIENT_LOOKUP", "")
    if lookup:
        ids |= set(import_string(lookup)(code))
    return sorted(ids)


def page(qs: QuerySet[AccessEvent], before: int | None) -> tuple[list[AccessEvent], int | None]:
    """One page of events older than `before` (keyset paging stays fast on millions)."""
    if before:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.select_related("actor")[:PAGE + 1])
    older = rows[PAGE - 1].seq if len(rows) > PAGE else None
    return rows[:PAGE], older


def per_day(qs: QuerySet[AccessEvent], days: int = 30, *, today: dt.date) -> list[dict]:
    since = today - dt.timedelta(days=days - 1)
    counts = dict(qs.order_by().filter(at__date__gte=since).annotate(day=TruncDate("at"))
                  .values_list("day").annotate(n=Count("id")).values_list("day", "n"))
    return [{"day": since + dt.timedelta(days=i), "n": counts.get(since + dt.timedelta(days=i), 0)}
            for i in range(days)]


def per_person(qs: QuerySet[AccessEvent], limit: int = 15) -> list[dict]:
    return list(qs.order_by().values("actor_label").annotate(n=Count("id"))
                .order_by("-n")[:limit])


def with_bars(rows: list[dict]) -> list[dict]:
    top = max((r["n"] for r in rows), default=0) or 1
    return [r | {"pct": round(100 * r["n"] / top)} for r in rows]
