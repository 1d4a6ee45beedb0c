"""Who goes to the buyer, and who stays, and why.

A client in the case's locations goes unless they objected or asked to be deleted
instead, have a rights request open, are under a legal hold, have restricted the use of
their data, or (where the basis is consent) have not consented to the transfer. Their
health notes and photos go only if they consented to those separately.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from records.models import Client, ConsentEvent, LegalHold, Restriction
from rights.models import RightsRequest

from .models import Basis, Objection, Part, TransferCase

REASONS = {
    "objected": _("objected to the transfer"),
    "delete_instead": _("asked to be deleted instead"),
    "open_request": _("has a rights request open"),
    "legal_hold": _("is under a legal hold"),
    "restricted": _("restricted the use of their data"),
    "no_consent": _("has not consented to the transfer"),
}


@dataclass
class Plan:
    total: int = 0
    included: list[uuid.UUID] = field(default_factory=list)
    excluded: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    with_health: set[uuid.UUID] = field(default_factory=set)
    with_photos: set[uuid.UUID] = field(default_factory=set)

    def counts(self) -> list[tuple[str, str, int]]:
        return [(key, str(REASONS[key]), len(self.excluded.get(key, ()))) for key in REASONS]


def clients_in_scope(case: TransferCase) -> QuerySet[Client]:
    found = Client.objects.all()
    if case.location_codes:
        found = found.filter(location__code__in=case.location_codes)
    return found.order_by("code")


def _consents(clients: QuerySet[Client], purposes: tuple[str, ...]) -> dict[tuple, str]:
    """The latest action per (client, purpose), read for the clients in scope only."""
    latest: dict[tuple, str] = {}
    for cid, purpose, action in (ConsentEvent.objects.filter(
            purpose__in=purposes, client_id__in=clients.values("pk"))
            .order_by("at").values_list("client_id", "purpose", "action")):
        latest[(cid, purpose)] = action
    return latest


def plan(case: TransferCase) -> Plan:
    """The clients of the case, those who go and those who stay (the first reason only)."""
    in_scope = clients_in_scope(case)
    ids = list(in_scope.values_list("pk", flat=True))
    today = timezone.localdate()
    answers = dict(Objection.objects.filter(case=case, withdrawn_at__isnull=True)
                   .values_list("client_id", "kind"))
    open_requests = set(RightsRequest.objects.filter(state__in=RightsRequest.OPEN)
                        .values_list("client_id", flat=True))
    held = set(LegalHold.objects.filter(lifted_at__isnull=True, until__gte=today)
               .values_list("client_id", flat=True))
    restricted = set(Restriction.objects.filter(lifted_at__isnull=True)
                     .values_list("client_id", flat=True))
    consents = _consents(in_scope.order_by(), (ConsentEvent.Purpose.TRANSFER, ConsentEvent.Purpose.HEALTH,
                                  ConsentEvent.Purpose.PHOTOS))
    given = ConsentEvent.Action.GIVEN
    result = Plan(total=len(ids))
    for cid in ids:
        reason = ("delete_instead" if answers.get(cid) == Objection.Kind.DELETE
                  else "objected" if cid in answers
                  else "open_request" if cid in open_requests
                  else "legal_hold" if cid in held
                  else "restricted" if cid in restricted
                  else "no_consent" if case.basis == Basis.CONSENT and consents.get(
                      (cid, ConsentEvent.Purpose.TRANSFER)) != given
                  else None)
        if reason:
            result.excluded.setdefault(reason, []).append(cid)
            continue
        result.included.append(cid)
        if Part.HEALTH in case.parts and consents.get((cid, ConsentEvent.Purpose.HEALTH)) == given:
            result.with_health.add(cid)
        if Part.PHOTOS in case.parts and consents.get((cid, ConsentEvent.Purpose.PHOTOS)) == given:
            result.with_photos.add(cid)
    return result
