"""Integrity alerts: a stored value that failed authentication is reported once per row.

A page that meets a damaged value shows a mark in its place (``vault.scope.damage_shown``)
and hands the notes here after its opening has ended. The first time a row is met, owners
and auditors get an alert on their pages and an event in the chain; later openings add
nothing, so a damaged row read all day raises one alert, not one per request.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from audit import actions
from audit import services as audit
from audit.models import Alert
from vault.scope import DamageNote

log = logging.getLogger(__name__)

ACTION = actions.INTEGRITY_DAMAGED_VALUE
RULE = Alert.Rule.INTEGRITY  # an Alert rule of its own: the alerts pages show it beside the others
SYSTEM_LABEL = "system:integrity"


def damaged_values_report(*, user, notes: Iterable[DamageNote],
                          clients: Mapping[uuid.UUID, object]) -> int:
    """Alert once for each damaged row among `notes`; returns how many alerts were new.

    `clients` maps a subject to its client (for the code and location the alert names).
    Only ids and field names are recorded: a damaged value has no plaintext to leak."""
    rows: dict[tuple[str, str], list[DamageNote]] = {}
    for note in notes:
        rows.setdefault((note.model, str(note.row)), []).append(note)
    raised = 0
    for found in rows.values():
        try:
            raised += _alert_row(user, found, clients.get(found[0].subject))
        except audit.AuditUnavailable:
            # The page was shown; its alert is not lost: with no alert row written, the next
            # opening of the row tries again.
            log.error("integrity alert for a damaged %s row could not be written", found[0].model)
    return raised


def _alert_row(user, notes: list[DamageNote], client) -> bool:
    first = notes[0]
    fields = sorted({n.field for n in notes})
    detail = {"model": first.model, "row": str(first.row), "fields": fields,
              "client_code": getattr(client, "code", ""),
              "noticed_by": user.get_username() if user.is_authenticated else ""}
    now = timezone.now()
    with transaction.atomic():
        # The alert's unique key makes "once per row" hold between concurrent requests too.
        alert, created = Alert.objects.get_or_create(
            key=f"{RULE}:{first.model}:{first.row}",
            defaults={"rule": RULE, "actor": None, "actor_label": SYSTEM_LABEL,
                      "window_start": now, "window_end": now, "count": 1, "detail": detail})
        if not created:
            return False
        location = getattr(client, "location", None)
        # Denied: the vault refused the value. The system, not the person who met it, is
        # the actor, so the person's own anomaly counts do not grow.
        audit.record(actor=None, actor_label=SYSTEM_LABEL, role="system", action=ACTION,
                     outcome="denied", client_id=first.subject,
                     client_code=detail["client_code"],
                     location_code=getattr(location, "code", "") or "",
                     data_class=_data_class(first.model, fields), purpose=actions.INTEGRITY_CHECK,
                     detail=detail | {"alert": str(alert.pk)})
    return True


def _data_class(model_label: str, fields: list[str]) -> int:
    meta = apps.get_model(model_label)._meta
    return max(int(getattr(meta.get_field(name), "data_class", 0)) for name in fields)
