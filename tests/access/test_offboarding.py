"""Deactivating a staff member ends their sessions and grants at once; history stays."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from access import services
from access.models import BreakGlass, Grant, StaffSession
from audit.models import AccessEvent
from tests.access.conftest import PASSWORD, REASON_OK, detail_url
from tests.conftest import verify_otp


def _deactivate(http, user):
    return http.post(reverse("access:staff_deactivate", args=[user.pk]))


def test_deactivating_ends_the_persons_session_at_once(login, sign_in, owner, stylist,
                                                       client_record):
    theirs = sign_in(stylist)
    assert theirs.get(detail_url(client_record)).status_code == 200
    response = _deactivate(login(owner, reauthed=True), stylist)
    assert response.status_code == 302
    after = theirs.get(detail_url(client_record))
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("login"))


def test_deactivating_deletes_the_persons_stored_sessions(login, sign_in, owner, stylist):
    sign_in(stylist)
    sign_in(stylist)
    keys = list(StaffSession.objects.filter(user=stylist).values_list("session_key", flat=True))
    assert len(keys) == 2 and Session.objects.filter(session_key__in=keys).count() == 2
    _deactivate(login(owner, reauthed=True), stylist)
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not StaffSession.objects.filter(user=stylist).exists()


def test_a_session_from_a_real_sign_in_is_ended_too(login, browser, owner, stylist):
    response = browser.post(reverse("login"), {"username": "stylist", "password": PASSWORD})
    assert response.status_code == 302
    verify_otp(browser, stylist)  # a stylist's second factor, as the check would
    assert browser.get(reverse("records:client_list")).status_code == 200
    _deactivate(login(owner, reauthed=True), stylist)
    assert browser.get(reverse("records:client_list")).status_code == 302


def test_a_deactivated_person_cannot_sign_in_again(login, browser, owner, stylist):
    _deactivate(login(owner, reauthed=True), stylist)
    response = browser.post(reverse("login"), {"username": "stylist", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in browser.session


def test_deactivating_revokes_every_grant(login, owner, stylist, client_record,
                                         unassigned_client):
    services.grant_give(actor=owner, user=stylist, client=unassigned_client)
    _deactivate(login(owner, reauthed=True), stylist)
    grants = Grant.objects.filter(user=stylist)
    assert grants.count() == 2
    assert all(g.revoked_at is not None and g.revoked_reason == "offboarding" for g in grants)
    from guardian.models import UserObjectPermission

    assert not UserObjectPermission.objects.filter(user=stylist).exists()


def test_deactivating_ends_open_break_glass(login, owner, stylist, unassigned_client):
    glass = services.break_glass_open(actor=stylist, client=unassigned_client, reason=REASON_OK)
    _deactivate(login(owner, reauthed=True), stylist)
    glass.refresh_from_db()
    assert glass.ended_at is not None
    assert BreakGlass.objects.filter(pk=glass.pk).exists()  # kept for the review


def test_the_persons_access_history_remains(login, sign_in, owner, stylist, client_record):
    sign_in(stylist).get(detail_url(client_record))
    before = AccessEvent.objects.filter(actor=stylist).count()
    assert before > 0
    _deactivate(login(owner, reauthed=True), stylist)
    assert AccessEvent.objects.filter(actor=stylist).count() == before
    page = login(owner).get(reverse("access:staff_detail", args=[stylist.pk])).content.decode()
    assert "client.open" in page and "Deactivated" in page


def test_deactivation_is_recorded(login, owner, stylist, client_record):
    _deactivate(login(owner, reauthed=True), stylist)
    event = AccessEvent.objects.get(action="staff.deactivate")
    assert event.actor == owner
    assert event.detail["user"] == "stylist" and event.detail["grants_revoked"] == 1


def test_an_owner_cannot_deactivate_themselves(login, owner):
    response = _deactivate(login(owner, reauthed=True), owner)
    owner.refresh_from_db()
    assert owner.is_active
    page = login(owner).get(response["Location"]).content.decode()
    assert "You cannot deactivate yourself." in page


def test_the_service_refuses_self_deactivation_too(owner):
    with pytest.raises(services.NotAllowed):
        services.staff_deactivate(actor=owner, user=owner)


def test_deactivation_asks_for_the_password_again(login, owner, stylist):
    response = _deactivate(login(owner), stylist)
    assert response["Location"].startswith("/accounts/reauth/")
    stylist.refresh_from_db()
    assert stylist.is_active


def test_a_reactivated_person_signs_in_but_gets_no_grants_back(login, browser, owner, stylist,
                                                             client_record):
    _deactivate(login(owner, reauthed=True), stylist)
    login(owner).post(reverse("access:staff_reactivate", args=[stylist.pk]))
    response = browser.post(reverse("login"), {"username": "stylist", "password": PASSWORD})
    assert response.status_code == 302
    assert "对PPD染发剂过敏" not in browser.get(detail_url(client_record)).content.decode()
