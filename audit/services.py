"""Writing audit events. Audit knows nothing of roles or salons: callers say who and what."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.db import DatabaseError

from . import context
from .models import AccessEvent

log = logging.getLogger(__name__)


class AuditUnavailable(Exception):
    """The event could not be written; the access it describes must not happen."""


def record(*, actor, actor_label: str, action: str, outcome: str, role: str = "",
           client_id: uuid.UUID | None = None, subjects: Iterable[uuid.UUID] = (),
           data_class: int = 0, purpose: str = "", break_glass: bool = False,
           detail: dict | None = None) -> AccessEvent:
    facts = context.current()
    event = AccessEvent(
        actor=actor if getattr(actor, "pk", None) else None, actor_label=actor_label[:150],
        role=role, action=action, outcome=outcome, client_id=client_id,
        subjects=[str(s) for s in subjects], data_class=int(data_class), purpose=purpose[:200],
        break_glass=break_glass, detail=detail or {}, ip=facts.ip,
        user_agent=facts.user_agent, request_id=facts.request_id,
    )
    try:
        event.save(force_insert=True)
    except DatabaseError as exc:
        log.error("audit event %s could not be written: %s", action, type(exc).__name__)
        raise AuditUnavailable(action) from exc
    return event
