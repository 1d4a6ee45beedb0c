"""The owner's staff pages: people, roles, training, grants and recent access."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import StaffProfile, TrainingRecord
from audit.models import AccessEvent
from tests.access.conftest import detail_page


def _create(http, **overrides):
    data = {"username": "xiaomei", "display_name": "小美", "role": "stylist"} | overrides
    return http.post(reverse("access:staff_create"), data)


# -- creating staff ----------------------------------------------------------------------
def test_owner_creates_a_stylist_and_gets_an_invitation_link(login, owner, location):
    response = _create(login(owner, reauthed=True), location=location.pk)
    user = User.objects.get(username="xiaomei")
    assert response.status_code == 200
    assert user.staff.role == "stylist" and user.staff.location == location
    assert not user.has_usable_password()  # nobody but the person sets it, on the link
    assert 'id="invitation-url"' in response.content.decode()
    assert AccessEvent.objects.filter(action="staff.create", actor=owner).exists()


def test_the_owner_never_types_a_password_for_someone_else(login, owner):
    page = login(owner, reauthed=True).get(reverse("access:staff_create")).content.decode()
    assert 'type="password"' not in page and 'name="password"' not in page


def test_an_owner_or_auditor_is_created_without_a_location(login, owner, location):
    _create(login(owner, reauthed=True), username="shenji", role="auditor",
            location=location.pk)
    assert StaffProfile.objects.get(user__username="shenji").location is None


def test_a_stylist_needs_a_location(login, owner):
    response = _create(login(owner, reauthed=True))
    assert "Staff of this role work at a location." in response.content.decode()
    assert not User.objects.filter(username="xiaomei").exists()


def test_a_username_is_taken_once(login, owner, stylist, location):
    response = _create(login(owner, reauthed=True), username="STYLIST", location=location.pk)
    assert "This username is taken." in response.content.decode()


# -- role, location and training -------------------------------------------------------
def test_owner_moves_a_stylist_to_another_location_as_manager(login, owner, stylist,
                                                              other_location):
    response = login(owner).post(reverse("access:staff_role", args=[stylist.pk]),
                                 {"role": "manager", "location": other_location.pk})
    assert response.status_code == 302
    profile = StaffProfile.objects.get(user=stylist)
    assert profile.role == "manager" and profile.location == other_location
    event = AccessEvent.objects.get(action="staff.role_change")
    assert event.detail["before"] == {"role": "stylist", "location": "bj"}
    assert event.detail["after"] == {"role": "manager", "location": "sh"}


def test_a_role_change_takes_effect_on_the_next_page(login, owner, receptionist, client_record):
    login(owner).post(reverse("access:staff_role", args=[receptionist.pk]),
                      {"role": "stylist", "location": client_record.location_id})
    services.grant_give(actor=owner, user=receptionist, client=client_record)
    assert "对PPD染发剂过敏" in detail_page(login(receptionist), client_record)


def test_a_role_change_without_a_needed_location_is_refused(login, owner, stylist, location):
    http = login(owner)
    response = http.post(reverse("access:staff_role", args=[stylist.pk]), {"role": "reception"},
                         follow=True)
    assert "Choose a location for this role." in response.content.decode()
    assert StaffProfile.objects.get(user=stylist).role == "stylist"


def test_owner_records_training_and_sees_it_on_the_staff_page(login, owner, stylist):
    TrainingRecord.objects.filter(user=stylist).delete()
    http = login(owner)
    today = timezone.localdate()
    http.post(reverse("access:staff_training", args=[stylist.pk]), {
        "course": "个人信息保护法培训", "completed_on": today.isoformat(), "valid_days": 180})
    record = TrainingRecord.objects.get(user=stylist)
    assert record.recorded_by == owner and (record.expires_on - today).days == 180
    page = http.get(reverse("access:staff_detail", args=[stylist.pk])).content.decode()
    assert "个人信息保护法培训" in page and record.expires_on.isoformat() in page


def test_the_staff_page_shows_grants_and_recent_access(login, sign_in, owner, stylist,
                                                       client_record, far_client):
    services.grant_give(actor=owner, user=stylist, client=far_client)
    sign_in(stylist).get(reverse("records:client_detail", args=[client_record.pk]))
    page = login(owner).get(reverse("access:staff_detail", args=[stylist.pk])).content.decode()
    grants = page.split('id="grants"')[1].split("</section>")[0]
    assert client_record.code in grants and far_client.code in grants
    assert "Assigned client" in grants and "Granted by owner" in grants
    assert "client.open" in page and str(client_record.pk) in page


def test_the_staff_list_shows_everyone_with_role_and_location(login, owner, stylist,
                                                              receptionist, auditor):
    page = login(owner).get(reverse("access:staff_list")).content.decode()
    for name in ("owner", "stylist", "reception", "auditor"):
        assert f"<td>{name}</td>" in page
    assert "北京国贸店" in page and "all locations" in page


# -- who may open the staff pages --------------------------------------------------------
def _staff_urls(stylist):
    some = uuid.uuid4()
    return [
        ("get", reverse("access:dashboard")),
        ("get", reverse("access:staff_list")),
        ("get", reverse("access:staff_create")),
        ("get", reverse("access:staff_detail", args=[stylist.pk])),
        ("post", reverse("access:staff_role", args=[stylist.pk])),
        ("post", reverse("access:staff_deactivate", args=[stylist.pk])),
        ("post", reverse("access:staff_reactivate", args=[stylist.pk])),
        ("post", reverse("access:staff_unlock", args=[stylist.pk])),
        ("post", reverse("access:staff_reset", args=[stylist.pk])),
        ("post", reverse("access:staff_training", args=[stylist.pk])),
        ("post", reverse("access:grant_give", args=[stylist.pk])),
        ("post", reverse("access:grant_revoke", args=[some])),
        ("get", reverse("access:break_glass_review", args=[some])),
        ("get", reverse("access:access_review", args=[some])),
        ("get", reverse("access:policies")),
        ("get", reverse("access:agreement_publish")),
    ]


URL_NAMES = ["dashboard", "staff_list", "staff_create", "staff_detail", "staff_role",
             "staff_deactivate", "staff_reactivate", "staff_unlock", "staff_reset", "staff_training",
             "grant_give", "grant_revoke", "break_glass_review", "access_review", "policies",
             "agreement_publish"]


@pytest.mark.parametrize("person", ["manager", "stylist", "receptionist", "auditor"])
@pytest.mark.parametrize("index", range(len(URL_NAMES)), ids=URL_NAMES)
def test_every_staff_page_is_forbidden_to_everyone_but_owners(request, login, stylist, person,
                                                              index):
    method, url = _staff_urls(stylist)[index]
    http = login(request.getfixturevalue(person), reauthed=True)
    response = getattr(http, method)(url, {"role": "owner"} if method == "post" else None)
    assert response.status_code == 403
    assert StaffProfile.objects.get(user=stylist).role == "stylist"
    assert User.objects.get(pk=stylist.pk).is_active


@pytest.mark.parametrize("index", range(len(URL_NAMES)), ids=URL_NAMES)
def test_every_staff_page_sends_anonymous_visitors_to_sign_in(client, stylist, index):
    method, url = _staff_urls(stylist)[index]
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


def test_a_refused_visit_to_a_staff_page_is_recorded(login, manager):
    login(manager).get(reverse("access:staff_list"))
    event = AccessEvent.objects.get(action="staff.page", actor=manager)
    assert event.outcome == "denied" and event.detail == {"view": "staff_list"}


def test_the_dashboard_link_shows_for_owners_only(login, owner, manager):
    assert 'id="nav-dashboard"' in login(owner).get(reverse("records:client_list")).content.decode()
    assert 'id="nav-dashboard"' not in login(manager).get(
        reverse("records:client_list")).content.decode()
