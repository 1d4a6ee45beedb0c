"""Break-glass: a stated reason opens a client beyond the ceiling, for a while, and alerts."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import BreakGlass
from audit.models import AccessEvent
from tests.access.conftest import (
    HEALTH,
    PROFILE,
    REASON_OK,
    detail_page,
    detail_url,
    password_and_code,
)

REASON = REASON_OK


def _glass_url(client) -> str:
    return reverse("records:break_glass", args=[client.pk])


def _break_glass(http, client, reason=REASON):
    return http.post(_glass_url(client), {"reason": reason})


@pytest.fixture
def opened(login, stylist, unassigned_client):
    """The stylist has broken the glass on a client not assigned to them."""
    response = _break_glass(login(stylist, reauthed=True), unassigned_client)
    assert response.status_code == 302
    return BreakGlass.objects.get(user=stylist, client_id=unassigned_client.pk)


def test_stylist_sees_the_break_glass_link_on_an_unassigned_client(login, stylist,
                                                                  unassigned_client):
    page = detail_page(login(stylist), unassigned_client)
    assert 'id="break-glass"' in page and _glass_url(unassigned_client) in page


def test_stylist_sees_no_break_glass_link_on_their_assigned_client(login, stylist,
                                                                  client_record):
    assert 'id="break-glass"' not in detail_page(login(stylist), client_record)


@pytest.mark.parametrize("method", ["get", "post"])
def test_break_glass_asks_for_the_password_again_first(login, stylist, unassigned_client,
                                                      method):
    http = login(stylist)
    data = {"reason": REASON} if method == "post" else None
    response = getattr(http, method)(_glass_url(unassigned_client), data)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/reauth/?next={_glass_url(unassigned_client)}"
    assert not BreakGlass.objects.exists()


def test_a_re_authentication_from_long_ago_is_not_enough(login, stylist, unassigned_client,
                                                        settings):
    http = login(stylist)
    session = http.session
    session["sv_reauth_at"] = int(time.time()) - settings.REAUTH_SECONDS - 5
    session.save()
    response = _break_glass(http, unassigned_client)
    assert response["Location"].startswith("/accounts/reauth/")
    assert not BreakGlass.objects.exists()


def test_after_confirming_the_password_the_break_glass_form_opens(login, stylist,
                                                                 unassigned_client):
    http = login(stylist)
    response = http.post("/accounts/reauth/", password_and_code(stylist)
                         | {"next": _glass_url(unassigned_client)})
    assert response["Location"] == _glass_url(unassigned_client)
    form = http.get(_glass_url(unassigned_client))
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()


@pytest.mark.parametrize("reason", ["test", "aaaaaaaaaaaaaaaaa", "need it", "",
                                    "testtesttesttesttest", "测试测试测试测试测试测试测试测试",
                                    "ab ab ab ab ab ab ab ab"])
def test_a_trivial_reason_is_refused_with_a_message(login, stylist, unassigned_client, reason):
    response = _break_glass(login(stylist, reauthed=True), unassigned_client, reason)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Describe the reason in a full sentence" in page or "This field is required." in page
    assert not BreakGlass.objects.exists()
    assert HEALTH not in detail_page(login(stylist), unassigned_client)


def test_a_proper_reason_opens_health_notes(login, stylist, unassigned_client):
    http = login(stylist, reauthed=True)
    assert HEALTH not in detail_page(http, unassigned_client)
    response = _break_glass(http, unassigned_client)
    assert response["Location"] == detail_url(unassigned_client)
    page = detail_page(http, unassigned_client)
    assert HEALTH in page and 'id="break-glass-active"' in page


def test_break_glass_lasts_the_configured_minutes(login, stylist, unassigned_client, settings):
    settings.BREAK_GLASS_MINUTES = 7
    before = timezone.now()
    _break_glass(login(stylist, reauthed=True), unassigned_client)
    glass = BreakGlass.objects.get(user=stylist)
    assert before + dt.timedelta(minutes=7) <= glass.expires_at
    assert glass.expires_at <= timezone.now() + dt.timedelta(minutes=7)
    assert glass.reason == REASON and glass.client_code == unassigned_client.code


def test_the_opening_under_break_glass_is_recorded_as_such(login, stylist, unassigned_client,
                                                          opened):
    detail_page(login(stylist), unassigned_client)
    event = AccessEvent.objects.filter(action="client.open", actor=stylist,
                                       client_id=unassigned_client.pk).latest("id")
    assert event.break_glass is True and event.data_class == 4
    assert event.detail["break_glass_id"] == str(opened.pk)
    start = AccessEvent.objects.get(action="break_glass.open", actor=stylist)
    assert start.break_glass is True and start.client_id == unassigned_client.pk


def test_an_ordinary_opening_is_not_marked_as_break_glass(login, stylist, client_record):
    detail_page(login(stylist), client_record)
    event = AccessEvent.objects.filter(action="client.open", actor=stylist).latest("id")
    assert event.break_glass is False


def test_the_owner_dashboard_lists_the_alert_at_once(login, owner, opened, unassigned_client):
    page = login(owner).get(reverse("access:dashboard")).content.decode()
    assert unassigned_client.code in page and REASON in page
    assert reverse("access:break_glass_review", args=[opened.pk]) in page


def test_owner_reviews_the_alert_and_it_leaves_the_pending_list(login, owner, opened):
    http = login(owner)
    review = reverse("access:break_glass_review", args=[opened.pk])
    assert REASON in http.get(review).content.decode()
    response = http.post(review, {"justified": "yes", "note": "客户确认当天染发"})
    assert response["Location"] == reverse("access:dashboard")
    opened.refresh_from_db()
    assert opened.verdict == BreakGlass.Verdict.JUSTIFIED
    assert opened.reviewed_by == owner and opened.review_note == "客户确认当天染发"
    assert review not in http.get(reverse("access:dashboard")).content.decode()
    assert AccessEvent.objects.filter(action="break_glass.review", actor=owner).exists()


def test_owner_can_find_the_break_glass_unjustified(login, owner, opened):
    login(owner).post(reverse("access:break_glass_review", args=[opened.pk]),
                      {"justified": "no", "note": "没有预约，不需要查看"})
    opened.refresh_from_db()
    assert opened.verdict == BreakGlass.Verdict.UNJUSTIFIED


def test_a_review_needs_a_verdict_and_a_comment(login, owner, opened):
    response = login(owner).post(reverse("access:break_glass_review", args=[opened.pk]),
                                 {"justified": "yes", "note": ""})
    assert response.status_code == 200
    opened.refresh_from_db()
    assert opened.verdict == BreakGlass.Verdict.PENDING


def test_the_review_page_shows_what_was_opened(login, owner, stylist, opened,
                                               unassigned_client):
    detail_page(login(stylist), unassigned_client)
    page = login(owner).get(reverse("access:break_glass_review",
                                    args=[opened.pk])).content.decode()
    assert "client.open" in page and "L4" in page


def test_after_expiry_health_notes_are_hidden_again(login, stylist, unassigned_client, opened):
    assert services.break_glass_expire(now=opened.expires_at + dt.timedelta(seconds=1)) == 1
    opened.refresh_from_db()
    assert opened.ended_at is not None
    page = detail_page(login(stylist), unassigned_client)
    assert "周洁" in page and HEALTH not in page


def test_break_glass_ends_by_the_clock_even_before_the_job_runs(login, stylist,
                                                               unassigned_client, opened,
                                                               monkeypatch):
    later = opened.expires_at + dt.timedelta(seconds=1)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert HEALTH not in detail_page(login(stylist), unassigned_client)


def test_expiring_break_glass_before_its_time_changes_nothing(login, stylist,
                                                              unassigned_client, opened):
    assert services.break_glass_expire(now=opened.expires_at - dt.timedelta(minutes=1)) == 0
    assert HEALTH in detail_page(login(stylist), unassigned_client)


def test_an_auditor_cannot_break_glass(login, auditor, client_record):
    response = _break_glass(login(auditor, reauthed=True), client_record)
    assert response.status_code == 404
    with pytest.raises(services.NotAllowed):
        services.break_glass_open(actor=auditor, client=client_record, reason=REASON)
    assert not BreakGlass.objects.exists()


def test_a_stylist_cannot_break_glass_on_a_client_of_another_location(login, stylist,
                                                                     far_client):
    response = _break_glass(login(stylist, reauthed=True), far_client)
    assert response.status_code == 404
    assert not BreakGlass.objects.exists()


def test_an_owner_cannot_review_their_own_break_glass(login, owner, second_owner,
                                                      unassigned_client):
    glass = services.break_glass_open(actor=owner, client=unassigned_client, reason=REASON)
    url = reverse("access:break_glass_review", args=[glass.pk])
    response = login(owner).post(url, {"justified": "yes", "note": "我自己看的"})
    assert response.status_code == 200
    assert "Another owner must review your own break-glass access." in response.content.decode()
    glass.refresh_from_db()
    assert glass.verdict == BreakGlass.Verdict.PENDING and glass.reviewed_by is None


def test_another_owner_reviews_an_owners_break_glass(login, owner, second_owner,
                                                     unassigned_client):
    glass = services.break_glass_open(actor=owner, client=unassigned_client, reason=REASON)
    login(second_owner).post(reverse("access:break_glass_review", args=[glass.pk]),
                             {"justified": "yes", "note": "已核实"})
    glass.refresh_from_db()
    assert glass.verdict == BreakGlass.Verdict.JUSTIFIED and glass.reviewed_by == second_owner


@pytest.mark.parametrize("person", ["manager", "stylist", "receptionist", "auditor"])
def test_only_owners_review_break_glass(request, login, opened, person):
    response = login(request.getfixturevalue(person)).post(
        reverse("access:break_glass_review", args=[opened.pk]),
        {"justified": "yes", "note": "looks fine"})
    assert response.status_code == 403
    opened.refresh_from_db()
    assert opened.verdict == BreakGlass.Verdict.PENDING


def test_a_reviewed_break_glass_keeps_its_verdict(login, owner, second_owner, opened):
    login(owner).post(reverse("access:break_glass_review", args=[opened.pk]),
                      {"justified": "no", "note": "没有预约，不需要查看"})
    login(second_owner).post(reverse("access:break_glass_review", args=[opened.pk]),
                             {"justified": "yes", "note": "改为合理"})
    opened.refresh_from_db()
    assert opened.verdict == BreakGlass.Verdict.UNJUSTIFIED
    assert opened.reviewed_by == owner and opened.review_note == "没有预约，不需要查看"


# -- the owner's ceiling for the role at the location bounds break-glass -------------------
def _tighten(login, owner, location, role, ceiling):
    response = login(owner).post(reverse("access:policies"),
                                 {"location": location.pk, "role": role, "ceiling": ceiling})
    assert response.status_code == 302


def test_break_glass_opens_only_up_to_the_owners_ceiling_for_the_role(
        login, owner, stylist, location, unassigned_client):
    _tighten(login, owner, location, "stylist", 3)
    http = login(stylist, reauthed=True)
    page = detail_page(http, unassigned_client)
    assert PROFILE not in page and 'id="break-glass"' in page  # L3 is still more than L2
    assert _break_glass(http, unassigned_client).status_code == 302
    page = detail_page(http, unassigned_client)
    assert PROFILE in page and HEALTH not in page
    event = AccessEvent.objects.filter(action="client.open", actor=stylist).latest("id")
    assert event.break_glass is True and event.data_class == 3


def test_break_glass_is_not_offered_when_the_ceiling_leaves_nothing_to_open(
        login, owner, stylist, location, unassigned_client):
    _tighten(login, owner, location, "stylist", 2)
    http = login(stylist, reauthed=True)
    assert 'id="break-glass"' not in detail_page(http, unassigned_client)
    response = _break_glass(http, unassigned_client)
    assert response.status_code == 200
    assert "the owner has set the ceiling" in response.content.decode()
    assert not BreakGlass.objects.exists()
    assert PROFILE not in detail_page(http, unassigned_client)


def test_tightening_after_the_glass_was_broken_closes_what_it_opened(
        login, sign_in, owner, stylist, location, unassigned_client, opened):
    http = login(stylist)
    assert HEALTH in detail_page(http, unassigned_client)
    response = sign_in(owner).post(reverse("access:policies"),
                                   {"location": location.pk, "role": "stylist", "ceiling": 2})
    assert response.status_code == 302
    page = detail_page(http, unassigned_client)
    assert HEALTH not in page and PROFILE not in page


def test_a_ceiling_at_another_location_does_not_bound_break_glass_here(
        login, owner, stylist, other_location, unassigned_client):
    _tighten(login, owner, other_location, "stylist", 2)
    http = login(stylist, reauthed=True)
    _break_glass(http, unassigned_client)
    assert HEALTH in detail_page(http, unassigned_client)
