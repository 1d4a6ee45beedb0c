"""Each role's ceiling on the clients it meets, told through the client page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from access.models import LocationPolicy
from records import selectors
from tests.access.conftest import CONTACT, HEALTH, PROFILE, detail_url, shows

NOTHING = None
L2 = {"contact": True, "profile": False, "health": False}
L3 = {"contact": True, "profile": True, "health": False}
L4 = {"contact": True, "profile": True, "health": True}

# (person, which client) -> what the client page shows; NOTHING is the same 404 as missing.
MATRIX = [
    ("owner", "assigned", L4), ("owner", "unassigned", L4), ("owner", "far", L4),
    ("manager", "assigned", L3), ("manager", "unassigned", L3), ("manager", "far", NOTHING),
    ("stylist", "assigned", L4), ("stylist", "unassigned", L2), ("stylist", "far", NOTHING),
    ("receptionist", "assigned", L2), ("receptionist", "unassigned", L2),
    ("receptionist", "far", NOTHING),
    ("auditor", "assigned", NOTHING), ("auditor", "unassigned", NOTHING),
    ("auditor", "far", NOTHING),
    ("outsider", "assigned", NOTHING), ("outsider", "unassigned", NOTHING),
    ("outsider", "far", L2),
]
CLIENTS = {"assigned": "client_record", "unassigned": "unassigned_client", "far": "far_client"}


def _label(expected) -> str:
    return "nothing" if expected is NOTHING else f"L{1 + sum(expected.values())}"


@pytest.mark.parametrize(("person", "which", "expected"), MATRIX,
                         ids=[f"{p}-{w}-{_label(e)}" for p, w, e in MATRIX])
def test_each_person_sees_each_client_up_to_their_ceiling(request, login, with_photo,
                                                          person, which, expected):
    user = request.getfixturevalue(person)
    client = request.getfixturevalue(CLIENTS[which])
    photo = with_photo(client)
    response = login(user).get(detail_url(client))
    page = response.content.decode()
    if expected is NOTHING:
        assert response.status_code == 404
        assert shows(page) == {"contact": False, "profile": False, "health": False}
        return
    assert response.status_code == 200
    assert shows(page) == expected
    photo_url = reverse("records:photo_view", args=[client.pk, photo.pk])
    assert (photo_url in page) is expected["health"]


@pytest.mark.parametrize("person", ["manager", "stylist", "receptionist"])
def test_photos_of_a_client_stay_closed_below_l4(request, login, with_photo, unassigned_client,
                                                 person):
    photo = with_photo(unassigned_client)
    url = reverse("records:photo_view", args=[unassigned_client.pk, photo.pk])
    response = login(request.getfixturevalue(person)).get(url)
    assert response.status_code == 404
    assert response.get("Content-Type", "").startswith("text/html")


def test_assigned_stylist_can_open_the_photo_itself(login, with_photo, stylist, client_record):
    photo = with_photo(client_record)
    url = reverse("records:photo_view", args=[client_record.pk, photo.pk])
    response = login(stylist).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"


def test_stylist_who_creates_a_client_is_assigned_and_opens_it_fully(login, stylist):
    http = login(stylist)
    response = http.post(reverse("records:client_create"),
                         {"full_name": "吴倩", "phone": "13500001111"})
    assert response.status_code == 302
    page = http.get(response["Location"]).content.decode()
    assert "吴倩" in page
    assert 'id="health"' in page  # the health section opens for their own client


def test_owner_tightens_stylists_at_a_location_and_health_notes_close(
        login, owner, stylist, location, client_record):
    http = login(owner)
    response = http.post(reverse("access:policies"),
                         {"location": location.pk, "role": "stylist", "ceiling": 3})
    assert response.status_code == 302
    assert LocationPolicy.objects.get(location=location, role="stylist").ceiling == 3
    page = login(stylist).get(detail_url(client_record)).content.decode()
    assert PROFILE in page
    assert HEALTH not in page


def test_tightening_one_location_leaves_the_other_alone(
        login, owner, location, outsider, make_client, other_location):
    far_assigned = make_client(location=other_location, full_name="陈静", allergies=HEALTH,
                               assigned_staff=outsider)
    login(owner).post(reverse("access:policies"),
                      {"location": location.pk, "role": "stylist", "ceiling": 2})
    page = login(outsider).get(detail_url(far_assigned)).content.decode()
    assert HEALTH in page


def test_tightening_is_listed_on_the_policies_page(login, owner, location):
    http = login(owner)
    http.post(reverse("access:policies"), {"location": location.pk, "role": "manager",
                                           "ceiling": 2})
    page = http.get(reverse("access:policies")).content.decode()
    assert location.name in page and "L2" in page


@pytest.mark.parametrize(("role", "ceiling"), [("reception", 3), ("reception", 4),
                                               ("manager", 4)])
def test_owner_cannot_loosen_a_role_beyond_its_default(login, owner, location, role, ceiling):
    response = login(owner).post(reverse("access:policies"),
                                 {"location": location.pk, "role": role, "ceiling": ceiling})
    assert response.status_code == 200
    assert "A location can only tighten a role&#x27;s ceiling." in response.content.decode()
    assert not LocationPolicy.objects.filter(location=location, role=role).exists()


def test_loosening_back_to_the_default_after_tightening_is_allowed(
        login, owner, stylist, location, client_record):
    http = login(owner)
    http.post(reverse("access:policies"), {"location": location.pk, "role": "stylist",
                                           "ceiling": 2})
    http.post(reverse("access:policies"), {"location": location.pk, "role": "stylist",
                                           "ceiling": 4})
    assert HEALTH in login(stylist).get(detail_url(client_record)).content.decode()


def test_a_user_without_a_staff_profile_gets_403_on_the_client_list(login, client_record):
    stranger = User.objects.create_user(username="stranger", password="correct-horse-battery-9")
    http = login(stranger, verified=False)
    assert http.get(reverse("records:client_list")).status_code == 403
    response = http.get(detail_url(client_record))
    assert response.status_code == 404
    assert CONTACT not in response.content.decode()


def test_auditor_gets_403_on_the_client_list(login, auditor, client_record):
    response = login(auditor).get(reverse("records:client_list"))
    assert response.status_code == 403
    assert "李娜" not in response.content.decode()


def test_an_inactive_staff_member_sees_nothing(login, receptionist, client_record):
    http = login(receptionist)
    receptionist.is_active = False
    receptionist.save()
    response = http.get(reverse("records:client_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not selectors.clients_visible_to(receptionist).exists()


def test_an_inactive_staff_member_with_a_live_user_object_still_sees_nothing(
        receptionist, client_record):
    # A request whose user object is already loaded, e.g. during the deactivating request.
    from access import policy

    receptionist.is_active = False
    assert policy.Decider(receptionist).ceiling(client_record) == 0
    assert policy.Decider(receptionist).visible_filter() is None


def test_a_role_tightened_to_l1_sees_client_codes_without_sealed_markers(
        login, owner, receptionist, location, client_record):
    login(owner).post(reverse("access:policies"),
                      {"location": location.pk, "role": "reception", "ceiling": 1})
    http = login(receptionist)
    listing = http.get(reverse("records:client_list")).content.decode()
    page = http.get(detail_url(client_record)).content.decode()
    for text in (listing, page):
        assert client_record.code in text
        assert "李娜" not in text and CONTACT not in text
        assert "‹sealed›" not in text
