"""Every change to who may see what goes through one of these, and is recorded."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import actions
from audit import services as audit

from . import clients, permissions, policy, sessions
from .models import (
    AccessReview,
    AccessReviewItem,
    Agreement,
    AgreementAcceptance,
    BreakGlass,
    Grant,
    Location,
    LocationPolicy,
    Role,
    StaffProfile,
    TrainingRecord,
)

User = get_user_model()


class NotAllowed(Exception):
    """The acting user may not perform this change."""


def _record(actor, action: str, *, client=None, client_id=None, detail: dict | None = None,
            outcome: str = "allowed", break_glass: bool = False) -> None:
    location = getattr(client, "location", None) if client is not None else None
    audit.record(actor=actor, actor_label=actor.get_username() if actor else "system",
                 role=policy.role_of(actor) if actor else "system", action=action,
                 outcome=outcome, client_id=client.pk if client is not None else client_id,
                 client_code=getattr(client, "code", "") or "",
                 location_code=location.code if location is not None else "",
                 detail=detail, break_glass=break_glass)


def require_owner(actor) -> None:
    if policy.role_of(actor) != Role.OWNER:
        raise NotAllowed


# -- staff ------------------------------------------------------------------------------
@transaction.atomic
def staff_create(*, actor, username: str, display_name: str, role: str,
                 location: Location | None, email: str = "") -> StaffProfile:
    """A new account without a password: the person sets their own on an invitation link
    (access.invitations), so nobody else ever types or sees it."""
    require_owner(actor)
    user = User(username=username, email=email)
    user.set_unusable_password()
    user.save()
    profile = StaffProfile.objects.create(user=user, role=role, display_name=display_name,
                                          location=None if role in (Role.OWNER, Role.AUDITOR)
                                          else location)
    _record(actor, actions.STAFF_CREATE, detail={"user": username, "role": role,
                                           "location": location.code if location else ""})
    return profile


@transaction.atomic
def staff_change_role(*, actor, profile: StaffProfile, role: str,
                      location: Location | None) -> StaffProfile:
    require_owner(actor)
    if profile.user_id == actor.pk and role != Role.OWNER:
        raise NotAllowed  # an owner cannot demote themselves and leave the salon ownerless
    before = {"role": profile.role, "location": profile.location.code if profile.location else ""}
    new_location = None if role in (Role.OWNER, Role.AUDITOR) else location
    moved = (new_location.pk if new_location else None) != profile.location_id or role != profile.role
    profile.role, profile.location = role, new_location
    profile.save(update_fields=["role", "location"])
    if moved:
        _end_assignments(actor, profile.user)
    _record(actor, actions.STAFF_ROLE_CHANGE, detail={
        "user": profile.user.get_username(), "before": before,
        "after": {"role": role, "location": location.code if location else ""}})
    return profile


def _end_assignments(actor, user) -> None:
    """Assignments follow the job: a stylist who moves or changes role leaves them behind."""
    for grant in Grant.objects.filter(user=user, source=Grant.Source.ASSIGNMENT,
                                      revoked_at__isnull=True):
        _revoke(grant, reason="role change")
        _record(actor, actions.GRANT_REVOKE, client_id=grant.client_id,
                detail={"user": user.get_username(), "reason": "role change"})
    clients.directory().unassign_all(user)


@transaction.atomic
def staff_deactivate(*, actor, user) -> int:
    """End the person's sessions now, revoke their grants; their history stays intact."""
    require_owner(actor)
    if user == actor:
        raise NotAllowed
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = sessions.end_all(user)
    revoked = 0
    for grant in Grant.objects.filter(user=user, revoked_at__isnull=True):
        _revoke(grant, reason="offboarding")
        revoked += 1
    BreakGlass.objects.filter(user=user, ended_at__isnull=True).update(ended_at=timezone.now())
    _record(actor, actions.STAFF_DEACTIVATE, detail={"user": user.get_username(), "sessions": ended,
                                               "grants_revoked": revoked})
    return revoked


@transaction.atomic
def staff_reactivate(*, actor, user) -> None:
    require_owner(actor)
    user.is_active = True
    user.save(update_fields=["is_active"])
    _record(actor, actions.STAFF_REACTIVATE, detail={"user": user.get_username()})


def staff_unlock(*, actor, username: str) -> int:
    from axes.utils import reset

    require_owner(actor)
    count = reset(username=username)
    _record(actor, actions.AUTH_UNLOCK, detail={"user": username, "attempts_cleared": count})
    return count


# -- grants -----------------------------------------------------------------------------
def _client_ref(client) -> dict:
    return {"client_code": client.code}


@transaction.atomic
def grant_give(*, actor, user, client, source: str = Grant.Source.MANUAL,
               expires_at: dt.datetime | None = None) -> Grant:
    if source == Grant.Source.MANUAL:
        require_owner(actor)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(_("An expiry must be in the future."))
    grant = Grant.objects.create(user=user, client_id=client.pk, location_id=client.location_id,
                                 source=source, granted_by=actor, expires_at=expires_at)
    permissions.give(user, client)
    _record(actor, actions.GRANT_GIVE, client=client, detail={
        "user": user.get_username(), "source": source,
        "expires_at": expires_at.isoformat() if expires_at else None} | _client_ref(client))
    return grant


def _revoke(grant: Grant, *, reason: str) -> None:
    grant.revoked_at = timezone.now()
    grant.revoked_reason = reason
    grant.save(update_fields=["revoked_at", "revoked_reason"])
    still_held = Grant.objects.filter(user=grant.user, client_id=grant.client_id,
                                      revoked_at__isnull=True).exclude(pk=grant.pk).exists()
    if not still_held:
        from guardian.models import UserObjectPermission

        UserObjectPermission.objects.filter(
            user=grant.user, object_pk=str(grant.client_id),
            permission__codename="view_client").delete()


@transaction.atomic
def grant_revoke(*, actor, grant: Grant, reason: str = "revoked") -> None:
    if grant.source == Grant.Source.MANUAL or reason != "unassigned":
        require_owner(actor)
    if grant.revoked_at is not None:
        return
    _revoke(grant, reason=reason)
    _record(actor, actions.GRANT_REVOKE, client_id=grant.client_id,
            detail={"user": grant.user.get_username(), "reason": reason})


def grants_expire(*, now: dt.datetime | None = None) -> int:
    """Revoke grants whose expiry has passed (a periodic job; safe to run twice)."""
    now = now or timezone.now()
    expired = list(Grant.objects.filter(revoked_at__isnull=True, expires_at__lte=now))
    for grant in expired:
        with transaction.atomic():
            _revoke(grant, reason="expired")
            _record(None, actions.GRANT_EXPIRE, client_id=grant.client_id,
                    detail={"user": grant.user.get_username()})
    return len(expired)


@transaction.atomic
def client_assignment_changed(*, actor, client, old_user, new_user,
                              expires_at: dt.datetime | None = None) -> None:
    """Assigning a client grants access; unassigning revokes the grant that came with it."""
    if old_user is not None and old_user != new_user:
        for grant in Grant.objects.filter(user=old_user, client_id=client.pk,
                                          source=Grant.Source.ASSIGNMENT, revoked_at__isnull=True):
            _revoke(grant, reason="unassigned")
            _record(actor, actions.GRANT_REVOKE, client=client,
                    detail={"user": old_user.get_username(), "reason": "unassigned"})
    if new_user is not None and new_user != old_user:
        grant_give(actor=actor, user=new_user, client=client, source=Grant.Source.ASSIGNMENT,
                   expires_at=expires_at)
    elif new_user is not None:
        changed = Grant.objects.filter(user=new_user, client_id=client.pk,
                                       source=Grant.Source.ASSIGNMENT, revoked_at__isnull=True
                                       ).exclude(expires_at=expires_at)
        if changed.update(expires_at=expires_at):
            _record(actor, actions.GRANT_CHANGE_EXPIRY, client=client, detail={
                "user": new_user.get_username(),
                "expires_at": expires_at.isoformat() if expires_at else None})


def grants_for_assignments(*, pairs: list[tuple[object, object]]) -> int:
    """Bulk grants for (staff user, client) assignments made by a system job (demo data)."""
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import UserObjectPermission

    if not pairs:
        return 0
    client_type = ContentType.objects.get_for_model(type(pairs[0][1]))
    perm = client_type.permission_set.get(codename="view_client")
    Grant.objects.bulk_create([Grant(user=u, client_id=c.pk, location_id=c.location_id,
                                     source=Grant.Source.ASSIGNMENT)
                               for u, c in pairs], batch_size=2000)
    UserObjectPermission.objects.bulk_create(
        [UserObjectPermission(user=u, permission=perm, content_type=client_type,
                              object_pk=str(c.pk)) for u, c in pairs],
        batch_size=2000, ignore_conflicts=True)
    return len(pairs)


# -- break-glass ------------------------------------------------------------------------
_TRIVIAL = re.compile(r"^(.)\1*$|^(test|testing|asdf|qwer|need|看看|测试|需要|无|没有)+$", re.I)
MIN_REASON = 15


def validate_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    compact = re.sub(r"\W", "", reason)
    if len(reason) < MIN_REASON or _TRIVIAL.match(compact) or len(set(compact)) < 6:
        raise ValidationError(_("Describe the reason in a full sentence (at least %(n)d "
                                "characters): who needs what, and why now.") % {"n": MIN_REASON})
    return reason


@transaction.atomic
def break_glass_open(*, actor, client, reason: str,
                     decider: policy.Decider | None = None) -> BreakGlass:
    reason = validate_reason(reason)
    decider = decider or policy.Decider(actor)
    if decider.profile is None or decider.role == Role.AUDITOR:
        raise NotAllowed
    if decider.role not in policy.ALL_LOCATIONS and not decider.may_break_glass(client):
        raise ValidationError(_("Break-glass cannot open more of this client than you see "
                                "now: the owner has set the ceiling for your role at this "
                                "location."))
    minutes = settings.BREAK_GLASS_MINUTES
    glass = BreakGlass.objects.create(user=actor, client_id=client.pk, client_code=client.code,
                                      reason=reason,
                                      expires_at=timezone.now() + dt.timedelta(minutes=minutes))
    _record(actor, actions.BREAK_GLASS_OPEN, client=client, break_glass=True,
            detail={"break_glass_id": str(glass.pk), "minutes": minutes} | _client_ref(client))
    return glass


@transaction.atomic
def break_glass_review(*, actor, glass: BreakGlass, justified: bool, note: str) -> BreakGlass:
    require_owner(actor)
    if glass.user_id == actor.pk:
        raise NotAllowed  # nobody reviews their own emergency access
    if glass.verdict != BreakGlass.Verdict.PENDING:
        raise NotAllowed  # a verdict, once given, stands
    glass.verdict = BreakGlass.Verdict.JUSTIFIED if justified else BreakGlass.Verdict.UNJUSTIFIED
    glass.reviewed_by, glass.reviewed_at, glass.review_note = actor, timezone.now(), note
    glass.save(update_fields=["verdict", "reviewed_by", "reviewed_at", "review_note"])
    _record(actor, actions.BREAK_GLASS_REVIEW, client_id=glass.client_id,
            detail={"break_glass_id": str(glass.pk), "verdict": glass.verdict})
    return glass


def break_glass_expire(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return BreakGlass.objects.filter(ended_at__isnull=True, expires_at__lte=now).update(ended_at=now)


# -- agreement and training -------------------------------------------------------------
@transaction.atomic
def agreement_publish(*, actor, title: str, body: str) -> Agreement:
    require_owner(actor)
    last = Agreement.objects.order_by("-version").values_list("version", flat=True).first() or 0
    agreement = Agreement.objects.create(version=last + 1, title=title, body=body,
                                         published_by=actor)
    _record(actor, actions.AGREEMENT_PUBLISH, detail={"version": agreement.version})
    return agreement


@transaction.atomic
def agreement_accept(*, actor, agreement: Agreement) -> AgreementAcceptance:
    acceptance, created = AgreementAcceptance.objects.get_or_create(agreement=agreement, user=actor)
    if created:
        _record(actor, actions.AGREEMENT_ACCEPT, detail={"version": agreement.version})
    return acceptance


@transaction.atomic
def training_record(*, actor, user, course: str, completed_on: dt.date,
                    valid_days: int = 365) -> TrainingRecord:
    require_owner(actor)
    if completed_on > timezone.localdate():
        raise ValidationError(_("Training cannot be completed in the future."))
    record = TrainingRecord.objects.create(
        user=user, course=course, completed_on=completed_on,
        expires_on=completed_on + dt.timedelta(days=valid_days), recorded_by=actor)
    _record(actor, actions.TRAINING_RECORD, detail={"user": user.get_username(), "course": course,
                                              "expires_on": record.expires_on.isoformat()})
    return record


@transaction.atomic
def location_policy_set(*, actor, location: Location, role: str, ceiling: int) -> LocationPolicy:
    """Tighten a role at a location. Loosening beyond the role's default is refused."""
    require_owner(actor)
    if ceiling > policy.ROLE_CEILING[role]:
        raise ValidationError(_("A location can only tighten a role's ceiling."))
    row, _created = LocationPolicy.objects.update_or_create(
        location=location, role=role, defaults={"ceiling": ceiling, "changed_by": actor})
    _record(actor, actions.POLICY_CHANGE, detail={"location": location.code, "role": role,
                                            "ceiling": int(ceiling)})
    return row


# -- access reviews ---------------------------------------------------------------------
def _period(now: dt.datetime) -> str:
    local = timezone.localtime(now)
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def access_review_open(*, now: dt.datetime | None = None) -> AccessReview | None:
    """Open this quarter's review of every active grant; a second call does nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        review, created = AccessReview.objects.get_or_create(
            period=_period(now),
            defaults={"deadline": now + dt.timedelta(days=settings.ACCESS_REVIEW_DEADLINE_DAYS)})
        if not created:
            return None
        grants = Grant.objects.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        AccessReviewItem.objects.bulk_create(
            [AccessReviewItem(review=review, grant=g) for g in grants])
        _record(None, actions.ACCESS_REVIEW_OPEN, detail={"period": review.period,
                                                    "grants": review.items.count()})
    return review


@transaction.atomic
def access_review_decide(*, actor, item: AccessReviewItem, confirm: bool) -> AccessReviewItem:
    require_owner(actor)
    if item.review.state != AccessReview.State.OPEN or item.decision != item.Decision.PENDING:
        raise NotAllowed
    item.decision = item.Decision.CONFIRMED if confirm else item.Decision.REVOKED
    item.decided_by, item.decided_at = actor, timezone.now()
    item.save(update_fields=["decision", "decided_by", "decided_at"])
    if confirm:
        Grant.objects.filter(pk=item.grant_id).update(confirmed_at=item.decided_at)
    elif item.grant.revoked_at is None:
        _revoke(item.grant, reason="access review")
    _record(actor, actions.ACCESS_REVIEW_DECIDE, client_id=item.grant.client_id, detail={
        "period": item.review.period, "user": item.grant.user.get_username(),
        "decision": item.decision})
    return item


def access_review_close_due(*, now: dt.datetime | None = None) -> int:
    """After the deadline, unconfirmed grants expire and the review closes."""
    now = now or timezone.now()
    total = 0
    for review in AccessReview.objects.filter(state=AccessReview.State.OPEN, deadline__lte=now):
        expired = 0
        with transaction.atomic():
            for item in review.items.select_related("grant").filter(
                    decision=AccessReviewItem.Decision.PENDING):
                if item.grant.revoked_at is None:
                    _revoke(item.grant, reason="review deadline")
                item.decision = AccessReviewItem.Decision.EXPIRED
                item.decided_at = now
                item.save(update_fields=["decision", "decided_at"])
                expired += 1
            review.state, review.closed_at = AccessReview.State.CLOSED, now
            review.save(update_fields=["state", "closed_at"])
            _record(None, actions.ACCESS_REVIEW_CLOSE, detail={"period": review.period,
                                                         "expired": expired})
        total += expired
    return total




@transaction.atomic
def client_forgotten(client_id) -> int:
    """A destroyed client: every live grant to it revoked and its object permissions
    removed, so that no grant outlives the record (records/destruction.py)."""
    from guardian.models import UserObjectPermission

    live = list(Grant.objects.filter(client_id=client_id, revoked_at__isnull=True))
    for grant in live:
        _revoke(grant, reason="destroyed")
    UserObjectPermission.objects.filter(object_pk=str(client_id)).delete()
    return len(live)
