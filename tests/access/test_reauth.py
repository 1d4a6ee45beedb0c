"""Sensitive actions ask for the password (and, for two-factor roles, a code) again."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.models import Agreement, BreakGlass, Grant
from audit.models import AccessEvent
from tests.access.conftest import PASSWORD, REASON_OK, password_and_code, totp_token

REFUSED = "The password or code is not correct."


def _sensitive(name, stylist, unassigned_client, client_record):
    """(person, method, url, data, nothing_happened) for each sensitive action."""
    return {
        "break-glass": ("stylist", "post", reverse("records:break_glass",
                                                   args=[unassigned_client.pk]),
                        {"reason": REASON_OK}, lambda: not BreakGlass.objects.exists()),
        "staff-create": ("owner", "post", reverse("access:staff_create"), {
            "username": "newbie", "display_name": "新人", "role": "reception",
            "location": client_record.location_id},
            lambda: not User.objects.filter(username="newbie").exists()),
        "deactivate": ("owner", "post", reverse("access:staff_deactivate", args=[stylist.pk]),
                       {}, lambda: User.objects.get(pk=stylist.pk).is_active),
        "grant": ("owner", "post", reverse("access:grant_give", args=[stylist.pk]),
                  {"client_code": unassigned_client.code},
                  lambda: not Grant.objects.filter(source="manual").exists()),
        "agreement": ("owner", "post", reverse("access:agreement_publish"),
                      {"title": "v2", "body": "保密"}, lambda: not Agreement.objects.exists()),
    }[name]


@pytest.mark.parametrize("action", ["break-glass", "staff-create", "deactivate", "grant",
                                    "agreement"])
def test_a_sensitive_action_without_re_authentication_goes_to_the_password_page(
        request, login, stylist, unassigned_client, client_record, action):
    person, method, url, data, nothing_happened = _sensitive(action, stylist, unassigned_client,
                                                             client_record)
    http = login(request.getfixturevalue(person))
    response = getattr(http, method)(url, data)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/reauth/?next={url}"
    assert nothing_happened()


@pytest.mark.parametrize("action", ["break-glass", "staff-create", "deactivate", "grant",
                                    "agreement"])
def test_a_sensitive_action_right_after_re_authentication_goes_through(
        request, login, stylist, unassigned_client, client_record, action):
    person, method, url, data, nothing_happened = _sensitive(action, stylist, unassigned_client,
                                                             client_record)
    http = login(request.getfixturevalue(person), reauthed=True)
    response = getattr(http, method)(url, data)
    # Done: a redirect to the result, or (a new person) the page with their invitation link.
    assert response.status_code == (200 if action == "staff-create" else 302)
    assert not response.get("Location", "").startswith("/accounts/reauth/")
    assert not nothing_happened()


def test_the_re_authentication_page_asks_a_receptionist_for_the_password_only(login,
                                                                             receptionist):
    page = login(receptionist).get("/accounts/reauth/").content.decode()
    assert 'name="password"' in page and 'name="token"' not in page


def test_a_receptionist_re_authenticates_with_the_password(login, receptionist):
    http = login(receptionist)
    response = http.post("/accounts/reauth/", {"password": PASSWORD, "next": "/clients/"})
    assert response["Location"] == "/clients/"
    assert time.time() - http.session["sv_reauth_at"] < 60
    assert AccessEvent.objects.filter(action="auth.reauth", actor=receptionist,
                                      outcome="allowed").exists()


def test_a_stylist_re_authenticates_with_password_and_code(login, stylist):
    http = login(stylist)
    assert 'name="token"' in http.get("/accounts/reauth/").content.decode()
    response = http.post("/accounts/reauth/", password_and_code(stylist) | {"next": "/clients/"})
    assert response["Location"] == "/clients/"
    assert "sv_reauth_at" in http.session


def test_a_wrong_password_is_refused(login, stylist):
    http = login(stylist)
    response = http.post("/accounts/reauth/", {"password": "wrong-password-1", "next": "/"})
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert "sv_reauth_at" not in http.session
    assert AccessEvent.objects.filter(action="auth.reauth", actor=stylist,
                                      outcome="denied").exists()


def test_the_owner_re_authenticates_with_password_and_code(login, owner):
    http = login(owner)
    page = http.get("/accounts/reauth/").content.decode()
    assert 'name="token"' in page
    device = TOTPDevice.objects.get(user=owner)
    response = http.post("/accounts/reauth/", {"password": PASSWORD,
                                               "token": totp_token(device), "next": "/staff/"})
    assert response["Location"] == "/staff/"
    assert "sv_reauth_at" in http.session


def test_the_owners_password_alone_is_not_enough(login, owner):
    http = login(owner)
    response = http.post("/accounts/reauth/", {"password": PASSWORD, "next": "/staff/"})
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert "sv_reauth_at" not in http.session


def test_the_owners_code_with_a_wrong_password_is_refused(login, owner):
    http = login(owner)
    device = TOTPDevice.objects.get(user=owner)
    response = http.post("/accounts/reauth/", {"password": "wrong-password-1",
                                               "token": totp_token(device)})
    assert REFUSED in response.content.decode()
    assert "sv_reauth_at" not in http.session


def test_re_authentication_expires_after_the_configured_time(login, owner, settings):
    http = login(owner, reauthed=True)
    session = http.session
    session["sv_reauth_at"] = int(time.time()) - settings.REAUTH_SECONDS - 1
    session.save()
    response = http.get(reverse("access:staff_create"))
    assert response["Location"].startswith("/accounts/reauth/")


def test_re_authentication_never_redirects_to_another_site(login, receptionist):
    response = login(receptionist).post("/accounts/reauth/", {"password": PASSWORD,
                                                              "next": "https://evil.example/x"})
    assert response["Location"] == "/"


def test_the_full_journey_from_the_break_glass_link(login, stylist, unassigned_client):
    http = login(stylist)
    url = reverse("records:break_glass", args=[unassigned_client.pk])
    step = http.get(url)
    step = http.post(step["Location"], password_and_code(stylist) | {"next": url})
    assert step["Location"] == url
    done = http.post(url, {"reason": REASON_OK})
    assert done.status_code == 302
    assert BreakGlass.objects.filter(user=stylist).exists()
