"""Reads of the audit log for the auditor's pages: filters, keyset pages, aggregates.

Every condition here is written so that an index of `AccessEvent` answers it on a log of
millions of events (see the indexes in audit/models.py):

- client codes are matched exactly: records makes them upper-case
  (`records.services.next_client_codes`), so the user's input is normalised the same way;
- every way an event can name a client (opened it, listed or found it, by code) is looked
  up first in the client index (EventSubject, filled after the fact), as a list of event
  ids, so the log itself is read by primary key only;
- a time range of at most `SEQ_BOUND_RANGE` is also bounded by the lowest and highest seq
  of the events in it, or PostgreSQL walks the log backwards from the newest event,
  assuming a week's events are spread over all of it;
- per-day counts bound `at` by a local midnight (an index range), not `at__date`;
- an action prefix is turned into the actions the log holds that start with it (a skip
  scan of the `(action, seq)` index, a probe per action), then matched exactly: one action
  is then read newest first from that index, where `LIKE 'prefix%'` made PostgreSQL walk
  the whole log backwards looking for a rare action (150–270 ms for `break_glass` deep in
  10 million events).
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import lru_cache

from django.conf import settings
from django.db.models import (
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.module_loading import import_string

from . import subject_index
from .models import AccessEvent, EventSubject

PAGE = 50
SEQ_BOUND_RANGE = dt.timedelta(days=31)
# Up to this many list/search appearances are matched as a list of ids; a client shown in
# more pages than that is matched with a subquery (slower, but never too many parameters).
LISTED_AS_LIST = 5_000


def normal_code(code: str) -> str:
    """A client code as records writes it (upper-case, no surrounding blanks)."""
    return code.strip().upper()


_ACTIONS_SQL = """
WITH RECURSIVE found(action) AS (
    SELECT MIN(action) FROM {table} WHERE action >= %s
    UNION ALL
    SELECT (SELECT MIN(action) FROM {table} WHERE action > found.action)
    FROM found WHERE found.action IS NOT NULL AND substr(found.action, 1, %s) = %s
)
SELECT action FROM found WHERE action IS NOT NULL AND substr(action, 1, %s) = %s
"""


def actions_starting_with(prefix: str) -> list[str]:
    """The distinct actions in the log that start with `prefix` (exactly: no wildcards)."""
    from django.db import connections, router

    connection = connections[router.db_for_read(AccessEvent)]
    sql = _ACTIONS_SQL.format(table=connection.ops.quote_name(AccessEvent._meta.db_table))
    n = len(prefix)
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix, n, prefix, n, prefix])
        return [row[0] for row in cursor.fetchall()]


def filtered(data: dict) -> QuerySet[AccessEvent]:
    """Events matching the cleaned filter form data, newest first."""
    qs = AccessEvent.objects.all()
    if data.get("person"):
        qs = qs.filter(actor=data["person"])
    if data.get("client_code"):
        qs = qs.filter(_naming_client(normal_code(data["client_code"])))
    if data.get("action"):
        qs = qs.filter(action__in=actions_starting_with(data["action"]))
    if data.get("data_class") not in (None, ""):
        qs = qs.filter(data_class=data["data_class"])
    if data.get("outcome"):
        qs = qs.filter(outcome=data["outcome"])
    if data.get("break_glass") in ("yes", "no"):
        qs = qs.filter(break_glass=data["break_glass"] == "yes")
    if data.get("location"):
        qs = qs.filter(location_code__iexact=data["location"])
    since, until = data.get("since"), data.get("until")
    bounded = bool(since and until and until - since <= SEQ_BOUND_RANGE)
    if bounded and data.get("person"):
        # A person's events in the range's seq bounds come newest first from the
        # (actor, seq) index, and `at` is only checked on them: were it an index condition
        # too, PostgreSQL would fetch all of that person's week and sort it.
        qs = qs.alias(at_checked=ExpressionWrapper(F("at") + Value(dt.timedelta(0)),
                                                   output_field=DateTimeField()))
        at = "at_checked"
    else:
        at = "at"
    if since:
        qs = qs.filter(**{f"{at}__gte": since})
    if until:
        qs = qs.filter(**{f"{at}__lt": until})
    if bounded:
        # `seq + 0`: a plain min(seq) the planner would answer by walking the seq index.
        bounds = (AccessEvent.objects.filter(at__gte=since, at__lt=until).order_by()
                  .aggregate(lo=Min(F("seq") + 0), hi=Max(F("seq") + 0)))
        if bounds["lo"] is None:
            return qs.none()
        qs = qs.filter(seq__gte=bounds["lo"], seq__lte=bounds["hi"])
    return qs.order_by("-seq")


def _naming_client(code: str) -> Q:
    """Events that name the client with this code: opened, listed or found, or named by
    the code alone. All of them through the client index (EventSubject)."""
    ids = client_ids_for_code(code)  # brings the index up to date
    naming = EventSubject.objects.filter(Q(client_id__in=ids) | Q(code=code)) if ids \
        else EventSubject.objects.filter(code=code)
    events = list(naming.values_list("event_id", flat=True)[:LISTED_AS_LIST + 1])
    if len(events) > LISTED_AS_LIST:
        return Q(pk__in=naming.values("event_id"))
    return Q(pk__in=events)


def client_ids_for_code(code: str) -> list[uuid.UUID]:
    """The client behind a code: as the events name it, and as the records name it (through
    AUDIT_CLIENT_LOOKUP, since audit has no client table of its own)."""
    code = normal_code(code)
    subject_index.catch_up()  # the index is filled after the fact: bring it up to date
    # The code's newest events; a code names one client, five is a safety margin.
    recent = (EventSubject.objects.filter(code=code).order_by("-event_id")
              .values_list("client_id", flat=True)[:1000])
    ids = set(list(dict.fromkeys(recent))[:5])
    lookup = getattr(settings, "AUDIT_CLIENT_LOOKUP", "")
    if lookup:
        ids |= set(_imported(lookup)(code))
    return sorted(ids)


@lru_cache(maxsize=8)
def _imported(path: str):
    return import_string(path)


def page(qs: QuerySet[AccessEvent], before: int | None) -> tuple[list[AccessEvent], int | None]:
    """One page of events older than `before` (keyset paging stays fast on millions)."""
    if before:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.select_related("actor")[:PAGE + 1])
    older = rows[PAGE - 1].seq if len(rows) > PAGE else None
    return rows[:PAGE], older


def per_day(qs: QuerySet[AccessEvent], days: int = 30, *, today: dt.date) -> list[dict]:
    """Events per local day over the `days` days up to `today`."""
    since = today - dt.timedelta(days=days - 1)
    start = timezone.make_aware(dt.datetime.combine(since, dt.time()))
    # COUNT(*), not COUNT(id): (actor, at) then answers a person's chart from the index.
    counts = dict(qs.order_by().filter(at__gte=start).annotate(day=TruncDate("at"))
                  .values_list("day").annotate(n=Count("*")).values_list("day", "n"))
    return [{"day": since + dt.timedelta(days=i), "n": counts.get(since + dt.timedelta(days=i), 0)}
            for i in range(days)]


def per_person(qs: QuerySet[AccessEvent], limit: int = 15) -> list[dict]:
    return list(qs.order_by().values("actor_id", "actor_label").annotate(n=Count("id"))
                .order_by("-n")[:limit])


def with_bars(rows: list[dict]) -> list[dict]:
    top = max((r["n"] for r in rows), default=0) or 1
    return [r | {"pct": round(100 * r["n"] / top)} for r in rows]
