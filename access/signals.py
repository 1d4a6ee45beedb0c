"""Authentication events: recorded in audit, and sessions tracked for offboarding."""

from __future__ import annotations

import time

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit import actions
from audit import services as audit

from . import policy
from .middleware import LOGIN_AT, SEEN_AT
from .models import StaffSession


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    now = int(time.time())
    request.session[LOGIN_AT] = now
    request.session[SEEN_AT] = now
    request.session.save()
    StaffSession.objects.get_or_create(session_key=request.session.session_key,
                                       defaults={"user": user})
    audit.record(actor=user, actor_label=user.get_username(), role=policy.role_of(user),
                 action=actions.AUTH_LOGIN, outcome="allowed")


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        StaffSession.objects.filter(session_key=request.session.session_key).delete()
        audit.record(actor=user, actor_label=user.get_username(), role=policy.role_of(user),
                     action=actions.AUTH_LOGOUT, outcome="allowed")


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    audit.record(actor=None, actor_label=str(credentials.get("username", ""))[:150],
                 action=actions.AUTH_LOGIN_FAILED, outcome="denied")


@receiver(user_locked_out)
def on_locked_out(sender, request, username, ip_address, **kwargs):
    audit.record(actor=None, actor_label=str(username or "")[:150], action=actions.AUTH_LOCKOUT,
                 outcome="denied", detail={"ip": ip_address})
