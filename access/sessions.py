"""Ending a person's sessions, whatever the session engine (database, or database behind
the cache when Redis is configured): deactivation and a reset sign them out everywhere."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings

from .models import StaffSession


def end_all(user) -> int:
    """End every session `user` has open; returns how many there were."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(StaffSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store().delete(key)  # through the engine, so a cached copy goes too
    StaffSession.objects.filter(user=user).delete()
    return len(keys)
