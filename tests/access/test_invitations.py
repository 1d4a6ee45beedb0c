"""Invitation and reset links: a person sets their own password and second factor."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from access import invitations
from access.models import Invitation, StaffSession
from audit import integrity
from audit.models import AccessEvent
from tests.access.conftest import PASSWORD, totp_token

OWN_PASSWORD = "Lotus-garden-2025"


def link_on(response) -> str:
    page = response.content.decode()
    assert 'id="invitation-qr"' in page and "<svg" in page
    return re.search(r'id="invitation-url" value="([^"]+)"', page).group(1)


def path_of(link: str) -> str:
    assert link.startswith("http://testserver/accounts/invitation/")
    return link.removeprefix("http://testserver")


@pytest.fixture
def invite(login, owner, location):
    """The owner adds a stylist; returns the link path shown to the owner."""

    def add(**extra):
        data = {"username": "xiaomei", "display_name": "小美", "role": "stylist",
                "location": location.pk} | extra
        response = login(owner, reauthed=True).post(reverse("access:staff_create"), data)
        assert response.status_code == 200
        return path_of(link_on(response))

    return add


def set_password(http, path, password=OWN_PASSWORD, again=None):
    return http.post(path, {"new_password1": password, "new_password2": again or password})


def enrol(http, user):
    http.get("/accounts/otp/setup/")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = http.post("/accounts/otp/setup/", {"token": totp_token(device), "next": "/"})
    assert response.status_code == 200
    return response


# -- a new person -------------------------------------------------------------------------
def test_a_new_stylist_sets_their_own_password_enrols_and_reaches_the_clients(
        invite, browser, owner):
    path = invite()
    page = browser.get(path)
    assert page.status_code == 200 and 'name="new_password1"' in page.content.decode()
    response = set_password(browser, path)
    assert response["Location"] == "/accounts/otp/setup/?next=/"
    person = User.objects.get(username="xiaomei")
    assert person.check_password(OWN_PASSWORD)
    assert browser.get("/clients/")["Location"].startswith("/accounts/otp/")  # not yet
    codes = enrol(browser, person).context["codes"]
    assert len(codes) == 10
    assert browser.get("/")["Location"] == "/clients/"
    assert browser.get("/clients/").status_code == 200
    assert AccessEvent.objects.filter(action="invitation.issue", actor=owner).exists()
    assert AccessEvent.objects.filter(action="invitation.use", actor=person).exists()
    assert integrity.verify_chain(full=True).ok


def test_only_a_hash_of_the_token_is_stored(invite):
    path = invite()
    token = path.rstrip("/").rsplit("/", 1)[-1]
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = repr(list(Invitation.objects.values_list()))
    events = repr(list(AccessEvent.objects.values_list("detail", flat=True)))
    assert token not in stored and token not in events


def test_a_link_works_once(invite, browser, client):
    path = invite()
    set_password(browser, path)
    assert client.get(path).status_code == 404
    response = set_password(client, path, "Another-garden-2026")
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()
    assert User.objects.get(username="xiaomei").check_password(OWN_PASSWORD)


def test_an_unknown_link_changes_nothing(client, stylist):
    response = set_password(client, "/accounts/invitation/not-a-token/")
    assert response.status_code == 404
    assert User.objects.get(pk=stylist.pk).check_password(PASSWORD)


def test_the_link_of_someone_deactivated_meanwhile_opens_nothing(invite, login, owner, browser):
    path = invite()
    person = User.objects.get(username="xiaomei")
    login(owner, reauthed=True).post(reverse("access:staff_deactivate", args=[person.pk]))
    assert browser.get(path).status_code == 404
    assert set_password(browser, path).status_code == 404
    assert not User.objects.get(pk=person.pk).has_usable_password()


def test_an_expired_link_is_refused_and_its_expiry_recorded_once(invite, browser):
    path = invite()
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert browser.get(path).status_code == 404
    assert set_password(browser, path).status_code == 404
    assert not User.objects.get(username="xiaomei").has_usable_password()
    assert Invitation.objects.get().state == Invitation.State.EXPIRED
    assert AccessEvent.objects.filter(action="invitation.expire").count() == 1


def test_the_periodic_job_records_links_that_expired_unused(invite):
    invite()
    assert invitations.invitations_expire() == 0
    later = timezone.now() + dt.timedelta(hours=73)
    assert invitations.invitations_expire(now=later) == 1
    assert invitations.invitations_expire(now=later) == 0
    event = AccessEvent.objects.get(action="invitation.expire")
    assert event.detail["user"] == "xiaomei"


@pytest.mark.parametrize(("password", "error"), [
    ("short", "This password is too short."),
    ("qwerty123456", "This password is too common."),
    ("736194028561", "This password is entirely numeric."),
    ("xiaomei20255", "The password is too similar to the username."),
])
def test_weak_passwords_are_refused_on_the_link(invite, browser, password, error):
    path = invite()
    response = set_password(browser, path, password)
    assert response.status_code == 200
    assert error in response.content.decode().replace("&#x27;", "'")
    assert not User.objects.get(username="xiaomei").has_usable_password()
    assert Invitation.objects.get().state == Invitation.State.OPEN


def test_two_different_passwords_are_refused(invite, browser):
    path = invite()
    response = set_password(browser, path, OWN_PASSWORD, "Lotus-garden-2026")
    assert response.status_code == 200
    assert "fields didn" in response.content.decode().replace("&#x27;", "'")
    assert Invitation.objects.get().state == Invitation.State.OPEN


def test_whoever_was_signed_in_on_that_browser_is_signed_out(invite, sign_in, receptionist):
    path = invite()
    http = sign_in(receptionist)
    assert http.get(path).status_code == 200
    assert "_auth_user_id" not in http.session


def test_the_link_is_mailed_where_mail_is_set_up(invite, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        path = invite(email="xiaomei@example.cn")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["xiaomei@example.cn"]
    assert f"http://testserver{path}" in mail.outbox[0].body


def test_no_mail_without_an_address(invite, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite()
    assert mail.outbox == []


# -- a reset ------------------------------------------------------------------------------
@pytest.fixture
def reset(login, owner):
    def issue(person):
        response = login(owner, reauthed=True).post(reverse("access:staff_reset",
                                                            args=[person.pk]))
        assert response.status_code == 200, response.status_code
        return path_of(link_on(response))

    return issue


def test_a_reset_sets_a_new_password_and_a_new_authenticator(reset, sign_in, browser, stylist,
                                                             owner):
    old_session = sign_in(stylist)
    old_phone = TOTPDevice.objects.get(user=stylist)
    StaticDevice.objects.create(user=stylist, name="recovery", confirmed=True).token_set.create(
        token="old-recovery")
    path = reset(stylist)
    assert User.objects.get(pk=stylist.pk).check_password(PASSWORD)  # until the link is used
    assert set_password(browser, path)["Location"] == "/accounts/otp/setup/?next=/"
    person = User.objects.get(pk=stylist.pk)
    assert person.check_password(OWN_PASSWORD) and not person.check_password(PASSWORD)
    assert not TOTPDevice.objects.filter(pk=old_phone.pk).exists()
    assert not StaticToken.objects.filter(token="old-recovery").exists()
    assert old_session.get("/clients/")["Location"].startswith("/accounts/login/")
    enrol(browser, person)
    assert browser.get("/clients/").status_code == 200
    assert AccessEvent.objects.filter(action="invitation.issue", actor=owner,
                                      detail__kind="reset").exists()


def test_a_reset_ends_the_persons_sessions(reset, sign_in, browser, stylist):
    sign_in(stylist)
    keys = list(StaffSession.objects.filter(user=stylist).values_list("session_key", flat=True))
    set_password(browser, reset(stylist))
    assert not Session.objects.filter(session_key__in=keys).exists()


def test_a_new_link_replaces_the_one_before(reset, browser, stylist):
    first = reset(stylist)
    second = reset(stylist)
    assert browser.get(first).status_code == 404
    assert browser.get(second).status_code == 200


def test_an_owner_cannot_reset_themselves(login, owner):
    response = login(owner, reauthed=True).post(reverse("access:staff_reset", args=[owner.pk]))
    assert response.status_code == 302
    assert not Invitation.objects.exists()


def test_a_reset_asks_the_owner_for_the_password_again(login, owner, stylist):
    response = login(owner).post(reverse("access:staff_reset", args=[stylist.pk]))
    assert response["Location"].startswith("/accounts/reauth/")
    assert not Invitation.objects.exists()


def test_the_staff_page_offers_a_reset_link(login, owner, stylist):
    page = login(owner).get(reverse("access:staff_detail", args=[stylist.pk])).content.decode()
    assert reverse("access:staff_reset", args=[stylist.pk]) in page
    assert 'id="staff-not-joined"' not in page


def test_someone_who_has_not_joined_gets_a_new_invitation_link(invite, login, owner, browser):
    first = invite()
    person = User.objects.get(username="xiaomei")
    http = login(owner)
    page = http.get(reverse("access:staff_detail", args=[person.pk])).content.decode()
    assert 'id="staff-not-joined"' in page and "New invitation link" in page
    again = path_of(link_on(http.post(reverse("access:staff_reset", args=[person.pk]))))
    assert browser.get(first).status_code == 404
    set_password(browser, again)
    assert User.objects.get(pk=person.pk).check_password(OWN_PASSWORD)
