"""A transfer case and its one road: draft → checklist → notice period → approval →
packaged → delivered → acknowledged → seller copy destroyed → closed, or cancelled at any
point before delivery. Every step is checked here, under a lock on the case row, so an
out-of-order step is refused (`StepRefused`, HTTP 409 in the pages) however it is asked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit.services as audit
from access import policy
from access.models import Location
from audit import actions

from . import package
from .models import Approval, Basis, Part, State, TransferCase

# The road, in order; each state's only next one (cancel aside).
ROAD = (State.DRAFT, State.CHECKLIST, State.NOTICE, State.APPROVAL, State.PACKAGED,
        State.DELIVERED, State.ACKNOWLEDGED, State.DESTROYED, State.CLOSED)
CANCELLABLE = (State.DRAFT, State.CHECKLIST, State.NOTICE, State.APPROVAL, State.PACKAGED)
SCOPE_EDITABLE = (State.DRAFT, State.CHECKLIST, State.NOTICE, State.APPROVAL)
APPROVALS_NEEDED = 2


class StepRefused(Exception):
    """The step is out of order, or what it needs is missing: the message says which."""


def _label(user) -> str:
    return user.get_username() if user is not None else "system:transfer"


def event(case: TransferCase, actor, action: str, outcome: str = "allowed", **detail) -> None:
    audit.record(actor=actor, actor_label=_label(actor),
                 role=policy.role_of(actor) if actor is not None else "system",
                 action=action, outcome=outcome, purpose=actions.TRANSFER_BUSINESS,
                 detail={"case": str(case.pk), "state": case.state, **detail})


def _locked(case: TransferCase) -> TransferCase:
    return TransferCase.objects.select_for_update().get(pk=case.pk)


def _clean_scope(location_codes, parts, basis) -> tuple[list[str], list[str], str]:
    codes = sorted(set(location_codes or ()))
    known = set(Location.objects.filter(code__in=codes).values_list("code", flat=True))
    if set(codes) - known:
        raise StepRefused(_("Unknown location: %(codes)s.")
                          % {"codes": ", ".join(sorted(set(codes) - known))})
    chosen = [p for p in Part.values if p in set(parts or ())]
    if set(parts or ()) - set(Part.values):
        raise StepRefused(_("Unknown part of the record."))
    if Part.CONTACT not in chosen:
        raise StepRefused(_("A transfer takes at least the contact details."))
    if basis not in Basis.values:
        raise StepRefused(_("Choose the legal basis."))
    return codes, chosen, basis


def open_case(*, actor, title: str, recipient_name: str, recipient_contact: str,
              recipient_key: str, location_codes=(), parts=(Part.CONTACT,),
              basis: str = Basis.NOTICE, objection_days: int = 30) -> TransferCase:
    title, name = " ".join(title.split())[:200], " ".join(recipient_name.split())[:200]
    contact = " ".join(recipient_contact.split())[:300]
    if not (title and name and contact):
        raise StepRefused(_("Give the case a title, and the recipient's legal name and contact."))
    try:
        key = package.parse_recipient(recipient_key)
    except package.InvalidKey:
        raise StepRefused(_("The recipient's public key is not an age public key (age1…): "
                            "ask them to run manage.py transfer_keygen and send recipient.txt."
                            )) from None
    if not 14 <= int(objection_days) <= 365:
        raise StepRefused(_("Clients need between 14 and 365 days to object."))
    codes, chosen, basis = _clean_scope(location_codes, parts, basis)
    with transaction.atomic():
        case = TransferCase.objects.create(
            title=title, recipient_name=name, recipient_contact=contact, recipient_key=key,
            recipient_fingerprint=package.recipient_fingerprint(key), location_codes=codes,
            parts=chosen, basis=basis, objection_days=int(objection_days), opened_by=actor)
        from . import checklist

        checklist.add_defaults(case)
        event(case, actor, actions.TRANSFER_OPEN, recipient=name, locations=codes,
              parts=chosen, basis=basis)
    return case


def change_scope(case: TransferCase, *, actor, location_codes, parts, basis) -> TransferCase:
    """A new scope revision: every approval given so far is void."""
    codes, chosen, basis = _clean_scope(location_codes, parts, basis)
    with _step(case, actor, "scope") as case:
        if case.state not in SCOPE_EDITABLE:
            raise StepRefused(_("The scope cannot change once the package is built."))
        if (codes, chosen, basis) == (case.location_codes, case.parts, case.basis):
            return case
        if basis != case.basis and case.state not in (State.DRAFT, State.CHECKLIST):
            raise StepRefused(_("The legal basis cannot change once clients have been told."))
        case.location_codes, case.parts, case.basis = codes, chosen, basis
        case.scope_revision += 1
        case.save(update_fields=["location_codes", "parts", "basis", "scope_revision"])
        voided = Approval.objects.filter(case=case, voided_at__isnull=True).update(
            voided_at=timezone.now(), void_reason="scope changed")
        event(case, actor, actions.TRANSFER_SCOPE, revision=case.scope_revision,
              locations=codes, parts=chosen, basis=basis, approvals_voided=voided)
    return case


def confirm_key(case: TransferCase, *, actor, how: str) -> TransferCase:
    how = " ".join(how.split())[:300]
    if not how:
        raise StepRefused(_("Say how the fingerprint was confirmed with the recipient (who, "
                            "when, by what channel)."))
    with _step(case, actor, "key") as case:
        if case.state not in (State.DRAFT, State.CHECKLIST):
            raise StepRefused(_("The key can only be confirmed before clients are told."))
        case.key_confirmed_by, case.key_confirmed_at = actor, timezone.now()
        case.key_confirmed_how = how
        case.save(update_fields=["key_confirmed_by", "key_confirmed_at", "key_confirmed_how"])
        event(case, actor, actions.TRANSFER_STEP, step="key_confirmed",
              fingerprint=case.recipient_fingerprint)
    return case


@contextmanager
def _step(case: TransferCase, actor, step: str) -> Iterator[TransferCase]:
    """The case, locked for one step; a refusal is recorded after the rollback (so that
    the record of it stays)."""
    try:
        with transaction.atomic():
            yield _locked(case)
    except StepRefused:
        event(case, actor, actions.TRANSFER_REFUSED, outcome="denied", step=str(step))
        raise


def _expect(case: TransferCase, *states: State) -> None:
    if case.state not in states:
        raise StepRefused(_("This step is not possible while the case is “%(state)s”.")
                          % {"state": case.get_state_display()})


def start_checklist(case: TransferCase, *, actor) -> TransferCase:
    with _step(case, actor, "checklist") as case:
        _expect(case, State.DRAFT)
        case.state = State.CHECKLIST
        case.save(update_fields=["state"])
        event(case, actor, actions.TRANSFER_STEP, step="checklist")
    return case


def start_notice_period(case: TransferCase, *, actor, today: dt.date | None = None
                        ) -> TransferCase:
    """Clients are told from today; they may object until the window ends."""
    today = today or timezone.localdate()
    with _step(case, actor, "notice") as case:
        _expect(case, State.CHECKLIST)
        if case.key_confirmed_at is None:
            raise StepRefused(_("Confirm the recipient's key fingerprint "
                                                   "with them first."))
        case.state, case.notices_from = State.NOTICE, today
        case.objection_until = today + dt.timedelta(days=case.objection_days)
        case.save(update_fields=["state", "notices_from", "objection_until"])
        event(case, actor, actions.TRANSFER_STEP, step="notice",
              objection_until=case.objection_until.isoformat())
    return case


def start_approval(case: TransferCase, *, actor, today: dt.date | None = None) -> TransferCase:
    from . import checklist

    today = today or timezone.localdate()
    with _step(case, actor, "approval") as case:
        _expect(case, State.NOTICE)
        if today <= case.objection_until:
            raise StepRefused(_(
                "Clients may object until %(date)s: approval opens the day after.")
                % {"date": case.objection_until.isoformat()})
        still = checklist.open_items(case)
        if still:
            raise StepRefused(_("The checklist has open items: %(items)s.")
                          % {"items": "; ".join(checklist.label(i) for i in still)})
        case.state = State.APPROVAL
        case.save(update_fields=["state"])
        event(case, actor, actions.TRANSFER_STEP, step="approval")
    return case


def approve(case: TransferCase, *, actor, reauthenticated: bool) -> Approval:
    """An owner other than the one who opened the case approves the current scope, after
    the password and a second-factor code (the caller checked them moments ago)."""
    from access.models import Role

    with _step(case, actor, "approve") as case:
        _expect(case, State.APPROVAL)
        if policy.role_of(actor) != Role.OWNER:
            raise StepRefused(_("Only owners approve a transfer."))
        if actor.pk == case.opened_by_id:
            raise StepRefused(_("The owner who opened the case cannot "
                                                    "approve it: two other owners do."))
        if not reauthenticated:
            raise StepRefused(_("Confirm your password and code first."))
        from django_otp import user_has_device

        if not user_has_device(actor, confirmed=True):
            raise StepRefused(_("Approving a transfer needs your authenticator app: set it "
                                "up on your account page first."))
        if valid_approvals(case).filter(owner=actor).exists():
            raise StepRefused(_("You have approved this scope already."))
        approval = Approval.objects.create(case=case, owner=actor, at=timezone.now(),
                                           scope_revision=case.scope_revision)
        event(case, actor, actions.TRANSFER_APPROVE, revision=case.scope_revision,
              approvals=valid_approvals(case).count())
    return approval


def valid_approvals(case: TransferCase):
    return Approval.objects.filter(case=case, scope_revision=case.scope_revision,
                                   voided_at__isnull=True)


def approved(case: TransferCase) -> bool:
    return valid_approvals(case).count() >= APPROVALS_NEEDED


def cancel(case: TransferCase, *, actor, reason: str) -> TransferCase:
    reason = " ".join(reason.split())[:500]
    if not reason:
        raise StepRefused(_("Say why the transfer is cancelled."))
    with _step(case, actor, "cancel") as case:
        _expect(case, *CANCELLABLE)
        case.state, case.cancelled_at, case.cancelled_by = (State.CANCELLED, timezone.now(),
                                                            actor)
        case.cancel_reason = reason
        case.save(update_fields=["state", "cancelled_at", "cancelled_by", "cancel_reason"])
        event(case, actor, actions.TRANSFER_STEP, step="cancelled")
    return case


def advance_to(case: TransferCase, state: State, *, actor, expect: State, **fields
               ) -> TransferCase:
    """A later step of the road (packaged, delivered, acknowledged, destroyed, closed),
    taken by the code that did its work, under the same lock and check."""
    with _step(case, actor, state) as case:
        _expect(case, expect)
        case.state = state
        for name, value in fields.items():
            setattr(case, name, value)
        case.save(update_fields=["state", *fields])
        event(case, actor, actions.TRANSFER_STEP, step=state)
    return case
