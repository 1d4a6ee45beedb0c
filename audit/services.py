"""Writing audit events. Audit knows nothing of roles or salons: callers say who and what."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.core.validators import validate_ipv46_address
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from . import chain, context
from .models import AccessEvent, ChainHead, EventSubject

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
    """Append one event to the chain, or raise AuditUnavailable (the caller must not go on)."""
    facts = context.current()
    event = AccessEvent(
        at=timezone.now(), actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label[:150], role=role, action=action, outcome=outcome,
        client_id=client_id, client_code=client_code, location_code=location_code,
        subjects=[str(s) for s in subjects], data_class=int(data_class), purpose=purpose[:200],
        break_glass=break_glass, detail=detail or {}, ip=_ip(facts.ip),
        user_agent=facts.user_agent[:300], request_id=facts.request_id,
    )
    try:
        _append(event)
    except DatabaseError as exc:
        log.error("audit event %s could not be written: %s", action, type(exc).__name__)
        raise AuditUnavailable(action) from exc
    return event


def _append(event: AccessEvent) -> None:
    # The head row is locked until the surrounding transaction ends, so concurrent writers
    # take turns and each links to the one before: the chain never forks.
    with transaction.atomic():
        head, _created = ChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"seq": 0, "hash": chain.GENESIS})
        event.seq, event.prev_hash = head.seq + 1, head.hash
        event.hash = chain.digest(_row(event))
        event.save(force_insert=True)
        if event.subjects:
            EventSubject.objects.bulk_create(
                [EventSubject(event=event, client_id=s) for s in event.subjects])
        ChainHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)


def _row(event: AccessEvent) -> dict:
    return {name: getattr(event, name) for name in chain.FIELDS}


def alert_step(*, actor, alert, step: str, comment: str = ""):
    """Acknowledge or resolve an alert; the step is itself recorded."""
    from django.utils import timezone

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
        record(actor=actor, actor_label=actor.get_username(), action=f"alert.{step}",
               outcome="allowed", detail={"alert": str(alert.pk), "rule": alert.rule})
    return alert
