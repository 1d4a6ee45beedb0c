"""Twenty staff at work at once on the embedded database: every list and every opening
succeeds (SQLite in WAL mode, transactions that take the write lock up front, and a busy
timeout that waits for it instead of failing)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from audit.models import AccessEvent
from tests.conftest import _person, verify_otp

STAFF = 20
ROUNDS = 3

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "vault"])


def _signed_in(user) -> Client:
    http = Client()
    http.force_login(user)
    verify_otp(http, user)
    return http


def test_twenty_staff_listing_and_opening_clients_at_once_get_no_errors(location, make_client):
    clients = [make_client(full_name=f"客户{i}", phone=f"1390000{i:04d}") for i in range(6)]
    people = [_person(f"staff{i}", "reception" if i % 2 else "stylist", location)
              for i in range(STAFF)]
    sessions = [_signed_in(person) for person in people]
    events_before = AccessEvent.objects.count()
    start = threading.Barrier(STAFF)
    failures: list[str] = []

    def work(i: int, http: Client) -> None:
        try:
            start.wait(timeout=60)
            for round_ in range(ROUNDS):
                client = clients[(i + round_) % len(clients)]
                for url in (reverse("records:client_list"),
                            reverse("records:client_detail", args=[client.pk])):
                    response = http.get(url)
                    if response.status_code != 200:
                        failures.append(f"staff{i} {url}: HTTP {response.status_code}")
        except Exception as exc:  # noqa: BLE001 - every failure is the finding
            failures.append(f"staff{i}: {type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i, http)) for i, http in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    # Every list and every opening was recorded: nothing was served unrecorded.
    assert AccessEvent.objects.count() - events_before >= STAFF * ROUNDS * 2


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000  # milliseconds
