"""Who is asking, from where: the request facts every audit event carries."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestFacts:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""


_NO_REQUEST = RequestFacts()
_facts: contextvars.ContextVar[RequestFacts | None] = contextvars.ContextVar(
    "salon_vault_request_facts", default=None)


def current() -> RequestFacts:
    return _facts.get() or _NO_REQUEST


def bind(facts: RequestFacts) -> contextvars.Token:
    return _facts.set(facts)


def unbind(token: contextvars.Token) -> None:
    _facts.reset(token)
