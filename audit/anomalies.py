"""Anomaly rules over the access events. Each hit raises one alert (idempotent by key)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from . import actions
from .models import AccessEvent, Alert

OPENINGS = (actions.CLIENT_OPEN, actions.PHOTO_VIEW, actions.FORM_VIEW,
            actions.CLIENT_OPEN_FOR_EDIT)
LOOKBACK = dt.timedelta(hours=3)


def _opening_hours() -> tuple[dt.time, dt.time]:
    start, end = settings.OPENING_HOURS.split("-")
    return dt.time.fromisoformat(start), dt.time.fromisoformat(end)


def _raise(rule: str, key: str, *, actor_id, label: str, start: dt.datetime,
           end: dt.datetime, count: int, detail: dict) -> Alert | None:
    alert, created = Alert.objects.get_or_create(key=f"{rule}:{key}", defaults={
        "rule": rule, "actor_id": actor_id, "actor_label": label, "window_start": start,
        "window_end": end, "count": count, "detail": detail})
    if not created and alert.count != count:
        Alert.objects.filter(pk=alert.pk).update(count=count)
    return alert if created else None


def _hourly(events, threshold: int, rule: str, distinct: str | None = None) -> list[Alert]:
    counter = Count(distinct, distinct=True) if distinct else Count("id")
    rows = (events.annotate(hour=TruncHour("at")).values("hour", "actor_id", "actor_label")
            .annotate(n=counter).filter(n__gte=threshold))
    raised = []
    for row in rows:
        start = row["hour"]
        alert = _raise(rule, f"{row['actor_label']}:{start:%Y%m%d%H}", actor_id=row["actor_id"],
                       label=row["actor_label"], start=start,
                       end=start + dt.timedelta(hours=1), count=row["n"],
                       detail={"threshold": threshold})
        if alert:
            raised.append(alert)
    return raised


def _per_event(events, rule: str, detail_of) -> list[Alert]:
    raised = []
    for event in events:
        alert = _raise(rule, str(event.seq), actor_id=event.actor_id, label=event.actor_label,
                       start=event.at, end=event.at, count=1, detail=detail_of(event))
        if alert:
            raised.append(alert)
    return raised


def detect(*, now: dt.datetime | None = None) -> list[Alert]:
    """Run every rule over the recent events; returns the alerts newly raised."""
    now = now or timezone.now()
    recent = AccessEvent.objects.filter(at__gte=now - LOOKBACK, at__lte=now)
    staff = recent.filter(actor__isnull=False)
    raised = _hourly(staff.filter(action__in=OPENINGS, outcome="allowed"),
                     settings.ANOMALY_CLIENTS_PER_HOUR, Alert.Rule.MANY_CLIENTS, "client_id")
    raised += _hourly(recent.filter(outcome="denied"), settings.ANOMALY_DENIALS_PER_HOUR,
                      Alert.Rule.DENIALS)
    raised += _per_event(recent.filter(action=actions.BREAK_GLASS_OPEN), Alert.Rule.BREAK_GLASS,
                         lambda e: {"client_code": e.client_code, "seq": e.seq})
    # The door notes `granted` only for roles whose full record hangs on an assignment,
    # so audit needs no list of roles here.
    raised += _per_event(
        staff.filter(action=actions.CLIENT_OPEN, outcome="allowed", detail__granted=False),
        Alert.Rule.UNASSIGNED, lambda e: {"client_code": e.client_code, "seq": e.seq})
    raised += _per_event(
        recent.filter(action__in=(actions.AUDIT_EXPORT_CSV, actions.AUDIT_EXPORT_JSONL),
                      detail__rows__gte=settings.ANOMALY_EXPORT_ROWS),
        Alert.Rule.LARGE_EXPORT, lambda e: {"rows": e.detail.get("rows"), "seq": e.seq})
    raised += _off_hours(staff.filter(Q(client_id__isnull=False) | ~Q(subjects=[])))
    return raised


def _location_zone(location_code: str) -> ZoneInfo:
    """The clock a location keeps its opening hours by (TIME_ZONE unless it is named)."""
    return ZoneInfo(settings.LOCATION_TIME_ZONES.get(location_code, settings.TIME_ZONE))


def _off_hours(events) -> list[Alert]:
    """One alert per person per night: every client access outside the opening hours of
    the client's location, on that location's clock."""
    opens, closes = _opening_hours()
    nights: dict[tuple, list[AccessEvent]] = {}
    for event in events.order_by("seq"):
        local = timezone.localtime(event.at, _location_zone(event.location_code))
        if not opens <= local.time() < closes:
            nights.setdefault((event.actor_id, event.actor_label, local.date()), []).append(event)
    raised = []
    for (actor_id, label, day), hits in nights.items():
        zone = _location_zone(hits[0].location_code).key
        alert = _raise(Alert.Rule.OFF_HOURS, f"{label}:{day:%Y%m%d}", actor_id=actor_id,
                       label=label, start=hits[0].at, end=hits[-1].at, count=len(hits),
                       detail={"first_seq": hits[0].seq, "opening_hours": settings.OPENING_HOURS,
                               "time_zone": zone})
        if alert:
            raised.append(alert)
    return raised
