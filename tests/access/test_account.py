"""Where each role lands, and a person's own account and security page."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AccessEvent
from tests.access.conftest import PASSWORD, password_and_code, totp_token


# -- landing --------------------------------------------------------------------------------
@pytest.mark.parametrize(("person", "home"), [
    ("owner", "/staff/"), ("manager", "/clients/"), ("stylist", "/clients/"),
    ("receptionist", "/clients/"), ("auditor", "/audit/"),
])
def test_each_role_lands_on_its_own_page(request, login, person, home):
    http = login(request.getfixturevalue(person))
    response = http.get("/")
    assert response["Location"] == home
    assert http.get(home).status_code == 200


def test_an_auditor_signing_in_lands_on_the_audit_log_without_a_denial(client, auditor):
    device = TOTPDevice.objects.create(user=auditor, name="phone", confirmed=True)
    response = client.post("/accounts/login/", {"username": "auditor", "password": PASSWORD})
    assert response["Location"] == "/"
    checked = client.post("/accounts/otp/", {"token": totp_token(device),
                                             "next": client.get("/")["Location"].split(
                                                 "next=", 1)[1]})
    assert checked["Location"] == "/"
    assert client.get("/")["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200
    assert not AccessEvent.objects.filter(actor=auditor, outcome="denied").exists()


def test_an_anonymous_visitor_at_the_root_goes_to_sign_in(client):
    assert client.get("/")["Location"] == "/accounts/login/"


# -- the account page -------------------------------------------------------------------------
def test_the_account_menu_leads_to_the_security_page(login, stylist):
    http = login(stylist)
    assert 'href="/accounts/security/"' in http.get("/clients/").content.decode()
    page = http.get("/accounts/security/").content.decode()
    assert 'id="account-reenrol"' in page and 'action="/accounts/security/recovery-codes/"' in page


def test_the_security_page_needs_the_second_factor_first(login, stylist):
    response = login(stylist, verified=False).get("/accounts/security/")
    assert response["Location"].startswith("/accounts/otp/")


def test_the_security_page_never_shows_a_key(login, owner):
    http = login(owner)
    device = TOTPDevice.objects.get(user=owner)
    page = http.get("/accounts/security/").content.decode()
    assert device.key not in page


def test_a_new_authenticator_replaces_the_old_phone(login, owner):
    http = login(owner, reauthed=True)
    old = TOTPDevice.objects.get(user=owner)
    assert http.get("/accounts/otp/setup/").status_code == 200
    new = TOTPDevice.objects.get(user=owner, confirmed=False)
    response = http.post("/accounts/otp/setup/", {"token": totp_token(new)})
    assert response.status_code == 200
    assert list(TOTPDevice.objects.filter(user=owner)) == [new]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


def test_re_enrolling_asks_for_the_password_first(login, owner):
    response = login(owner).get("/accounts/otp/setup/")
    assert response["Location"].startswith("/accounts/reauth/")
    assert not TOTPDevice.objects.filter(user=owner, confirmed=False).exists()


def test_new_recovery_codes_after_the_password_replace_the_old(login, owner):
    http = login(owner)
    asked = http.post("/accounts/security/recovery-codes/")
    assert asked["Location"] == "/accounts/reauth/?next=/accounts/security/recovery-codes/"
    assert not StaticToken.objects.filter(device__user=owner).exists()
    resumed = http.post("/accounts/reauth/", password_and_code(owner)
                        | {"next": "/accounts/security/recovery-codes/"})
    assert 'id="resume-form"' in resumed.content.decode()
    shown = http.post("/accounts/security/recovery-codes/")
    codes = shown.context["codes"]
    assert len(codes) == 10 and all(f"<code>{c}</code>" in shown.content.decode() for c in codes)
    assert set(StaticToken.objects.filter(device__user=owner).values_list("token", flat=True)) \
        == set(codes)
    again = http.post("/accounts/security/recovery-codes/").context["codes"]
    assert not set(again) & set(codes)
    assert AccessEvent.objects.filter(action="auth.recovery_codes", actor=owner).count() == 2
    page = http.get("/accounts/security/").content.decode()
    assert not any(code in page for code in again)  # shown once, when made
