from __future__ import annotations

import uuid

from django.shortcuts import render

from . import context
from .services import AuditUnavailable


class RequestContextMiddleware:
    """Give every request an id, and bind its IP and user agent for audit events."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        facts = context.RequestFacts(
            request_id=request.request_id,
            ip=request.META.get("REMOTE_ADDR") or None,
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
