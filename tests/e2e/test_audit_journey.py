"""An auditor's morning: review a stylist's week, resolve the break-glass alert, export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlencode, urlsplit

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from access import door
from access import services as access_services
from audit import anomalies
from audit import services as audit_services
from audit.models import AccessEvent, Alert
from audit.views import CSV_HEADERS
from tests.e2e.conftest import sign_in_with

PASSWORD = "correct-horse-battery-9"
REASON = "顾客到店要求当场染发，需要确认过敏史以免发生过敏反应"
RECOVERY = "recovery-code-1"


@pytest.fixture
def auditor_with_totp(auditor):
    """The auditor's authenticator app, and one recovery code for re-authentication."""
    device = TOTPDevice.objects.create(user=auditor, name="phone", confirmed=True)
    static = StaticDevice.objects.create(user=auditor, name="recovery", confirmed=True)
    StaticToken.objects.create(device=static, token=RECOVERY)
    return lambda: f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


@pytest.fixture
def stylists_week(stylist, receptionist, client_record, make_client, monkeypatch, settings):
    """Openings by the stylist over the past days, one from before the week, one by someone
    else, then a break-glass and the anomaly run that turns it into an alert."""
    settings.OPENING_HOURS = "00:00-23:59:59.999999"  # only the break-glass rule should fire
    now = timezone.now()
    for days in (10, 3, 3, 1):
        with monkeypatch.context() as patch:
            patch.setattr(audit_services.timezone, "now",
                          lambda days=days: now - dt.timedelta(days=days))
            with door.open_client(user=stylist, client=client_record, purpose="view client record"):
                pass
    with door.open_client(user=receptionist, client=client_record, purpose="view client record"):
        pass
    other = make_client(full_name="周敏", phone="13600001111", allergies="对乳胶过敏")
    access_services.break_glass_open(actor=stylist, client=other, reason=REASON)
    raised = anomalies.detect()
    assert [a.rule for a in raised] == ["break_glass"]
    return raised[0]


def _minute(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def test_auditor_reviews_a_stylists_week_resolves_the_alert_and_exports(
        page, auditor, auditor_with_totp, stylist, stylists_week):
    alert = stylists_week
    now = timezone.now()
    since, until = now - dt.timedelta(days=7), now + dt.timedelta(hours=1)
    expected = set(AccessEvent.objects.filter(
        actor=stylist, at__gte=timezone.localtime(since).replace(second=0, microsecond=0),
        at__lt=until).values_list("seq", flat=True))
    assert len(expected) == 4  # three openings and the break-glass, not the one 10 days ago

    sign_in_with(page, "auditor", auditor_with_totp)
    page.goto("/audit/")
    page.wait_for_selector("#chain-status")

    # Filter: the stylist, the last seven days.
    page.select_option("#audit-filter select[name=person]", str(stylist.pk))
    page.fill("#audit-filter input[name=since]", _minute(since))
    page.fill("#audit-filter input[name=until]", _minute(until))
    with page.expect_navigation():
        page.click("#audit-filter button[type=submit]")
    shown = {int(t) for t in page.locator("table.events tbody tr td:first-child").all_inner_texts()}
    assert shown == expected
    assert "reception" not in page.inner_text("table.events tbody")
    filtered_url = page.url

    # The break-glass alert: open it, try to resolve without a word, then with a comment.
    page.click("a[href='/audit/alerts/']")
    page.click(f"a[href='/audit/alerts/{alert.pk}/']")
    assert stylist.get_username() in page.inner_text("section.card")
    with page.expect_navigation():
        page.click("button[formaction$='/resolve/']")
    assert page.locator(".field.has-error .error").count() == 1
    assert Alert.objects.get(pk=alert.pk).state == Alert.State.OPEN
    page.fill("#id_comment", "已与店长核实：顾客当场要求染发，属正当紧急访问")
    with page.expect_navigation():
        page.click("button[formaction$='/resolve/']")
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED and alert.resolved_by == auditor
    assert "已与店长核实" in page.inner_text("section.card")
    assert AccessEvent.objects.filter(action="alert.resolve", actor=auditor).exists()

    # Export the filtered events (confirming it is the auditor first, as sensitive steps ask).
    target = urlsplit(filtered_url)
    page.goto("/accounts/reauth/?" + urlencode({"next": f"{target.path}?{target.query}"}))
    page.fill("#id_password", PASSWORD)
    if page.locator("#id_token").count():
        page.fill("#id_token", RECOVERY)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/audit/" in page.url
    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    text = open(download.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    _header, *lines = csv.reader(io.StringIO(text))  # headers in the reader's language
    rows = [dict(zip(CSV_HEADERS, line, strict=True)) for line in lines]
    assert {int(r["seq"]) for r in rows} == expected
    assert {r["actor_label"] for r in rows} == {"stylist"}
    assert "李娜" not in text and "对乳胶过敏" not in text
    export = AccessEvent.objects.get(action="audit.export.csv")
    assert export.actor == auditor and export.detail["rows"] == len(expected)
    assert export.detail["filter"]["person"] == stylist.pk
