"""Invitation and reset links: how a person sets their own password and second factor.

An owner adds a staff member, or starts someone again after a forgotten password or a
lost phone, by issuing a link. The link is single use, expires, and is shown to the owner
once (copied, as a QR code, or mailed where mail is configured); only a hash of its token
is stored. Issuing, use and expiry are recorded in the audit chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user

from audit import actions
from audit import services as audit

from . import policy, services, sessions
from .models import Invitation, Location, StaffProfile

User = get_user_model()


class InvitationClosed(Exception):
    """The link was used, replaced or has expired in the meantime."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _record(actor, user, action: str, **detail) -> None:
    audit.record(actor=actor, actor_label=actor.get_username() if actor else "system",
                 role=policy.role_of(actor) if actor else "system", action=action,
                 outcome="allowed", detail={"user": user.get_username()} | detail)


def _issue(*, actor, user, kind: str) -> tuple[Invitation, str]:
    now = timezone.now()
    # One live link per person: a new one replaces any that was not used.
    replaced = Invitation.objects.filter(user=user, state=Invitation.State.OPEN).update(
        state=Invitation.State.REVOKED, closed_at=now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        user=user, kind=kind, token_hash=token_hash(token), issued_by=actor,
        expires_at=now + dt.timedelta(hours=settings.INVITATION_HOURS))
    _record(actor, user, actions.INVITATION_ISSUE, kind=kind, replaced=replaced,
            expires_at=invitation.expires_at.isoformat())
    return invitation, token


@transaction.atomic
def invitation_issue(*, actor, username: str, display_name: str, role: str,
                     location: Location | None, email: str = "") -> tuple[Invitation, str]:
    """Create the account (without a password) and its invitation; returns the token."""
    profile: StaffProfile = services.staff_create(
        actor=actor, username=username, display_name=display_name, role=role,
        location=location, email=email)
    return _issue(actor=actor, user=profile.user, kind=Invitation.Kind.INVITE)


@transaction.atomic
def invitation_issue_reset(*, actor, user) -> tuple[Invitation, str]:
    """A link on which `user` sets a new password and enrols a new second factor."""
    services.require_owner(actor)
    if user == actor or not user.is_active:
        raise services.NotAllowed  # another owner resets an owner; reactivate first
    return _issue(actor=actor, user=user, kind=Invitation.Kind.RESET)


def _expire(invitation: Invitation, now: dt.datetime) -> None:
    with transaction.atomic():
        closed = Invitation.objects.filter(pk=invitation.pk, state=Invitation.State.OPEN).update(
            state=Invitation.State.EXPIRED, closed_at=now)
        if closed:
            _record(None, invitation.user, actions.INVITATION_EXPIRE, kind=invitation.kind)


def invitation_open(*, token: str) -> Invitation | None:
    """The open invitation of `token`, or None; an expired one is closed on the way."""
    invitation = (Invitation.objects.select_related("user")
                  .filter(token_hash=token_hash(token)).first())
    if invitation is None or invitation.state != Invitation.State.OPEN:
        return None
    if not invitation.user.is_active:
        return None  # deactivated after the link was issued: it opens nothing
    now = timezone.now()
    if invitation.expires_at <= now:
        _expire(invitation, now)
        return None
    return invitation


def invitations_expire(*, now: dt.datetime | None = None) -> int:
    """Close and record the links whose time has passed (a periodic job; safe to run twice)."""
    now = now or timezone.now()
    due = Invitation.objects.select_related("user").filter(state=Invitation.State.OPEN,
                                                           expires_at__lte=now)
    for invitation in due:
        _expire(invitation, now)
    return len(due)


def _start_again(user) -> None:
    """A reset: every second factor and every session of the person ends."""
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    sessions.end_all(user)


@transaction.atomic
def invitation_accept(*, invitation: Invitation, password: str):
    """Set the person's own password through the link, once; returns the user."""
    now = timezone.now()
    claimed = Invitation.objects.filter(pk=invitation.pk, state=Invitation.State.OPEN,
                                        expires_at__gt=now, user__is_active=True).update(
        state=Invitation.State.USED, closed_at=now)
    if not claimed:
        raise InvitationClosed
    user = invitation.user
    user.set_password(password)
    user.save(update_fields=["password"])
    if invitation.kind == Invitation.Kind.RESET:
        _start_again(user)
    from axes.utils import reset

    reset(username=user.get_username())  # a lockout ends with the new password
    _record(user, user, actions.INVITATION_USE, kind=invitation.kind)
    return user


def mail_configured() -> bool:
    smtp = settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
    return not smtp or bool(settings.EMAIL_HOST)


def invitation_mail(*, user, link: str, kind: str) -> bool:
    """Send the link to the person's address, after commit; False when there is none."""
    if not (user.email and mail_configured()):
        return False
    subject = (_("Your Salon Vault account") if kind == Invitation.Kind.INVITE
               else _("Set a new password for Salon Vault"))
    body = _("Open this link to set your password and your two-factor sign-in. It works "
             "once and expires in %(hours)d hours:\n\n%(link)s\n") % {
        "hours": settings.INVITATION_HOURS, "link": link}
    transaction.on_commit(lambda: send_mail(subject, body, None, [user.email]))
    return True
