"""Helpers for the audit tests: events as the chain holds them, time travel for the writer,
lifting the append-only triggers the way an attacker with database access would."""

from __future__ import annotations

import datetime as dt
import io
from contextlib import contextmanager

import pytest
from django.db import connection
from django.utils import timezone
from PIL import Image

from audit import services, triggers
from audit.models import AccessEvent

# The plaintext the fixtures put into client records; none of it may reach the audit side.
PLAINTEXT = ("李娜", "13812345678", "lina@example.cn", "对PPD染发剂过敏", "混合性", "1991-03-14")


def events(action: str | None = None, **filters) -> list[AccessEvent]:
    """Events in chain order, optionally of one action."""
    qs = AccessEvent.objects.order_by("seq")
    if action is not None:
        qs = qs.filter(action=action)
    return list(qs.filter(**filters))


def last_event(action: str, **filters) -> AccessEvent:
    found = events(action, **filters)
    assert found, f"no {action} event was recorded"
    return found[-1]


def from_request(event: AccessEvent, response, *, ip: str, agent: str) -> None:
    """The event carries the facts of the request that caused it."""
    assert event.request_id and event.request_id == response["X-Request-ID"]
    assert event.ip == ip
    assert event.user_agent == agent
    assert abs((timezone.now() - event.at).total_seconds()) < 120


@pytest.fixture(autouse=True)
def checkpoint_dir(settings, tmp_path):
    """Each test keeps its signed checkpoints apart: they outlive the database otherwise."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"
    return settings.AUDIT_CHECKPOINT_DIR


@contextmanager
def triggers_lifted():
    """Drop the append-only triggers (what someone with the database password could do)."""
    triggers.remove(connection)
    try:
        yield connection
    finally:
        triggers.install(connection)


def tamper(sql: str, params=()) -> None:
    with triggers_lifted(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def record_at(monkeypatch):
    """Write an event as if it happened at `when` (the writer stamps `at` from timezone.now)."""

    def write(when: dt.datetime, **kwargs) -> AccessEvent:
        kwargs.setdefault("actor", None)
        kwargs.setdefault("actor_label", "system:test")
        kwargs.setdefault("action", "test.event")
        kwargs.setdefault("outcome", "allowed")
        with monkeypatch.context() as patch:
            patch.setattr(services.timezone, "now", lambda: when)
            return services.record(**kwargs)

    return write


@contextmanager
def clock_at(monkeypatch, when: dt.datetime):
    """Everything that asks timezone.now inside the block is told `when`."""
    with monkeypatch.context() as patch:
        patch.setattr(services.timezone, "now", lambda: when)
        yield


def write(n: int, **kwargs) -> list[AccessEvent]:
    kwargs.setdefault("actor", None)
    kwargs.setdefault("actor_label", "system:test")
    kwargs.setdefault("action", "test.event")
    kwargs.setdefault("outcome", "allowed")
    return [services.record(**kwargs) for _ in range(n)]


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (190, 120, 90)).save(out, format="JPEG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")
