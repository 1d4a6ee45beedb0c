"""If the access cannot be recorded, it does not happen."""

from __future__ import annotations

import pytest
from django.db import DatabaseError
from django.urls import reverse

from access import door
from audit import services as audit_services


@pytest.fixture
def broken_audit(monkeypatch):
    def refuse(event):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(audit_services, "_append", refuse)


def test_nothing_is_decrypted_when_the_event_cannot_be_written(owner, client_record, broken_audit):
    from audit.services import AuditUnavailable

    with pytest.raises(AuditUnavailable), door.open_client(user=owner, client=client_record,
                                                           purpose="test"):
        pytest.fail("the scope must not open")
    assert repr(client_record.__class__.objects.get(pk=client_record.pk).full_name) == "‹sealed›"


def test_the_user_sees_a_clear_error_and_no_record(login, owner, client_record, monkeypatch):
    http = login(owner)
    monkeypatch.setattr(audit_services, "_append", lambda *a, **k: (_ for _ in ()).throw(
        DatabaseError("audit table unavailable")))
    response = http.get(reverse("records:client_detail", args=[client_record.pk]))
    assert response.status_code == 503
    text = response.content.decode()
    assert "李娜" not in text and "13812345678" not in text
    assert "audit" in text.lower()


def test_sign_in_fails_closed_too(client, receptionist, broken_audit):
    response = client.post(reverse("login"), {"username": "reception",
                                              "password": "correct-horse-battery-9"})
    assert response.status_code == 503
    assert client.get(reverse("records:client_list")).status_code == 302
