"""Retention: which clients have been kept long enough, and what happens to them.

A nightly job proposes every client whose last visit (or, never seen, whose record) is
older than the policy's years and who is under no legal hold; an owner approves a proposal
(the client goes through the one destruction path, records/destruction.py) or keeps the
client. A policy marked automatic approves its own proposals.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from . import destruction
from .models import (
    Client,
    Destruction,
    HealthNote,
    LegalHold,
    Photo,
    RetentionPolicy,
    RetentionProposal,
)

DEFAULTS = {"client": 7, "photos": 3, "health": 5}  # years after the last visit


def policies() -> list[RetentionPolicy]:
    """The policies, the defaults added where missing (the migration adds them too)."""
    for key, years in DEFAULTS.items():
        RetentionPolicy.objects.get_or_create(key=key, defaults={"years": years})
    return sorted(RetentionPolicy.objects.all(), key=lambda p: list(DEFAULTS).index(p.key)
                  if p.key in DEFAULTS else 99)


def held_ids(today: dt.date | None = None) -> set:
    today = today or timezone.localdate()
    return set(LegalHold.objects.filter(lifted_at__isnull=True, until__gte=today)
               .values_list("client_id", flat=True))


def due(policy: RetentionPolicy, today: dt.date | None = None):
    """Clients past the policy's years (for photos and health notes: those who still have
    some), with the day they went quiet."""
    today = today or timezone.localdate()
    try:
        cutoff = today.replace(year=today.year - policy.years)
    except ValueError:  # 29 February
        cutoff = today.replace(year=today.year - policy.years, day=28)
    clients = (Client.objects.annotate(quiet=Coalesce("last_visit", TruncDate("created_at")))
               .filter(quiet__lt=cutoff).exclude(pk__in=held_ids(today)))
    if policy.key == Destruction.Scope.PHOTOS:
        clients = clients.filter(pk__in=Photo.objects.values("client_id"))
    elif policy.key == Destruction.Scope.HEALTH:
        clients = clients.filter(pk__in=HealthNote.objects.values("client_id"))
    return clients


def propose(*, today: dt.date | None = None, progress=None) -> dict:
    """The nightly job: first finish any destruction a crash stopped, then a proposal for
    each client past retention (once); an automatic policy's open proposals are carried out
    at once. Converges when run again after a kill at any point."""
    progress = progress or (lambda done, total: None)
    finished = destruction.finish_unfinished()
    made = 0
    for policy in [p for p in policies() if p.enabled]:
        open_ids = set(RetentionProposal.objects.filter(
            policy=policy, state=RetentionProposal.State.PROPOSED)
            .values_list("client_id", flat=True))
        for client in due(policy, today).exclude(pk__in=open_ids).iterator():
            RetentionProposal.objects.create(
                policy=policy, client_id=client.pk, client_code=client.code,
                inactive_since=client.quiet)
            made += 1
    automatic = list(RetentionProposal.objects.filter(
        policy__automatic=True, policy__enabled=True, state=RetentionProposal.State.PROPOSED)
        .select_related("policy").order_by("proposed_at"))
    progress(0, len(automatic))
    for done, proposal in enumerate(automatic, 1):
        approve(proposal, actor=None)
        progress(done, len(automatic))
    return {"proposed": made, "destroyed_automatically": len(automatic),
            "finished_after_a_stop": len(finished),
            "awaiting": RetentionProposal.objects.filter(
                state=RetentionProposal.State.PROPOSED).count()}


def approve(proposal: RetentionProposal, *, actor) -> RetentionProposal:
    """Destroy the proposed client (refused while a legal hold stands). The decision and
    the approved destruction are saved together before any data goes, so a crash leaves a
    destruction the next run finishes."""
    if proposal.state != RetentionProposal.State.PROPOSED:
        return proposal
    client = Client.objects.select_related("location").filter(pk=proposal.client_id).first()
    with transaction.atomic():
        if client is not None:
            proposal.destruction = destruction.approve(destruction.request(
                client, actor=actor, basis=Destruction.Basis.RETENTION,
                scope=proposal.policy.key,
                reason=f"retention: no visit since {proposal.inactive_since:%Y-%m-%d}, "
                       f"policy {proposal.policy.key} {proposal.policy.years} years"),
                actor=actor)
        _decide(proposal, RetentionProposal.State.APPROVED, actor)
    if proposal.destruction is not None:
        proposal.destruction = destruction.run(proposal.destruction)
    return proposal


def dismiss(proposal: RetentionProposal, *, actor) -> RetentionProposal:
    if proposal.state == RetentionProposal.State.PROPOSED:
        _decide(proposal, RetentionProposal.State.DISMISSED, actor)
    return proposal


def _decide(proposal, state, actor) -> None:
    proposal.state, proposal.decided_by, proposal.decided_at = state, actor, timezone.now()
    proposal.save(update_fields=["state", "decided_by", "decided_at", "destruction"])


@transaction.atomic
def place_hold(client: Client, *, actor, reason: str, until: dt.date) -> LegalHold:
    hold = LegalHold.objects.create(client_id=client.pk, client_code=client.code,
                                    reason=" ".join(reason.split())[:500], until=until,
                                    placed_by=actor)
    # A client under hold is not proposed; an open proposal for them is withdrawn.
    RetentionProposal.objects.filter(client_id=client.pk,
                                     state=RetentionProposal.State.PROPOSED).update(
        state=RetentionProposal.State.DISMISSED, decided_by=actor, decided_at=timezone.now())
    return hold


def lift_hold(hold: LegalHold, *, actor) -> None:
    LegalHold.objects.filter(pk=hold.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=actor)

