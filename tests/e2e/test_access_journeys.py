"""Access control as people meet it in the browser."""

from __future__ import annotations

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


@pytest.fixture
def authenticator():
    """A confirmed authenticator app for a user; returns a function that reads its code."""

    def enrol(user):
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        return lambda: TOTP(device.bin_key, device.step, device.t0, device.digits).token()

    return enrol


def _sign_in(page, username, code=None):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct-horse-battery-9")
    page.click("button[type=submit]")
    if code is not None:
        page.wait_for_url("**/accounts/otp/**")
        page.fill("#id_token", f"{code():06d}")
        page.click("button[type=submit]")
    page.wait_for_load_state()


def test_receptionist_searches_a_client_and_cannot_reach_health_notes(
        page, receptionist, client_record):
    _sign_in(page, "reception")
    page.fill("input[name=q]", "李")
    page.click("form.search button")
    page.click("text=李娜")
    assert "13812345678" in page.content()
    assert page.locator("#health").count() == 0
    assert "PPD" not in page.content()
    page.goto(page.url.rstrip("/") + "/edit/")
    assert page.locator("#id_allergies").count() == 0


def test_stylist_breaks_glass_and_the_owner_sees_the_alert(
        browser, live_server, page, stylist, owner, make_client, authenticator):
    other = make_client(full_name="周敏", phone="13600001111", allergies="对乳胶过敏")
    _sign_in(page, "stylist", authenticator(stylist))
    # The code just used cannot be used again within its 30 seconds: a recovery code
    # confirms the password below.
    StaticDevice.objects.create(user=stylist, name="recovery", confirmed=True).token_set.create(
        token="recovery-code-1")
    page.goto(f"/clients/{other.pk}/")
    assert "对乳胶过敏" not in page.content()
    page.click("#break-glass")
    page.wait_for_url("**/accounts/reauth/**")
    page.fill("#id_password", "correct-horse-battery-9")
    page.fill("#id_token", "recovery-code-1")
    page.click("button[type=submit]")
    page.fill("#id_reason", "短")
    page.click("button[type=submit]")
    assert page.locator(".error").count() == 1
    page.fill("#id_reason", "顾客到店要求当场染发，需要确认过敏史以免发生过敏反应")
    page.click("button[type=submit]")
    page.wait_for_selector("#break-glass-active")
    assert "对乳胶过敏" in page.inner_text("#health")

    owner_context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    owner_page = owner_context.new_page()
    _sign_in(owner_page, "owner", authenticator(owner))
    assert owner_page.locator("#nav-dashboard .badge").inner_text() == "1"
    owner_page.click("#nav-dashboard")
    alerts = owner_page.inner_text("#break-glass-alerts")
    assert other.code in alerts and "过敏" in alerts
    owner_context.close()


def test_auditor_with_two_factor_signs_in_and_cannot_open_a_record(
        page, auditor, client_record, authenticator):
    _sign_in(page, "auditor", authenticator(auditor))
    assert "/accounts/otp/" not in page.url
    response = page.goto("/clients/")
    assert response.status == 403
    response = page.goto(f"/clients/{client_record.pk}/")
    assert response.status == 404
    assert "李娜" not in page.content() and "13812345678" not in page.content()


def test_an_auditor_without_the_code_gets_no_further_than_the_check(page, auditor, authenticator):
    authenticator(auditor)
    _sign_in(page, "auditor")
    page.goto("/clients/")
    assert "/accounts/otp/" in page.url
    page.fill("#id_token", "000000")
    page.click("button[type=submit]")
    assert page.locator(".error").count() == 1
