"""Two-factor sign-in: every role that reads health data, and the auditor, passes a TOTP
check before anything else."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AccessEvent
from tests.access.conftest import totp_token
from tests.conftest import _person

OTP_PEOPLE = ["owner", "manager", "stylist", "auditor"]


@pytest.fixture
def enrolled(owner, sign_in):
    """The owner has walked through enrolment; returns the recovery codes shown."""
    http = sign_in(owner, verified=False)
    http.get("/accounts/otp/setup/")
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    response = http.post("/accounts/otp/setup/", {"token": totp_token(device)})
    assert response.status_code == 200
    return response.context["codes"]


@pytest.mark.parametrize("person", OTP_PEOPLE)
@pytest.mark.parametrize("path", ["/clients/", "/staff/", "/staff/people/", "/agreement/"])
def test_without_two_factor_every_page_redirects_to_the_check(request, login, person, path):
    http = login(request.getfixturevalue(person), verified=False)
    response = http.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/otp/?next={path}"


@pytest.mark.parametrize("person", OTP_PEOPLE)
def test_without_a_device_the_check_sends_to_enrolment(request, login, person):
    http = login(request.getfixturevalue(person), verified=False)
    response = http.get("/accounts/otp/?next=/clients/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/setup/?next=/clients/"


def test_with_a_device_the_check_asks_for_a_code(login, owner):
    TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    response = login(owner, verified=False).get("/accounts/otp/")
    assert response.status_code == 200
    assert 'name="token"' in response.content.decode()


def test_receptionists_need_no_second_factor(login, receptionist, client_record):
    response = login(receptionist, verified=False).get("/clients/")
    assert response.status_code == 200


def test_a_beautician_needs_the_second_factor(login, location):
    beautician = _person("beautician", "beautician", location)
    response = login(beautician, verified=False).get("/clients/")
    assert response["Location"] == "/accounts/otp/?next=/clients/"


def test_a_client_record_stays_closed_until_the_check(login, owner, client_record):
    response = login(owner, verified=False).get(f"/clients/{client_record.pk}/")
    assert response.status_code == 302
    assert "李娜" not in response.content.decode()
    assert not AccessEvent.objects.filter(action="client.open").exists()


def test_enrolment_shows_an_svg_qr_code_and_the_key_in_base32(login, owner):
    response = login(owner, verified=False).get("/accounts/otp/setup/")
    assert response.status_code == 200
    page = response.content.decode()
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    assert '<svg viewBox="' in page and "</svg>" in page
    secret = re.search(r'<code id="otp-secret">([A-Z2-7 ]+)</code>', page).group(1)
    groups = secret.split(" ")
    assert all(len(g) == 4 for g in groups[:-1]) and 0 < len(groups[-1]) <= 4
    # What an authenticator app decodes from the typed key is the device's key.
    joined = "".join(groups)
    assert base64.b32decode(joined + "=" * (-len(joined) % 8)) == device.bin_key
    assert f"secret={joined}" in device.config_url
    assert device.key not in page


def test_reloading_enrolment_keeps_the_same_unconfirmed_device(login, owner):
    http = login(owner, verified=False)
    http.get("/accounts/otp/setup/")
    http.get("/accounts/otp/setup/")
    assert TOTPDevice.objects.filter(user=owner).count() == 1


def test_a_correct_code_confirms_the_device_and_shows_ten_recovery_codes(login, owner):
    http = login(owner, verified=False)
    http.get("/accounts/otp/setup/?next=/staff/")
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    response = http.post("/accounts/otp/setup/", {"token": totp_token(device), "next": "/staff/"})
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    page = response.content.decode()
    assert all(f"<code>{code}</code>" in page for code in codes)
    assert StaticToken.objects.filter(device__user=owner).count() == 10
    assert http.get("/staff/").status_code == 200  # verified for this session
    assert AccessEvent.objects.filter(action="auth.otp_enrol", actor=owner).exists()


def test_a_wrong_code_does_not_confirm_the_device(login, owner):
    http = login(owner, verified=False)
    http.get("/accounts/otp/setup/")
    device = TOTPDevice.objects.get(user=owner, confirmed=False)
    wrong = f"{(int(totp_token(device)) + 1) % 1_000_000:06d}"
    response = http.post("/accounts/otp/setup/", {"token": wrong})
    assert response.status_code == 200
    assert "This code does not match." in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not StaticDevice.objects.filter(user=owner).exists()
    assert http.get("/staff/").status_code == 302


def test_enrolment_cannot_be_used_to_skip_the_check_of_an_existing_device(login, owner):
    TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    response = login(owner, verified=False).get("/accounts/otp/setup/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/otp/?")


def test_the_current_totp_code_passes_the_check(login, owner):
    device = TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    http = login(owner, verified=False)
    response = http.post("/accounts/otp/", {"token": totp_token(device), "next": "/staff/"})
    assert response["Location"] == "/staff/"
    assert http.get("/staff/").status_code == 200


def test_a_recovery_code_works_once(enrolled, owner, sign_in):
    code = enrolled[0]
    first = sign_in(owner, verified=False)
    assert first.post("/accounts/otp/", {"token": code, "next": "/staff/"}).status_code == 302
    assert first.get("/staff/").status_code == 200
    again = sign_in(owner, verified=False)
    response = again.post("/accounts/otp/", {"token": code})
    assert response.status_code == 200
    assert "This code is not valid." in response.content.decode()
    assert again.get("/staff/").status_code == 302


def test_a_wrong_code_is_refused_and_recorded(enrolled, owner, sign_in):
    http = sign_in(owner, verified=False)
    response = http.post("/accounts/otp/", {"token": "000000"})
    assert response.status_code == 200
    assert "This code is not valid." in response.content.decode()
    assert http.get("/clients/").status_code == 302
    assert AccessEvent.objects.filter(action="auth.otp_verify", outcome="denied").exists()


def test_the_check_never_redirects_to_another_site(login, owner):
    device = TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    response = login(owner, verified=False).post(
        "/accounts/otp/", {"token": totp_token(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"
