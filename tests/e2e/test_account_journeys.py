"""Re-authentication, invitations and two-factor enrolment as people meet them in the browser."""

from __future__ import annotations

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.models import Grant

PASSWORD = "correct-horse-battery-9"  # noqa: S105


@pytest.fixture
def owner_phone(owner):
    """The owner's authenticator app, and one recovery code for the re-authentication (a
    second TOTP code within the same 30 seconds is refused as a replay)."""
    device = TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    StaticDevice.objects.create(user=owner, name="recovery", confirmed=True).token_set.create(
        token="recovery-code-1")
    return lambda: f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def _sign_in(page, username, code):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/otp/**")
    page.fill("#id_token", code())
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_the_owners_grant_goes_through_after_the_password(page, owner, owner_phone, stylist,
                                                         make_client):
    client = make_client(full_name="周敏", phone="13600001111")
    _sign_in(page, "owner", owner_phone)
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
