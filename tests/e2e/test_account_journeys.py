"""Re-authentication, invitations and two-factor enrolment as people meet them in the browser."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.models import Grant
from tests.e2e.conftest import sign_in_with

PASSWORD = "correct-horse-battery-9"  # noqa: S105


@pytest.fixture
def owner_phone(owner):
    """The owner's authenticator app, and one recovery code for the re-authentication (a
    second TOTP code within the same 30 seconds is refused as a replay)."""
    device = TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    StaticDevice.objects.create(user=owner, name="recovery", confirmed=True).token_set.create(
        token="recovery-code-1")
    return lambda: f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def test_the_owners_grant_goes_through_after_the_password(page, owner, owner_phone, stylist,
                                                         make_client):
    client = make_client(full_name="周敏", phone="13600001111")
    sign_in_with(page, "owner", owner_phone)
    page.goto(f"/staff/people/{stylist.pk}/")
    page.fill("#id_client_code", client.code)
    page.click("#grants button[type=submit]")
    page.wait_for_url("**/accounts/reauth/**")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_token", "recovery-code-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/staff/people/{stylist.pk}/")  # posted again by resume.js
    assert client.code in page.inner_text("#grants")
    assert Grant.objects.filter(user=stylist, client_id=client.pk, source="manual").exists()


def test_the_owner_invites_a_stylist_who_sets_a_password_and_enrols_from_the_typed_key(
        browser, live_server, page, owner, owner_phone, location):
    sign_in_with(page, "owner", owner_phone)
    assert page.url.endswith("/staff/")  # the owner's own home
    page.goto("/staff/people/new/")
    page.wait_for_url("**/accounts/reauth/**")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_token", "recovery-code-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/people/new/")
    page.fill("#id_username", "xiaomei")
    page.fill("#id_display_name", "小美")
    page.select_option("#id_role", "stylist")
    page.select_option("#id_location", str(location.pk))
    page.click("button[type=submit].primary")
    assert page.locator("#invitation-qr svg").count() == 1
    link = page.input_value("#invitation-url")

    newcomer = browser.new_context(base_url=live_server.url, locale="zh-CN")
    tab = newcomer.new_page()
    tab.goto(link)
    tab.fill("#id_new_password1", "Lotus-garden-2025")
    tab.fill("#id_new_password2", "Lotus-garden-2025")
    tab.click("button[type=submit]")
    tab.wait_for_url("**/accounts/otp/setup/**")
    assert tab.locator("#otp-secret").count() == 1 and tab.locator(".qr svg").count() == 1
    # Typed as an authenticator app takes it: base32, spaces ignored.
    typed = tab.inner_text("#otp-secret").replace(" ", "")
    key = base64.b32decode(typed + "=" * (-len(typed) % 8))
    tab.fill("#id_token", f"{TOTP(key).token():06d}")
    tab.click("button[type=submit]")
    assert tab.locator("#recovery-codes li").count() == 10
    tab.click("a.button.primary")
    tab.wait_for_url("**/clients/")
    newcomer.close()
    page.goto(link)
    assert page.locator("h1").count() == 1 and "/accounts/invitation/" in page.url
    assert page.locator("#id_new_password1").count() == 0  # used: the link works once
