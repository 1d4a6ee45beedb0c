"""Writing audit events. Audit knows nothing of roles or salons: callers say who and what."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.validators import validate_ipv46_address
from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from . import actions, chain, context, writer
from .models import AccessEvent, ChainHead

log = logging.getLogger(__name__)


class AuditUnavailable(Exception):
    """The event could not be written; the access it describes must not happen."""


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        validate_ipv46_address(value)
    except Exception:  # noqa: BLE001 - a malformed address is dropped, not trusted
        return None
    return clean_ipv6_address(value) if ":" in value else value


def record(*, actor, actor_label: str, action: str, outcome: str, role: str = "",
           client_id: uuid.UUID | None = None, client_code: str = "", location_code: str = "",
           subjects: Iterable[uuid.UUID] = (), data_class: int = 0, purpose: str = "",
           break_glass: bool = False, detail: dict | None = None) -> AccessEvent:
    """Append one event to the chain, or raise AuditUnavailable (the caller must not go on).

    When this returns, the event is committed (or part of the caller's transaction, when
    there is one): only then may the access it describes happen.
    """
    event = _event(actor=actor, actor_label=actor_label, action=action, outcome=outcome,
                   role=role, client_id=client_id, client_code=client_code,
                   location_code=location_code, subjects=subjects, data_class=data_class,
                   purpose=purpose, break_glass=break_glass, detail=detail)
    _write(event)
    return event


def record_behind(**facts) -> PendingEvent:
    """Start appending one event (the arguments are record()'s) and return at once.

    The access the event describes may happen only after `wait()` has returned. On
    PostgreSQL and SQLite, outside a transaction and with AUDIT_WRITE_BEHIND, the event is
    committed on a side connection while the caller goes on (audit/writer.py); otherwise
    it is written here, as record() does, and `wait()` returns it.
    """
    event = _event(**facts)
    alias = router.db_for_write(AccessEvent)
    connection = connections[alias]
    if (connection.vendor not in ("postgresql", "sqlite") or connection.in_atomic_block
            or not getattr(settings, "AUDIT_WRITE_BEHIND", False)
            or (connection.vendor == "sqlite" and connection.is_in_memory_db())):
        _write(event)
        return PendingEvent(event, None)
    try:
        if connection.vendor == "sqlite":
            sql, adapters = _sqlite_prepared(connection)
            values = _sqlite_values(event, adapters)
            pending = writer.send_sqlite(
                connection, lambda raw: _sqlite_statements(raw, sql, values, event))
        else:
            pending = writer.send(connection, _APPEND_SQL, _pg_params(event))
    except (writer.SideError, DatabaseError) as exc:
        log.error("audit event %s could not be sent: %s", event.action, type(exc).__name__)
        raise AuditUnavailable(event.action) from exc
    return PendingEvent(event, pending, alias)


class PendingEvent:
    """An event on its way to the chain: `wait()` returns it once it is committed, or raises
    AuditUnavailable (again on every call) if it was not written."""

    __slots__ = ("event", "_pending", "_alias", "_error")

    def __init__(self, event: AccessEvent,
                 pending: writer.Pending | writer.SqlitePending | None,
                 alias: str = "") -> None:
        self.event, self._pending, self._alias = event, pending, alias
        self._error: AuditUnavailable | None = None

    def wait(self) -> AccessEvent:
        if self._error is not None:
            raise self._error
        if self._pending is None:
            return self.event
        pending, event = self._pending, self.event
        try:
            row = pending.result()
        except writer.SideError as exc:
            writer.settle(pending)
            log.error("audit event %s could not be written: %s", event.action,
                      type(exc).__name__)
            self._error = AuditUnavailable(event.action)
            raise self._error from exc
        self._pending = None
        if row is None:  # no chain head yet (the database's first event): write it here
            _write(event)
            return event
        if row is not writer.FILLED:  # PostgreSQL: what the statement returned
            event.id, event.seq = int(row[0]), int(row[1])
            event.prev_hash, event.hash = row[2].decode(), row[3].decode()
        event._state.adding, event._state.db = False, self._alias
        return event


def _event(*, actor, actor_label: str, action: str, outcome: str, role: str = "",
           client_id: uuid.UUID | None = None, client_code: str = "", location_code: str = "",
           subjects: Iterable[uuid.UUID] = (), data_class: int = 0, purpose: str = "",
           break_glass: bool = False, detail: dict | None = None) -> AccessEvent:
    facts = context.current()
    return AccessEvent(
        at=timezone.now(), actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label[:150], role=role, action=action, outcome=outcome,
        client_id=client_id, client_code=client_code, location_code=location_code,
        subjects=[str(s) for s in subjects], data_class=int(data_class), purpose=purpose[:200],
        break_glass=break_glass, detail=detail or {}, ip=_ip(facts.ip),
        user_agent=facts.user_agent[:300], request_id=facts.request_id,
    )


def _write(event: AccessEvent) -> None:
    try:
        _append(event)
    except DatabaseError as exc:
        log.error("audit event %s could not be written: %s", event.action, type(exc).__name__)
        raise AuditUnavailable(event.action) from exc


def _append(event: AccessEvent) -> None:
    """Link the event to the head of the chain and write it and the new head. (Its subjects
    go into the auditor's index later: audit.subject_index.)

    The head row is locked until the transaction ends, so concurrent writers take turns and
    each links to the one before: the chain never forks. On PostgreSQL all of it is one
    statement, one round trip (and, outside a transaction, its own commit).
    """
    alias = router.db_for_write(AccessEvent)
    connection = connections[alias]
    if connection.vendor == "postgresql":
        if connection.in_atomic_block:
            # A savepoint, so that a failure leaves the caller's transaction usable.
            with transaction.atomic(using=alias):
                _append_postgresql(event, connection)
        else:
            _append_postgresql(event, connection)
    elif connection.vendor == "sqlite":
        _append_sqlite(event, alias, connection)
    else:
        _append_orm(event, alias)
    event._state.adding, event._state.db = False, alias


# One statement: lock the head, insert the event with its hash and move
# the head. Python writes the canonical form of everything but the two values only the
# head knows (seq, first, and prev_hash, last); PostgreSQL completes it and hashes it, so
# the bytes hashed are exactly chain.canonical's.
_APPEND_SQL = """
WITH head AS (
    SELECT seq + 1 AS seq, hash AS prev FROM audit_chainhead WHERE id = 1 FOR UPDATE
), ins AS (
    INSERT INTO audit_accessevent (seq, at, actor_id, actor_label, role, action, client_id,
        client_code, location_code, subjects, data_class, purpose, break_glass, outcome,
        detail, ip, user_agent, request_id, prev_hash, hash)
    SELECT head.seq, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s::jsonb,
        %s::inet, %s, %s, head.prev,
        encode(sha256(convert_to('[' || head.seq || ',' || %s || ',"' || head.prev || '"]',
                                 'UTF8')), 'hex')
    FROM head
    RETURNING id, seq, prev_hash, hash
), moved AS (
    UPDATE audit_chainhead SET seq = ins.seq, hash = ins.hash FROM ins
    WHERE audit_chainhead.id = 1
)
SELECT id, seq, prev_hash, hash FROM ins
"""
_HEAD_SQL = ("INSERT INTO audit_chainhead (id, seq, hash) VALUES (1, 0, %s) "
             "ON CONFLICT (id) DO NOTHING")


def _pg_params(event: AccessEvent) -> tuple:
    import json

    return (
        event.at, event.actor_id, event.actor_label, event.role, event.action,
        event.client_id, event.client_code, event.location_code,
        json.dumps(event.subjects), event.data_class, event.purpose, event.break_glass,
        event.outcome, json.dumps(event.detail, default=str), event.ip, event.user_agent,
        event.request_id, chain.canonical_middle(_row(event)),
    )


def _append_postgresql(event: AccessEvent, connection) -> None:
    params = _pg_params(event)
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_SQL, params)
        row = cursor.fetchone()
        if row is None:  # no head yet: the very first event of this database
            cursor.execute(_HEAD_SQL, (chain.GENESIS,))
            cursor.execute(_APPEND_SQL, params)
            row = cursor.fetchone()
    event.id, event.seq, event.prev_hash, event.hash = row


def _append_orm(event: AccessEvent, alias: str) -> None:
    with transaction.atomic(using=alias):
        head = (ChainHead.objects.using(alias).filter(pk=1).values_list("seq", "hash")
                .select_for_update().first())
        if head is None:
            ChainHead.objects.using(alias).create(pk=1, seq=0, hash=chain.GENESIS)
            head = (0, chain.GENESIS)
        event.seq, event.prev_hash = head[0] + 1, head[1]
        event.hash = chain.digest(_row(event))
        event.save(force_insert=True, using=alias)
        ChainHead.objects.using(alias).filter(pk=1).update(seq=event.seq, hash=event.hash)


_EVENT_COLUMNS = [f for f in AccessEvent._meta.concrete_fields if not f.primary_key]


def _append_sqlite(event: AccessEvent, alias: str, connection) -> None:
    """The ORM path's four statements, written out and sent straight to sqlite3: a page
    records one event, so the ORM's own cost per statement would be most of the
    recording's. The transaction starts with BEGIN IMMEDIATE (inside the caller's, which
    Django began IMMEDIATE too: settings), so the head cannot move between read and
    update; inside a caller's transaction the statements run in a savepoint."""
    if not connection.in_atomic_block:
        _append_sqlite_direct(event, connection)
        return
    sql, adapters = _sqlite_prepared(connection)
    values = _sqlite_values(event, adapters)
    with transaction.atomic(using=alias), connection.wrap_database_errors:
        _sqlite_statements(connection.connection, sql, values, event, begin=False)


def _sqlite_adapters(connection) -> list:
    """For each event column, what Django's get_db_prep_save makes of a value on SQLite
    (a test holds the two to the same result)."""
    import json

    ops = connection.ops
    by_type = {
        "DateTimeField": ops.adapt_datetimefield_value,
        "UUIDField": lambda v: None if v is None else v.hex,
        "JSONField": json.dumps,
        "BooleanField": bool,
    }
    return [by_type.get(f.get_internal_type()) for f in _EVENT_COLUMNS]


_SQLITE_INSERT = "INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id"
_SQLITE_CHAIN = [i for i, f in enumerate(_EVENT_COLUMNS) if f.attname in ("seq", "prev_hash",
                                                                            "hash")]


def _sqlite_values(event: AccessEvent, adapters: list) -> list:
    values = []
    for field, adapt in zip(_EVENT_COLUMNS, adapters, strict=True):
        value = getattr(event, field.attname)
        values.append(value if adapt is None or value is None else adapt(value))
    return values


def _sqlite_prepared(connection) -> tuple[str, list]:
    """The INSERT statement and the column adapters, made once per connection."""
    cached = connection.__dict__.get("_audit_append")
    if cached is None:
        quote = connection.ops.quote_name
        sql = _SQLITE_INSERT.format(table=quote(AccessEvent._meta.db_table),
                                    columns=", ".join(quote(f.column) for f in _EVENT_COLUMNS),
                                    marks=", ".join(["?"] * len(_EVENT_COLUMNS)))
        cached = connection.__dict__["_audit_append"] = (sql, _sqlite_adapters(connection))
    return cached


def _sqlite_statements(raw, sql: str, values: list, event: AccessEvent, *,
                       begin: bool = True) -> None:
    """Begin the transaction (the write lock; or the caller's is open), link the event to
    the head, insert it and move the head; the caller commits."""
    if begin:
        raw.execute("BEGIN IMMEDIATE")
    head = raw.execute("SELECT seq, hash FROM audit_chainhead WHERE id = 1").fetchone()
    if head is None:
        raw.execute("INSERT INTO audit_chainhead (id, seq, hash) VALUES (1, 0, ?)",
                    [chain.GENESIS])
        head = (0, chain.GENESIS)
    event.seq, event.prev_hash = head[0] + 1, head[1]
    event.hash = chain.digest(_row(event))
    for i in _SQLITE_CHAIN:
        values[i] = getattr(event, _EVENT_COLUMNS[i].attname)
    event.id = raw.execute(sql, values).fetchone()[0]
    raw.execute("UPDATE audit_chainhead SET seq = ?, hash = ? WHERE id = 1",
                [event.seq, event.hash])


def _append_sqlite_direct(event: AccessEvent, connection) -> None:
    connection.ensure_connection()
    connection.validate_thread_sharing()
    sql, adapters = _sqlite_prepared(connection)
    values = _sqlite_values(event, adapters)
    raw = connection.connection
    with connection.wrap_database_errors:
        try:
            _sqlite_statements(raw, sql, values, event)
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise


def _row(event: AccessEvent) -> dict:
    return {name: getattr(event, name) for name in chain.FIELDS}


ALERT_ACTIONS = {"acknowledge": actions.ALERT_ACKNOWLEDGE, "resolve": actions.ALERT_RESOLVE}


def alert_step(*, actor, alert, step: str, comment: str = ""):
    """Acknowledge or resolve an alert; the step is itself recorded."""
    from .models import Alert

    now = timezone.now()
    if step == "acknowledge" and alert.state == Alert.State.OPEN:
        alert.state, alert.acknowledged_by, alert.acknowledged_at = (
            Alert.State.ACKNOWLEDGED, actor, now)
    elif step == "resolve" and alert.state != Alert.State.RESOLVED:
        alert.state, alert.resolved_by, alert.resolved_at = Alert.State.RESOLVED, actor, now
    else:
        return alert
    if comment:
        alert.comment = (alert.comment + "\n" if alert.comment else "") + comment
    with transaction.atomic():
        alert.save()
        record(actor=actor, actor_label=actor.get_username(), action=ALERT_ACTIONS[step],
               outcome="allowed", detail={"alert": str(alert.pk), "rule": alert.rule})
    return alert
