"""Consent recorded at the desk (signed on the tablet, sealed), the guardian rule for
clients under 14, and a new notice version that asks clients to read it and, where the
purposes changed, to consent again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as Browser
from django.utils import timezone

from access import door
from records import consent, notices
from records.models import ConsentEvent
from rights import links
from tests.vault.conftest import signature_data_url
from vault.fields import _files_root


def _consent_page(client) -> str:
    return f"/rights/clients/{client.pk}/consent/"


def _give(http, client, **extra):
    return http.post(_consent_page(client), {"purpose": "health", "action": "given",
                                             "channel": "in_person", **extra})


def test_a_consent_signed_on_the_tablet_is_kept_sealed(login, stylist, client_record):
    http = login(stylist)
    assert http.get(_consent_page(client_record)).status_code == 200
    response = _give(http, client_record, signature=signature_data_url())
    assert response.status_code == 302
    event = ConsentEvent.objects.get(client=client_record)
    assert (event.purpose, event.action, event.recorded_by) == ("health", "given", stylist)
    stored = event.__dict__["signature"]
    on_disk = (_files_root() / stored[:2] / stored).read_bytes()
    assert b"PNG" not in on_disk[:64] and b"IHDR" not in on_disk  # only ciphertext at rest
    assert consent.current(client_record.pk)["health"].pk == event.pk


@pytest.mark.parametrize("signature", ["", "data:image/png;base64,not-base64!",
                                       "data:text/html;base64,PGgxPg=="])
def test_in_person_consent_without_a_readable_signature_is_refused(login, stylist,
                                                                    client_record, signature):
    response = _give(login(stylist), client_record, signature=signature)
    assert response.status_code == 400
    assert not ConsentEvent.objects.exists()


def test_a_paper_consent_needs_no_tablet_signature(login, stylist, client_record):
    response = _give(login(stylist), client_record, channel="paper")
    assert response.status_code == 302
    assert ConsentEvent.objects.get().channel == "paper"


def test_a_client_under_14_needs_a_guardian(login, owner, make_client):
    child = make_client(full_name="小明", phone="13600000014",
                        birthday=timezone.localdate() - dt.timedelta(days=365 * 10))
    http = login(owner)
    refused = _give(http, child, signature=signature_data_url())
    assert refused.status_code == 400 and "14" in refused.content.decode()
    assert not ConsentEvent.objects.exists()
    assert _give(http, child, signature=signature_data_url(),
                 guardian_name="  王  芳 ").status_code == 302
    with door.open_for_system(actor="test", purpose="read the evidence", subjects=[child.pk]):
        assert ConsentEvent.objects.get().guardian_name == "王 芳"  # sealed, read in a scope
    # Nor can the child consent alone on their own page.
    _, token = links.issue(child, actor=owner, language="zh-hans")
    page = Browser().post(f"/c/{token}/consent/", {"purpose": "photos", "action": "given",
                                                   "agree": "yes"})
    assert page.status_code == 400 and ConsentEvent.objects.count() == 1


def test_a_client_of_14_consents_alone(login, owner, make_client):
    teen = make_client(full_name="小红", phone="13600000015",
                       birthday=timezone.localdate().replace(year=timezone.localdate().year - 14))
    assert _give(login(owner), teen, signature=signature_data_url()).status_code == 302


def test_staff_of_another_location_cannot_record_a_consent(login, outsider, client_record):
    response = _give(login(outsider), client_record, signature=signature_data_url())
    assert response.status_code == 404 and not ConsentEvent.objects.exists()


def _publish(http, **fields):
    return http.post("/rights/notice/", {"body_zh": "告知", "body_en": "Notice",
                                         "contact": "privacy@salon.example", "publish": "1",
                                         **fields})


def test_a_new_version_asks_clients_to_read_it_and_to_consent_again(
        login, owner, client_record, make_client):
    make_client(full_name="张伟", phone="13500000001")
    http = login(owner, reauthed=True)
    assert _publish(http).status_code == 302
    v1 = notices.current()
    assert v1.version == 1 and not v1.needs_reconsent
    consent.record_by_staff(actor=owner, client=client_record, purpose="photos",
                            action="given", channel="paper")
    notices.acknowledge(client_record, version=1, channel="client_page")
    assert notices.status(v1) == {"clients": 2, "acknowledged": 1, "to_tell": 1,
                                  "reconsent_due": 0}
    # Version 2 changes the purposes: both clients are to be told again, and the consent
    # given under version 1 is asked for again.
    assert _publish(http, body_en="Notice, new purposes", needs_reconsent="on").status_code == 302
    v2 = notices.current()
    assert v2.version == 2 and v2.needs_reconsent
    assert notices.status(v2) == {"clients": 2, "acknowledged": 0, "to_tell": 2,
                                  "reconsent_due": 1}
    assert notices.reconsent_due(v2) == {(client_record.pk, "photos")}
    page = http.get("/rights/notice/").content.decode()
    assert "0 of 2 clients have read it" in page
    # The client reads it on their page and gives the consent again.
    _, token = links.issue(client_record, actor=owner, language="en")
    browser = Browser()
    shown = browser.get(f"/c/{token}/").content.decode()
    assert "Notice, new purposes" in shown and "asked again" in shown
    assert browser.post(f"/c/{token}/notice/").status_code == 302
    assert browser.post(f"/c/{token}/consent/", {"purpose": "photos", "action": "given",
                                                 "agree": "yes"}).status_code == 302
    assert notices.status(v2) == {"clients": 2, "acknowledged": 1, "to_tell": 1,
                                  "reconsent_due": 0}
    assert "Notice, new purposes" in Browser().get("/privacy/?lang=en").content.decode()
    assert "Notice" in Browser().get("/privacy/v1/?lang=en").content.decode()


def test_publishing_asks_for_the_password_and_for_both_languages(login, owner):
    http = login(owner)
    asked = _publish(http)
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/reauth/")
    assert notices.current() is None and notices.draft() is not None  # the draft is kept
    http = login(owner, reauthed=True)
    refused = _publish(http, body_en="")
    assert refused.status_code == 400 and notices.current() is None
