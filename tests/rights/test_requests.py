"""Rights requests handled by staff: identity, deadlines with a frozen clock, reminders,
extensions and refusals with reasons, and each kind carried out end to end."""

from __future__ import annotations

import datetime as dt
import io
import json
from unittest import mock

import pytest
import pyzipper
from django.core import mail
from django.test import Client as Browser
from django.utils import timezone

from access import door
from audit import actions
from records import consent, contraindications, services
from records.models import Client, Destruction, Product, Treatment
from rights import links, requests
from rights.models import RightsRequest
from tests.vault.conftest import jpeg_with_gps, signature_data_url


@pytest.fixture(autouse=True)
def places(settings, tmp_path):
    settings.RIGHTS_COPY_DIR = tmp_path / "copies"
    settings.DESTRUCTION_CERTIFICATE_DIR = tmp_path / "certificates"


def received(client, owner, kind, channel="in_person", details="请给我一份我的资料"):
    with door.open_case_file(user=owner, subjects=[client.pk],
                             purpose=actions.HANDLE_RIGHTS_REQUEST,
                             action=actions.RIGHTS_REQUEST_OPEN):
        return requests.open_request(client=client, kind=kind, channel=channel,
                                     details=details, actor=owner)


def test_a_desk_request_needs_an_identity_check_first(client_record, owner, login):
    req = received(client_record, owner, "explanation")
    http = login(owner)
    page = http.post(f"/rights/requests/{req.pk}/", {"step": "answer", "response": "x"})
    assert page.status_code == 400 and "identity" in page.content.decode().lower()
    http.post(f"/rights/requests/{req.pk}/", {"step": "identity", "method": "id_document"})
    http.post(f"/rights/requests/{req.pk}/", {"step": "answer", "response": "我们用于服务记录。"})
    req.refresh_from_db()
    assert req.state == "done" and req.identity_checked_by == owner


def test_extension_and_refusal_need_a_reason(client_record, owner, login):
    req = received(client_record, owner, "explanation")
    http = login(owner)
    later = (req.due_on + dt.timedelta(days=10)).isoformat()
    assert http.post(f"/rights/requests/{req.pk}/", {"step": "extend", "to": later,
                                                     "reason": " "}).status_code == 400
    assert http.post(f"/rights/requests/{req.pk}/", {"step": "refuse", "reason": ""}
                     ).status_code == 400
    http.post(f"/rights/requests/{req.pk}/", {"step": "extend", "to": later,
                                              "reason": "需要查阅纸质档案"})
    req.refresh_from_db()
    assert req.deadline.isoformat() == later and req.is_open
    too_far = (req.due_on + dt.timedelta(days=60)).isoformat()
    assert http.post(f"/rights/requests/{req.pk}/", {"step": "extend", "to": too_far,
                                                     "reason": "x"}).status_code == 400
    http.post(f"/rights/requests/{req.pk}/", {"step": "refuse", "reason": "请求明显无据"})
    req.refresh_from_db()
    assert req.state == "refused" and req.refusal_reason == "请求明显无据"


def test_overdue_requests_and_reminders_with_a_frozen_clock(client_record, owner, login,
                                                            settings):
    settings.EMAIL_HOST = "mail.example"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    owner.email = "owner@salon.example"
    owner.save()
    req = received(client_record, owner, "access")
    day = req.due_on
    assert requests.remind(today=day - dt.timedelta(days=5))["reminded"] == 0
    assert requests.remind(today=day - dt.timedelta(days=2))["reminded"] == 1
    assert requests.remind(today=day - dt.timedelta(days=2))["reminded"] == 0  # once a day
    assert requests.remind(today=day + dt.timedelta(days=1)) == {"reminded": 1, "overdue": 1}
    assert len(mail.outbox) == 2 and client_record.code in mail.outbox[-1].body
    assert "李娜" not in mail.outbox[-1].body
    assert list(requests.overdue(day + dt.timedelta(days=1))) == [req]
    with mock.patch("django.utils.timezone.localdate", return_value=day + dt.timedelta(days=1)):
        http = login(owner)
        page = http.get("/rights/requests/").content.decode()
        assert 'id="overdue-count"' in page
        assert 'id="rights-overdue"' in http.get("/staff/").content.decode()


def test_an_access_request_gives_an_encrypted_copy_downloaded_once(client_record, owner,
                                                                    login):
    services.photo_add(actor=owner, client=client_record, kind="before",
                       taken_on=dt.date(2026, 3, 1), upload=io.BytesIO(jpeg_with_gps()))
    consent.record_by_staff(actor=owner, client=client_record, purpose="health",
                            action="given", channel="in_person",
                            signature_data_url=signature_data_url())
    dye = Product.objects.create(name="测试染膏", allergens="PPD", needs_patch_test=True)
    contraindications.patch_test_add(actor=owner, client=client_record, product=dye,
                                     tested_on=dt.date(2026, 3, 2), result="passed",
                                     reaction="轻微发红")
    _, token = links.issue(client_record, actor=owner, language="en")
    browser = Browser()
    browser.post(f"/c/{token}/request/", {"kind": "access"})
    req = RightsRequest.objects.get(client_id=client_record.pk)
    http = login(owner, reauthed=True)
    made = http.post(f"/rights/requests/{req.pk}/", {"step": "copy", "language": "en"})
    passphrase = made.content.decode().split('id="passphrase">')[1].split("<")[0]
    assert 'id="download-copy"' in browser.get(f"/c/{token}/").content.decode()
    copy = req.copy
    data = browser.post(f"/c/{token}/copy/{copy.pk}/").content
    assert b"13812345678" not in data  # encrypted
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        archive.setpassword(passphrase.encode())
        names = archive.namelist()
        record = json.loads(archive.read("record.json"))
        assert archive.read("record-en.pdf").startswith(b"%PDF")
    assert record["client"]["full_name"] == "李娜" and record["client"]["phone"] == "13812345678"
    assert any(n.startswith("photos/") for n in names)
    # The consent's signature and the patch test (with its sealed result) are theirs too.
    assert any(n.startswith("signatures/") and n.endswith(".png") for n in names)
    assert [c["signed"] for c in record["consents"]] == [True]
    assert [(t["product"], t["result"], t["reaction"]) for t in record["patch_tests"]] == [
        ("测试染膏", "passed", "轻微发红")]
    assert browser.post(f"/c/{token}/copy/{copy.pk}/").status_code == 404  # once only
    assert not requests.copy_path(copy).exists()


def test_a_correction_keeps_the_old_value_sealed(client_record, owner, login):
    req = received(client_record, owner, "correction", details="电话号码错了")
    http = login(owner, reauthed=True)
    http.post(f"/rights/requests/{req.pk}/", {"step": "identity", "method": "known_phone"})
    http.post(f"/rights/requests/{req.pk}/", {"step": "correct", "phone": "13900001111"})
    req.refresh_from_db()
    assert req.state == "done"
    raw = RightsRequest.objects.filter(pk=req.pk).values_list("corrections", flat=True)[0]
    assert "13812345678" not in str(raw)
    page = http.get(f"/rights/requests/{req.pk}/").content.decode()
    assert "13812345678" in page and "13900001111" in page


def test_a_deletion_request_destroys_the_client_with_a_certificate(client_record, owner, login):
    req = received(client_record, owner, "deletion")
    http = login(owner, reauthed=True)
    http.post(f"/rights/requests/{req.pk}/", {"step": "identity", "method": "id_document"})
    assert http.post(f"/rights/requests/{req.pk}/", {"step": "delete"}).status_code == 400
    http.post(f"/rights/requests/{req.pk}/", {"step": "delete", "confirm": "on"})
    req.refresh_from_db()
    assert req.state == "done" and req.destruction.state == Destruction.State.CERTIFIED
    assert not Client.objects.filter(pk=client_record.pk).exists()
    assert 'id="certificate-link"' in http.get(f"/rights/requests/{req.pk}/").content.decode()


def test_a_restriction_stops_new_records(client_record, owner, login):
    req = received(client_record, owner, "restriction")
    http = login(owner)
    http.post(f"/rights/requests/{req.pk}/", {"step": "identity", "method": "id_document"})
    http.post(f"/rights/requests/{req.pk}/", {"step": "restrict"})
    with pytest.raises(consent.Restricted):
        services.treatment_add(actor=owner, client=client_record,
                               performed_on=timezone.localdate(), service="剪发")
    assert 'id="restricted"' in http.get(f"/clients/{client_record.pk}/").content.decode()
    # Through the page: the reason, not an error page, and nothing recorded.
    refused = http.post(f"/clients/{client_record.pk}/treatments/new/", {
        "performed_on": timezone.localdate().isoformat(), "service": "剪发"})
    assert refused.status_code == 400 and 'id="treatment-refused"' in refused.content.decode()
    assert not Treatment.objects.filter(client=client_record).exists()


def test_only_owners_and_managers_handle_requests(client_record, owner, stylist, manager,
                                                  login):
    req = received(client_record, owner, "deletion")
    http = login(stylist)
    assert http.get("/rights/requests/").status_code == 403
    assert http.get(f"/rights/requests/{req.pk}/").status_code == 403
    http = login(manager, reauthed=True)
    assert http.get(f"/rights/requests/{req.pk}/").status_code == 200
    http.post(f"/rights/requests/{req.pk}/", {"step": "identity", "method": "id_document"})
    assert http.post(f"/rights/requests/{req.pk}/", {"step": "delete", "confirm": "on"}
                     ).status_code == 403
    assert Client.objects.filter(pk=client_record.pk).exists()
