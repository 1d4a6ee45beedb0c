"""Fail closed: when the event cannot be written, the access does not happen and the person
is told why, with nothing of the record on the page."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import DatabaseError
from django.urls import reverse

from audit import services
from audit.models import AccessEvent
from records import services as records
from tests.audit.conftest import PDF, PLAINTEXT, jpeg

MESSAGE = "could not be recorded in the audit log"


@pytest.fixture
def audit_down(monkeypatch):
    """From now on every append fails as if the audit table were unavailable."""

    def refuse(event):
        raise DatabaseError("audit table unavailable")

    def down():
        monkeypatch.setattr(services, "_append", refuse)
        return AccessEvent.objects.count()

    return down


def _refused(response) -> str:
    assert response.status_code == 503
    text = response.content.decode()
    assert MESSAGE in text
    for value in PLAINTEXT:
        assert value not in text
    return text


def test_the_service_raises_instead_of_writing(audit_down):
    audit_down()
    with pytest.raises(services.AuditUnavailable):
        services.record(actor=None, actor_label="system:test", action="x", outcome="allowed")


def test_the_client_page_is_refused_with_a_clear_message(login, owner, client_record,
                                                         audit_down):
    http = login(owner)
    before = audit_down()
    _refused(http.get(reverse("records:client_detail", args=[client_record.pk])))
    assert AccessEvent.objects.count() == before


def test_the_client_page_works_again_once_the_audit_log_is_back(login, owner, client_record,
                                                                monkeypatch):
    http = login(owner)
    with monkeypatch.context() as patch:
        patch.setattr(services, "_append", lambda e: (_ for _ in ()).throw(DatabaseError()))
        assert http.get(reverse("records:client_detail",
                                args=[client_record.pk])).status_code == 503
    assert http.get(reverse("records:client_detail", args=[client_record.pk])).status_code == 200


def test_a_search_is_refused(login, receptionist, client_record, audit_down):
    http = login(receptionist)
    audit_down()
    _refused(http.post(reverse("records:client_list"), {"q": "李娜"}))


def test_the_client_list_is_refused(login, receptionist, client_record, audit_down):
    http = login(receptionist)
    audit_down()
    _refused(http.get(reverse("records:client_list")))


def test_a_photo_is_not_served(login, stylist, client_record, audit_down):
    photo = records.photo_add(actor=stylist, client=client_record, upload=io.BytesIO(jpeg()),
                              kind="before", taken_on=dt.date(2024, 5, 1))
    http = login(stylist)
    audit_down()
    response = http.get(reverse("records:photo_view", args=[client_record.pk, photo.pk]))
    _refused(response)
    assert not response["Content-Type"].startswith("image/")


def test_a_signed_form_is_not_served(login, owner, client_record, audit_down):
    signed = records.form_add(actor=owner, client=client_record, upload=io.BytesIO(PDF),
                              kind="consent", signed_on=dt.date(2024, 5, 1))
    http = login(owner)
    audit_down()
    response = http.get(reverse("records:form_view", args=[client_record.pk, signed.pk]))
    _refused(response)
    assert b"%PDF" not in response.content


@pytest.mark.parametrize("name", ["audit:export_csv", "audit:export_jsonl"])
def test_an_export_is_refused_before_a_row_leaves(login, auditor, client_record, audit_down,
                                                  name):
    http = login(auditor, reauthed=True)
    audit_down()
    response = http.get(reverse(name))
    _refused(response)
    assert not response.streaming
    assert "client.create" not in response.content.decode()


def test_an_edit_is_not_saved(login, owner, client_record, audit_down):
    http = login(owner)
    audit_down()
    response = http.post(reverse("records:client_edit", args=[client_record.pk]),
                         {"full_name": "李娜", "phone": "13000000000"})
    _refused(response)
    with pytest.raises(services.AuditUnavailable):
        records.client_update(actor=owner, client=client_record, data={"phone": "13000000000"})


def test_a_treatment_is_not_written(stylist, client_record, audit_down):
    from records.models import Treatment

    audit_down()
    with pytest.raises(services.AuditUnavailable):
        records.treatment_add(actor=stylist, client=client_record,
                              performed_on=dt.date(2024, 6, 1), service="染发")
    assert not Treatment.objects.exists()


def test_a_client_is_not_created(owner, location, audit_down):
    from records.models import Client

    audit_down()
    with pytest.raises(services.AuditUnavailable):
        records.client_create(actor=owner, location=location, data={"full_name": "赵敏"})
    assert not Client.objects.exists()


def test_an_alert_step_is_not_saved_when_it_cannot_be_recorded(auditor, audit_down):
    from django.utils import timezone

    from audit.models import Alert

    now = timezone.now()
    alert = Alert.objects.create(rule="denials", key="denials:x", actor_label="x",
                                 window_start=now, window_end=now)
    audit_down()
    with pytest.raises(services.AuditUnavailable):
        services.alert_step(actor=auditor, alert=alert, step="resolve", comment="checked")
    assert Alert.objects.get(pk=alert.pk).state == Alert.State.OPEN
