"""Session guard: idle timeout, absolute lifetime, and two-factor before anything else."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from audit import actions
from audit import services as audit

from . import policy

LOGIN_AT = "sv_login_at"
SEEN_AT = "sv_seen_at"
# Reachable before the second factor: signing in and out, the check and enrolment
# themselves, and invitation links (the account page is not among them).
OPEN_PATHS = ("/accounts/login/", "/accounts/logout/", "/accounts/otp/", "/accounts/reauth/",
              "/accounts/invitation/", "/i18n/", "/static/")
SEEN_RESOLUTION = 30  # seconds
EXPIRY_ACTIONS = {"idle_timeout": actions.AUTH_IDLE_TIMEOUT,
                  "session_expired": actions.AUTH_SESSION_EXPIRED}


def needs_otp(user) -> bool:
    return policy.role_of(user) in settings.OTP_REQUIRED_ROLES


class SessionGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            expired = self._expired(request)
            if expired:
                audit.record(actor=user, actor_label=user.get_username(),
                             role=policy.role_of(user), action=EXPIRY_ACTIONS[expired],
                             outcome="allowed")
                logout(request)
                messages.warning(request, _("You were signed out after 15 minutes without "
                                            "activity.") if expired == "idle_timeout" else
                                 _("Your session reached its maximum length. Please sign in again."))
                return redirect(f"{reverse('login')}?{urlencode({'next': request.path}, safe='/')}")
            now = int(time.time())
            # Activity is noted to the half minute: saving the session on every request
            # would write to the database for nothing.
            if now - request.session.get(SEEN_AT, 0) >= SEEN_RESOLUTION:
                request.session[SEEN_AT] = now
            if needs_otp(user) and not user.is_verified() and not request.path.startswith(OPEN_PATHS):
                return redirect(f"/accounts/otp/?{urlencode({'next': request.get_full_path()}, safe='/')}")
        return self.get_response(request)

    @staticmethod
    def _expired(request) -> str:
        now = time.time()
        login_at = request.session.get(LOGIN_AT)
        seen_at = request.session.get(SEEN_AT)
        if login_at is None or now - login_at > settings.SESSION_ABSOLUTE_SECONDS:
            return "session_expired"
        if seen_at is not None and now - seen_at > settings.SESSION_IDLE_SECONDS:
            return "idle_timeout"
        return ""
