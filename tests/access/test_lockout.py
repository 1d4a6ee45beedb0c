"""Brute-force protection: a username is locked from one address after repeated failures."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AccessEvent
from tests.access.conftest import PASSWORD
from tests.conftest import verify_otp

WRONG = "not-the-password-1"


def _sign_in(http, username="stylist", password=PASSWORD, **extra):
    return http.post(reverse("login"), {"username": username, "password": password}, **extra)


@pytest.fixture
def locked(browser, stylist, settings):
    """The stylist's username has just been locked from this browser's address."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = _sign_in(browser, password=WRONG)
    return response


def test_wrong_passwords_below_the_limit_only_show_the_form_again(browser, stylist, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _sign_in(browser, password=WRONG)
        assert response.status_code == 200
    assert "_auth_user_id" not in browser.session


def test_the_last_failure_shows_a_clear_lockout_page(locked):
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Sign-in locked" in page
    assert "Too many failed sign-in attempts" in page
    assert "ask the salon owner to unlock" in page


def test_the_correct_password_is_refused_while_locked(browser, locked):
    response = _sign_in(browser)
    assert response.status_code == 429
    assert "_auth_user_id" not in browser.session
    assert browser.get(reverse("records:client_list")).status_code == 302


def test_the_lock_holds_for_that_username_only(browser, locked, receptionist):
    response = _sign_in(browser, username="reception")
    assert response.status_code == 302


def test_the_lock_holds_for_that_address_only(browser, locked):
    response = _sign_in(browser, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302


def test_the_lockout_is_recorded(locked, settings):
    assert AccessEvent.objects.filter(action="auth.lockout", actor_label="stylist").exists()
    failures = AccessEvent.objects.filter(action="auth.login_failed", actor_label="stylist")
    assert failures.count() == settings.AXES_FAILURE_LIMIT


def test_the_owner_sees_the_lock_and_unlocks_the_person(browser, locked, login, owner,
                                                        stylist):
    http = login(owner)
    unlock = reverse("access:staff_unlock", args=[stylist.pk])
    page = http.get(reverse("access:staff_detail", args=[stylist.pk])).content.decode()
    assert unlock in page and "Unlock sign-in" in page
    response = http.post(unlock)
    assert response.status_code == 302
    assert _sign_in(browser).status_code == 302
    verify_otp(browser, stylist)  # a stylist's second factor, as the check would
    assert browser.get(reverse("records:client_list")).status_code == 200
    assert AccessEvent.objects.filter(action="auth.unlock", actor=owner).exists()


def test_no_unlock_button_when_nobody_is_locked(login, owner, stylist):
    page = login(owner).get(reverse("access:staff_detail", args=[stylist.pk])).content.decode()
    assert "Unlock sign-in" not in page


def test_only_an_owner_can_unlock(browser, locked, sign_in, manager, stylist):
    response = sign_in(manager).post(reverse("access:staff_unlock", args=[stylist.pk]))
    assert response.status_code == 403
    assert _sign_in(browser).status_code == 429
