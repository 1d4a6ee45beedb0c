"""The door: the only way to plaintext.

Every opening asks the policy for a decision, has audit record it, and only then opens an
unsealing scope. If the event cannot be written the scope is never opened (fail closed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.http import Http404

from audit import actions
from audit import services as audit
from vault import scope as vault_scope
from vault.classes import DataClass

from . import policy


class AccessDenied(Http404):
    """Raised for "not allowed" exactly as for "not found": existence never leaks."""


@dataclass(frozen=True)
class Opening:
    ceilings: dict[uuid.UUID, int]
    event: audit.PendingEvent | audit.AccessEvent
    break_glass: object = None  # the active break-glass this opening used, if any
    may_break_glass: bool = False  # break-glass would open more, within the owner's ceiling
    may_assign: bool = False  # the user may assign this client to staff

    def ceiling(self, client) -> int:
        return self.ceilings.get(client.pk, DataClass.NONE)

    @property
    def event_id(self) -> int:
        event = self.event
        return (event.wait() if isinstance(event, audit.PendingEvent) else event).pk


def _location_code(client) -> str:
    location = getattr(client, "location", None)
    return location.code if location is not None else ""


def _label(user) -> str:
    return user.get_username() if getattr(user, "is_authenticated", False) else "anonymous"


@contextmanager
def open_client(*, user, client, purpose: str, action: str = actions.CLIENT_OPEN,
                want: int | None = None, create: bool = False,
                decider: policy.Decider | None = None) -> Iterator[Opening]:
    """Open one client up to the user's ceiling, or up to `want` if that is lower.

    A view that has already asked about the client (`client_for`) hands over its decider,
    so the request's decisions are taken once."""
    decider = decider or policy.Decider(user)
    ceiling = decider.ceiling(client)
    granted = min(ceiling, want) if want is not None else ceiling
    allowed = granted >= DataClass.L1 and (want is None or ceiling >= want)
    # Break-glass counts only when it lifts this opening above what the user holds anyway.
    used_glass = allowed and granted > decider.ceiling_without_glass(client)
    glass = decider.break_glass(client) if used_glass else None
    facts = {
        "actor": user, "actor_label": _label(user), "role": decider.role, "action": action,
        "outcome": "allowed" if allowed else "denied", "client_id": client.pk,
        "client_code": client.code or "", "location_code": _location_code(client),
        "data_class": granted if allowed else (want or 0), "purpose": purpose,
        "break_glass": used_glass,
        "detail": ({"granted": decider.has_grant(client)}
                if decider.role in policy.NEEDS_GRANT_FOR_FULL else {})
        | ({"break_glass_id": str(glass.pk)} if used_glass else {}),
    }
    if not allowed:
        audit.record(**facts)
        raise AccessDenied()
    # The event is written while the caller reads ciphertext; the scope unwraps no key
    # before it is committed, and the opening does not end before that is known.
    pending = audit.record_behind(**facts)
    try:
        with vault_scope._open(ceilings={client.pk: granted}, actor=_label(user),
                               purpose=purpose, may_create_keys=create, confirm=pending.wait):
            yield Opening({client.pk: granted}, pending, glass if used_glass else None,
                          may_break_glass=decider.may_break_glass(client),
                          may_assign=decider.may_assign(client))
    finally:
        pending.wait()


@contextmanager
def open_clients(*, user, clients: Sequence, purpose: str, action: str = actions.CLIENT_LIST,
                 want: int = DataClass.L2, detail: dict | None = None,
                 decider: policy.Decider | None = None) -> Iterator[Opening]:
    """Open a page of clients, each at most at `want` (lists show contact data only)."""
    decider = decider or policy.Decider(user)
    decider.prefetch(clients)
    ceilings = {c.pk: min(decider.ceiling(c), want) for c in clients}
    shown = [pk for pk, level in ceilings.items() if level >= DataClass.L1]
    event = audit.record(
        actor=user, actor_label=_label(user), role=decider.role, action=action,
        outcome="allowed", subjects=shown, data_class=max(ceilings.values(), default=0),
        purpose=purpose, detail=detail,
    )
    with vault_scope._open(ceilings=ceilings, actor=_label(user), purpose=purpose) as scope:
        scope.prefetch(pk for pk, level in ceilings.items() if level >= DataClass.L2)
        yield Opening(ceilings, event)


def ceiling_for_new_client(user, location) -> int:
    """What `user` could open of a client they create at `location` (not assigned to anyone)."""
    return policy.ceiling_for(user, _NewClient(location_id=location.pk))


@dataclass(frozen=True)
class _NewClient:
    location_id: object
    pk: None = None


@contextmanager
def open_new_clients(*, user, location, subjects: Sequence[uuid.UUID], purpose: str,
                     want: int, action: str = actions.CLIENT_IMPORT,
                     detail: dict | None = None) -> Iterator[Opening]:
    """Open a batch of clients that `user` is creating (an import), up to `want`."""
    ceiling = ceiling_for_new_client(user, location)
    allowed = ceiling >= want
    event = audit.record(
        actor=user, actor_label=_label(user), role=policy.role_of(user), action=action,
        outcome="allowed" if allowed else "denied", subjects=subjects if allowed else [],
        location_code=location.code, data_class=want, purpose=purpose,
        detail=(detail or {}) | {"count": len(subjects)},
    )
    if not allowed:
        raise AccessDenied()
    ceilings = dict.fromkeys(subjects, want)
    with vault_scope._open(ceilings=ceilings, actor=_label(user), purpose=purpose,
                           may_create_keys=True):
        yield Opening(ceilings, event)


@contextmanager
def open_for_system(*, actor: str, purpose: str, subjects: Sequence[uuid.UUID] | None = None,
                    ceiling: int = DataClass.L4, create: bool = False,
                    detail: dict | None = None) -> Iterator[Opening]:
    """Open records for a named system job (import, demo data, backups) with a purpose.

    With `subjects` None the scope covers every subject: used by jobs that work on the
    whole salon and are recorded as one event naming the job.
    """
    label = f"system:{actor}"
    event = audit.record(
        actor=None, actor_label=label, role="system", action=actions.SYSTEM_OPEN,
        outcome="allowed", subjects=subjects or [], data_class=ceiling, purpose=purpose,
        detail={"all_subjects": subjects is None} | (detail or {}),
    )
    ceilings = dict.fromkeys(subjects, ceiling) if subjects is not None else {}
    default = ceiling if subjects is None else DataClass.NONE
    with vault_scope._open(ceilings=ceilings, default_ceiling=default, actor=label,
                           purpose=purpose, may_create_keys=create):
        yield Opening(ceilings, event)


@contextmanager
def open_for_client_self(*, client, purpose: str, action: str, ceiling: int = DataClass.L2,
                         detail: dict | None = None) -> Iterator[Opening]:
    """Open one client's own record for that client, on their page reached by a signed link:
    recorded as the client (role "client"), never wider than that one subject."""
    label = f"client:{client.code}"
    event = audit.record(
        actor=None, actor_label=label, role="client", action=action, outcome="allowed",
        client_id=client.pk, client_code=client.code, location_code=_location_code(client),
        data_class=ceiling, purpose=purpose, detail=detail)
    ceilings = {client.pk: ceiling}
    with vault_scope._open(ceilings=ceilings, default_ceiling=DataClass.NONE, actor=label,
                           purpose=purpose, may_create_keys=False):
        yield Opening(ceilings, event)


@contextmanager
def open_case_file(*, user, subjects: Sequence[uuid.UUID], purpose: str, action: str,
                   ceiling: int = DataClass.L3, detail: dict | None = None) -> Iterator[Opening]:
    """Open what clients wrote in a rights request or complaint, for the owner or manager
    handling it (the caller has checked the role): recorded with the user as actor."""
    event = audit.record(
        actor=user, actor_label=_label(user), role=policy.role_of(user), action=action,
        outcome="allowed", subjects=subjects, data_class=ceiling, purpose=purpose,
        detail=detail)
    ceilings = dict.fromkeys(subjects, ceiling)
    with vault_scope._open(ceilings=ceilings, default_ceiling=DataClass.NONE,
                           actor=_label(user), purpose=purpose, may_create_keys=True):
        yield Opening(ceilings, event)


def record_denied(*, user, action: str, purpose: str = "", client_id=None) -> None:
    audit.record(actor=user, actor_label=_label(user), role=policy.role_of(user),
                 action=action, outcome="denied", client_id=client_id, purpose=purpose)
