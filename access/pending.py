"""A sensitive POST that waited for re-authentication, kept to be resumed after it.

The action is kept in the (server-side) session, signed and bound to the person and the
path it was posted to, for a few minutes. Passwords, codes and the CSRF token are never
kept. After a successful re-authentication the browser posts the same fields to the same
URL again (with a fresh CSRF token), so the view that decides is the one it always was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core import signing
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_KEY = "sv_pending_action"
LIFETIME_SECONDS = 5 * 60
MAX_CHARS = 100_000  # an agreement's text fits; a pasted novel is simply not resumed
_SECRET_FIELD = re.compile(r"password|token|csrf|secret", re.I)


@dataclass(frozen=True)
class PendingAction:
    path: str
    fields: list[tuple[str, str]]
    back: str


class Outcome:
    RESUME = "resume"
    EXPIRED = "expired"
    REFUSED = "refused"
    NONE = "none"


def _salt(user) -> str:
    return f"access.pending_action:{user.pk}"


def _back(request) -> str:
    referer = request.headers.get("referer", "")
    host = request.get_host()
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={host}):
        # Keep only the path: the page the form was on, to return to if it cannot resume.
        parts = urlsplit(referer)
        if parts.path.startswith("/"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/"


def pending_keep(request) -> None:
    """Keep the fields of this POST (never a password) to resume after re-authentication."""
    request.session.pop(SESSION_KEY, None)
    if request.FILES:
        return  # a file cannot be kept; the person chooses it again
    fields = [(name, value) for name, values in request.POST.lists()
              if not _SECRET_FIELD.search(name) for value in values]
    if sum(len(n) + len(v) for n, v in fields) > MAX_CHARS:
        return
    request.session[SESSION_KEY] = signing.dumps(
        {"path": request.path, "fields": fields, "back": _back(request)},
        salt=_salt(request.user), compress=True)


def pending_take(request, *, path: str) -> tuple[str, PendingAction | None]:
    """Remove the kept action and say whether it may be resumed at `path`.

    Single use: whatever the answer, the action is gone from the session afterwards.
    """
    token = request.session.pop(SESSION_KEY, None)
    if token is None:
        return Outcome.NONE, None
    salt = _salt(request.user)
    try:
        data = signing.loads(token, salt=salt, max_age=LIFETIME_SECONDS)
        expired = False
    except signing.SignatureExpired:
        data = signing.loads(token, salt=salt)  # genuine, only too old
        expired = True
    except signing.BadSignature:
        return Outcome.REFUSED, None
    if data["path"] != path:
        return Outcome.NONE, None  # the person went elsewhere; the old action is dropped
    if expired:
        return Outcome.EXPIRED, PendingAction(data["path"], [], data["back"])
    fields = [(str(name), str(value)) for name, value in data["fields"]]
    return Outcome.RESUME, PendingAction(data["path"], fields, data["back"])
