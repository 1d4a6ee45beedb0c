"""The client's own page by signed link: the notice, consents withdrawn in one step with
their effects, requests and complaints, "who saw my data" as roles; a tampered, expired,
revoked or destroyed client's link reveals nothing."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.test import Client as Browser
from django.utils import timezone

from audit.models import AccessEvent
from records import consent, destruction, notices, services
from records.models import ConsentEvent, Destruction, HealthNote, Photo
from rights import links
from rights.models import ClientLink, RightsRequest
from tests.conftest import tasks_run_at_once
from tests.vault.conftest import jpeg_with_gps


@pytest.fixture(autouse=True)
def copies(settings, tmp_path):
    settings.RIGHTS_COPY_DIR = tmp_path / "copies"
    settings.DESTRUCTION_CERTIFICATE_DIR = tmp_path / "certificates"


@pytest.fixture
def notice(owner):
    draft = notices.save_draft(actor=owner, body_zh="本店如何使用您的信息。", body_en="How we use "
                               "your data.", contact="privacy@salon.example / 010-12345678")
    return notices.publish(draft, actor=owner)


@pytest.fixture
def page(client_record, owner, notice):
    """The client's link, and a browser with no account."""
    _, token = links.issue(client_record, actor=owner, language="zh-hans")
    return f"/c/{token}/", Browser()


def test_the_public_notice_reads_retention_from_the_policies(notice, owner):
    from records.models import RetentionPolicy
    from records.retention import policies

    policies()
    RetentionPolicy.objects.filter(key="photos").update(years=2)
    page = Browser().get("/privacy/?lang=en").content.decode()
    assert "How we use your data." in page and "privacy@salon.example" in page
    assert "2 years after your last visit" in page
    assert "本店如何使用您的信息" in Browser().get("/privacy/?lang=zh-hans").content.decode()


def test_the_page_shows_the_notice_until_acknowledged(page, client_record, notice):
    url, browser = page
    shown = browser.get(url)
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    text = shown.content.decode()
    assert "本店如何使用您的信息" in text and 'id="acknowledge"' in text
    assert "李娜" not in text and "13812345678" not in text  # no personal data on the page
    browser.post(url + "notice/", {"lang": "zh-hans"})
    assert notices.acknowledged(client_record.pk, notice.version)
    assert 'id="notice-acknowledged"' in browser.get(url).content.decode()
    assert notices.status(notice)["acknowledged"] == 1


def test_withdrawing_photo_consent_hides_and_destroys_the_photos(
        page, client_record, owner, django_capture_on_commit_callbacks):

    photo = services.photo_add(actor=owner, client=client_record, kind="before",
                               taken_on=dt.date(2026, 3, 1), upload=io.BytesIO(jpeg_with_gps()))
    url, browser = page
    browser.post(url + "consent/", {"purpose": "photos", "action": "given", "agree": "yes"})
    assert consent.is_given(client_record.pk, "photos")
    with tasks_run_at_once(), django_capture_on_commit_callbacks(execute=True):
        browser.post(url + "consent/", {"purpose": "photos", "action": "withdrawn"})
    assert consent.is_withdrawn(client_record.pk, "photos")
    assert not Photo.objects.filter(pk=photo.pk).exists()
    done = Destruction.objects.get(client_id=client_record.pk, scope="photos")
    assert done.state == Destruction.State.CERTIFIED and done.basis == "consent"
    with pytest.raises(consent.ConsentWithdrawn):
        services.photo_add(actor=owner, client=client_record, kind="after",
                           taken_on=dt.date(2026, 3, 2), upload=io.BytesIO(jpeg_with_gps()))


def test_withdrawing_health_consent_stops_new_health_notes(page, client_record, owner):
    url, browser = page
    browser.post(url + "consent/", {"purpose": "health", "action": "withdrawn"})
    with pytest.raises(consent.ConsentWithdrawn):
        services.client_update(actor=owner, client=client_record,
                               data={"allergies": "对芒果过敏"})
    # Editing other fields still works; the kept note stays.
    services.client_update(actor=owner, client=client_record, data={"skin_type": "油性"})
    assert HealthNote.objects.filter(client=client_record).exists()


def test_giving_consent_on_the_page_needs_the_tick(page, client_record):
    url, browser = page
    refused = browser.post(url + "consent/", {"purpose": "marketing", "action": "given"})
    assert refused.status_code == 400 and not consent.is_given(client_record.pk, "marketing")


def test_a_request_from_the_page_is_due_in_fifteen_days(page, client_record):
    url, browser = page
    browser.post(url + "request/", {"kind": "explanation", "details": "你们为什么保存我的照片？"})
    req = RightsRequest.objects.get(client_id=client_record.pk)
    assert req.due_on == timezone.localdate() + dt.timedelta(days=15)
    assert req.state == RightsRequest.State.IN_PROGRESS and req.identity == "client_link"
    raw = RightsRequest.objects.filter(pk=req.pk).values_list("details", flat=True)[0]
    assert "照片" not in str(raw)  # sealed


def test_who_saw_my_data_shows_roles_not_usernames(page, client_record, stylist, login):
    login(stylist).get(f"/clients/{client_record.pk}/")
    url, browser = page
    text = browser.get(url + "?lang=en").content.decode()
    section = text.split('id="section-seen"')[1]
    assert "Stylist" in section and stylist.get_username() not in text


@pytest.mark.parametrize("spoil", ["tamper", "expire", "revoke", "destroy", "garbage"])
def test_a_bad_link_reveals_nothing(page, client_record, owner, spoil):
    url, browser = page
    token = url.split("/")[2]
    if spoil == "tamper":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif spoil == "expire":
        ClientLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    elif spoil == "revoke":
        links.revoke_all(client_record)
    elif spoil == "destroy":
        destruction.destroy_now(client_record, actor=owner, basis="request", reason="test")
    else:
        token = "not-a-link"
    events = AccessEvent.objects.count()
    for path in ("", "?lang=en"):
        shown = browser.get(f"/c/{token}/{path}")
        assert shown.status_code == 404
        text = shown.content.decode()
        assert client_record.code not in text and "李娜" not in text
    for action, data in (("consent/", {"purpose": "photos", "action": "withdrawn"}),
                         ("request/", {"kind": "deletion"}), ("notice/", {}),
                         ("complaint/", {"category": "privacy", "description": "x"})):
        assert browser.post(f"/c/{token}/{action}", data).status_code == 404
    assert not RightsRequest.objects.exists()
    assert AccessEvent.objects.count() == events  # nothing recorded against the client
    assert ConsentEvent.objects.filter(action="withdrawn").count() == 0


def test_the_staff_link_page_shows_the_link_once_with_a_qr_code(client_record, owner, login):
    http = login(owner)
    made = http.post(f"/rights/clients/{client_record.pk}/link/", {"language": "en"})
    text = made.content.decode()
    url = re.search(r'value="(http[^"]+/c/[^"]+/)"', text).group(1)
    assert "<svg" in text
    assert Browser().get(url[url.index("/c/"):]).status_code == 200
    assert ClientLink.objects.get().language == "en"
