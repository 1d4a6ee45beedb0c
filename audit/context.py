"""Who is asking, from where: the request facts every audit event carries."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestFacts:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""


_facts: contextvars.ContextVar[RequestFacts] = contextvars.ContextVar(
    "salon_vault_request_facts", default=RequestFacts())


def current() -> RequestFacts:
    return _facts.get()


def bind(facts: RequestFacts) -> contextvars.Token:
    return _facts.set(facts)


def unbind(token: contextvars.Token) -> None:
    _facts.reset(token)
