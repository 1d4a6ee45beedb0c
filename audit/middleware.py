from __future__ import annotations

import ipaddress
import uuid

from django.conf import settings
from django.shortcuts import render

from . import context
from .services import AuditUnavailable


def client_ip(request) -> str | None:
    """The client's address: behind TRUSTED_PROXY_COUNT proxies, the X-Forwarded-For entry
    the nearest trusted one appended (entries before it are the client's own claims)."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if p.strip()]
    if count and len(forwarded) >= count and _is_address(forwarded[-count]):
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR") or None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class RequestContextMiddleware:
    """Give every request an id, and bind its IP and user agent for audit events."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        facts = context.RequestFacts(
            request_id=request.request_id,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
        token = context.bind(facts)
        try:
            response = self.get_response(request)
        finally:
            context.unbind(token)
        response["X-Request-ID"] = request.request_id
        return response

    def process_exception(self, request, exception):
        # Fail closed, visibly: the access did not happen because it could not be recorded.
        if isinstance(exception, AuditUnavailable):
            return render(request, "503.html", status=503)
        return None
