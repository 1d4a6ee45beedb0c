"""Sessions end after 15 idle minutes and after their absolute lifetime, with a message."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from audit.models import AccessEvent

IDLE_MESSAGE = "You were signed out after 15 minutes without activity."
LIFETIME_MESSAGE = "Your session reached its maximum length. Please sign in again."


def _age(http, key: str, seconds: int) -> None:
    session = http.session
    session[key] = int(time.time()) - seconds
    session.save()


def test_a_session_idle_for_16_minutes_is_signed_out(login, stylist):
    http = login(stylist)
    _age(http, "sv_seen_at", 16 * 60)
    response = http.get(reverse("records:client_list"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/clients/"
    assert "_auth_user_id" not in http.session


def test_the_idle_sign_out_says_why(login, stylist):
    http = login(stylist)
    _age(http, "sv_seen_at", 16 * 60)
    page = http.get(reverse("records:client_list"), follow=True).content.decode()
    assert IDLE_MESSAGE in page


def test_a_session_used_14_minutes_ago_stays_open(login, stylist):
    http = login(stylist)
    _age(http, "sv_seen_at", 14 * 60)
    assert http.get(reverse("records:client_list")).status_code == 200


def test_each_request_counts_as_activity(login, stylist):
    http = login(stylist)
    _age(http, "sv_seen_at", 14 * 60)
    http.get(reverse("records:client_list"))
    assert time.time() - http.session["sv_seen_at"] < 60


def test_activity_is_noted_without_saving_the_session_on_every_request(login, stylist):
    """Noted to the half minute: a click a few seconds after the last writes nothing."""
    from django.contrib.sessions.models import Session

    http = login(stylist)
    http.get(reverse("records:client_list"))
    _age(http, "sv_seen_at", 10)
    noted = http.session["sv_seen_at"]
    saved = Session.objects.get(pk=http.session.session_key).expire_date
    http.get(reverse("records:client_list"))
    assert http.session["sv_seen_at"] == noted
    assert Session.objects.get(pk=http.session.session_key).expire_date == saved
    _age(http, "sv_seen_at", 45)
    http.get(reverse("records:client_list"))
    assert time.time() - http.session["sv_seen_at"] < 5


def test_the_idle_timeout_follows_the_setting(login, stylist, settings):
    settings.SESSION_IDLE_SECONDS = 60
    http = login(stylist)
    _age(http, "sv_seen_at", 120)
    assert http.get(reverse("records:client_list")).status_code == 302
    assert "_auth_user_id" not in http.session


def test_a_session_past_its_absolute_lifetime_is_signed_out(login, stylist, settings):
    http = login(stylist)
    _age(http, "sv_login_at", settings.SESSION_ABSOLUTE_SECONDS + 60)
    response = http.get(reverse("records:client_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in http.session


def test_the_lifetime_sign_out_says_why(login, stylist, settings):
    http = login(stylist)
    _age(http, "sv_login_at", settings.SESSION_ABSOLUTE_SECONDS + 60)
    page = http.get(reverse("records:client_list"), follow=True).content.decode()
    assert LIFETIME_MESSAGE in page


def test_activity_does_not_extend_the_absolute_lifetime(login, stylist, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 3600
    http = login(stylist)
    _age(http, "sv_login_at", 3500)
    assert http.get(reverse("records:client_list")).status_code == 200
    _age(http, "sv_login_at", 3700)
    assert http.get(reverse("records:client_list")).status_code == 302


@pytest.mark.parametrize(("key", "action"), [("sv_seen_at", "auth.idle_timeout"),
                                             ("sv_login_at", "auth.session_expired")])
def test_the_sign_out_is_recorded(login, stylist, key, action):
    http = login(stylist)
    http.raise_request_exception = False  # what the user sees is tested above; this is the log
    _age(http, key, 11 * 3600)
    http.get(reverse("records:client_list"))
    assert AccessEvent.objects.filter(action=action, actor=stylist).exists()


def test_a_timed_out_owner_goes_to_sign_in_not_to_two_factor(login, owner):
    http = login(owner, verified=False)
    _age(http, "sv_seen_at", 16 * 60)
    response = http.get(reverse("access:dashboard"))
    assert response["Location"].startswith(reverse("login"))
