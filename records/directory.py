"""The client directory access asks for codes and assignments (see access/clients.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from audit.selectors import normal_code

from .models import Client


def codes(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    return dict(Client.objects.filter(pk__in=list(ids)).values_list("pk", "code"))


def by_code(code: str) -> Client | None:
    return Client.objects.filter(code=normal_code(code)).first()


def unassign_all(user) -> int:
    return Client.objects.filter(assigned_staff=user).update(assigned_staff=None)
