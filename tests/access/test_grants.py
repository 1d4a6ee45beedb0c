"""Assignments and owner grants open clients; guardian holds the permission, Grant the ledger."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from guardian.models import UserObjectPermission

from access import services
from access.models import Grant
from audit.models import AccessEvent
from records import services as records_services
from records.models import Client
from tests.access.conftest import HEALTH, detail_page, detail_url


def _perm_exists(user, client) -> bool:
    return UserObjectPermission.objects.filter(
        user=user, object_pk=str(client.pk), permission__codename="view_client").exists()


def _live_grant(user, client):
    return Grant.objects.filter(user=user, client_id=client.pk, revoked_at__isnull=True).first()


# -- assignment ------------------------------------------------------------------------
def test_assigning_a_client_gives_the_stylist_health_notes(login, owner, stylist,
                                                          unassigned_client):
    assert HEALTH not in detail_page(login(stylist), unassigned_client)
    records_services.client_assign(actor=owner, client=unassigned_client, staff_user=stylist)
    assert HEALTH in detail_page(login(stylist), unassigned_client)


def test_assigning_a_client_writes_a_grant_and_a_guardian_permission(owner, stylist,
                                                                     unassigned_client):
    records_services.client_assign(actor=owner, client=unassigned_client, staff_user=stylist)
    grant = _live_grant(stylist, unassigned_client)
    assert grant is not None
    assert grant.source == Grant.Source.ASSIGNMENT and grant.granted_by == owner
    assert _perm_exists(stylist, unassigned_client)
    assert AccessEvent.objects.filter(action="grant.give", client_id=unassigned_client.pk,
                                      actor=owner).exists()


def test_owner_assigns_a_client_through_the_assign_page(login, owner, stylist,
                                                        unassigned_client):
    response = login(owner).post(reverse("records:client_assign", args=[unassigned_client.pk]),
                                 {"staff": stylist.pk, "expires_at": ""})
    assert response.status_code == 302
    assert Client.objects.get(pk=unassigned_client.pk).assigned_staff == stylist
    assert _live_grant(stylist, unassigned_client) is not None
    assert _perm_exists(stylist, unassigned_client)
    assert HEALTH in detail_page(login(stylist), unassigned_client)


def test_the_locations_manager_assigns_a_client(login, manager, stylist, unassigned_client):
    http = login(manager)
    assert "Assign" in detail_page(http, unassigned_client)
    response = http.post(reverse("records:client_assign", args=[unassigned_client.pk]),
                         {"staff": stylist.pk})
    assert response.status_code == 302
    assert _live_grant(stylist, unassigned_client).granted_by == manager


@pytest.mark.parametrize("person", ["stylist", "receptionist"])
def test_staff_who_are_not_managers_cannot_assign(request, login, unassigned_client, person):
    user = request.getfixturevalue(person)
    response = login(user).post(reverse("records:client_assign", args=[unassigned_client.pk]),
                                {"staff": user.pk})
    assert response.status_code == 404
    assert not Grant.objects.filter(client_id=unassigned_client.pk).exists()


def test_a_manager_of_another_location_cannot_assign(owner, other_location, stylist,
                                                     unassigned_client):
    from tests.conftest import _person

    far_manager = _person("far-manager", "manager", other_location)
    with pytest.raises(records_services.door.AccessDenied):
        records_services.client_assign(actor=far_manager, client=unassigned_client,
                                       staff_user=stylist)
    assert _live_grant(stylist, unassigned_client) is None


def test_a_client_cannot_be_assigned_to_a_stylist_of_another_location(owner, outsider,
                                                                      unassigned_client):
    with pytest.raises(ValueError):
        records_services.client_assign(actor=owner, client=unassigned_client,
                                       staff_user=outsider)
    assert _live_grant(outsider, unassigned_client) is None


def test_unassigning_hides_health_notes_again(login, owner, stylist, client_record):
    response = login(owner).post(reverse("records:client_assign", args=[client_record.pk]),
                                 {"staff": ""})
    assert response.status_code == 302
    page = detail_page(login(stylist), client_record)
    assert "李娜" in page and HEALTH not in page


def test_unassigning_sets_revoked_at_and_removes_the_guardian_permission(owner, stylist,
                                                                        client_record):
    grant = _live_grant(stylist, client_record)
    records_services.client_assign(actor=owner, client=client_record, staff_user=None)
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_reason == "unassigned"
    assert not _perm_exists(stylist, client_record)


def test_reassigning_moves_access_from_one_stylist_to_another(login, owner, stylist, location,
                                                              client_record):
    from tests.conftest import _person

    colleague = _person("colleague", "stylist", location)
    records_services.client_assign(actor=owner, client=client_record, staff_user=colleague)
    assert HEALTH not in detail_page(login(stylist), client_record)
    assert HEALTH in detail_page(login(colleague), client_record)


# -- expiry ----------------------------------------------------------------------------
def test_an_assignment_with_an_expiry_stops_working_after_it(login, owner, stylist,
                                                             unassigned_client, monkeypatch):
    expires = timezone.now() + dt.timedelta(hours=2)
    records_services.client_assign(actor=owner, client=unassigned_client, staff_user=stylist,
                                   expires_at=expires)
    assert HEALTH in detail_page(login(stylist), unassigned_client)
    later = expires + dt.timedelta(minutes=1)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert HEALTH not in detail_page(login(stylist), unassigned_client)


def test_expiring_grants_revokes_them_and_their_guardian_permission(owner, stylist,
                                                                   unassigned_client):
    expires = timezone.now() + dt.timedelta(hours=2)
    grant = services.grant_give(actor=owner, user=stylist, client=unassigned_client,
                                expires_at=expires)
    assert services.grants_expire(now=expires - dt.timedelta(minutes=1)) == 0
    assert services.grants_expire(now=expires + dt.timedelta(minutes=1)) == 1
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_reason == "expired"
    assert not _perm_exists(stylist, unassigned_client)
    assert AccessEvent.objects.filter(action="grant.expire",
                                      client_id=unassigned_client.pk).exists()


def test_a_grant_already_past_its_expiry_opens_nothing(login, stylist, unassigned_client):
    from access import permissions

    Grant.objects.create(user=stylist, client_id=unassigned_client.pk,
                         location_id=unassigned_client.location_id, source="manual",
                         expires_at=timezone.now() - dt.timedelta(minutes=1))
    permissions.give(stylist, unassigned_client)
    assert HEALTH not in detail_page(login(stylist), unassigned_client)


def test_a_grant_cannot_be_given_with_an_expiry_in_the_past(owner, stylist, unassigned_client):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.grant_give(actor=owner, user=stylist, client=unassigned_client,
                            expires_at=timezone.now() - dt.timedelta(hours=1))
    assert not Grant.objects.filter(user=stylist).exclude(source="assignment").exists()


# -- owner grants across locations -------------------------------------------------------
def _grant_url(user) -> str:
    return reverse("access:grant_give", args=[user.pk])


def test_owner_grants_an_outsider_a_client_of_another_location(login, owner, outsider,
                                                               client_record):
    response = login(owner, reauthed=True).post(
        _grant_url(outsider), {"client_code": client_record.code, "expires_at": ""})
    assert response.status_code == 302
    grant = _live_grant(outsider, client_record)
    assert grant is not None and grant.source == Grant.Source.MANUAL
    assert _perm_exists(outsider, client_record)
    http = login(outsider)
    found = http.post(reverse("records:client_list"), {"q": "李娜"}).content.decode()
    assert client_record.code in found
    assert "1 client found" in found
    assert HEALTH in detail_page(http, client_record)


@pytest.mark.parametrize("few", [500, 0], ids=["few grants elsewhere", "many"])
def test_a_granted_client_elsewhere_is_listed_among_the_persons_own(login, owner, outsider,
                                                                   client_record, make_client,
                                                                   other_location, few,
                                                                   monkeypatch):
    """The list reads the person's location and their grants elsewhere as two parts and
    merges them in code order; a revoked grant takes the client off the list. Past a few
    grants elsewhere the page's query reads them itself."""
    monkeypatch.setattr("access.policy.FEW_GRANTS_ELSEWHERE", few)
    own = [make_client(full_name=f"孙{i}", phone=f"1370000{i:04d}", location=other_location)
           for i in range(3)]
    grant = services.grant_give(actor=owner, user=outsider, client=client_record)
    assert grant.location_id == client_record.location_id  # kept with the grant
    page = login(outsider).get(reverse("records:client_list")).content.decode()
    codes = re.findall(r'<tr><td><a href="/clients/[^"]+/">([^<]+)</a></td>', page)
    assert codes == sorted([client_record.code, *(c.code for c in own)])
    services.grant_revoke(actor=owner, grant=grant)
    page = login(outsider).get(reverse("records:client_list")).content.decode()
    assert client_record.code not in page and all(c.code in page for c in own)


def test_an_owner_grant_with_an_expiry_is_recorded_with_it(login, owner, outsider,
                                                           client_record):
    until = (timezone.localtime() + dt.timedelta(days=3)).replace(second=0, microsecond=0)
    login(owner, reauthed=True).post(_grant_url(outsider), {
        "client_code": client_record.code, "expires_at": until.strftime("%Y-%m-%dT%H:%M")})
    assert _live_grant(outsider, client_record).expires_at == until


def test_a_grant_for_an_unknown_code_is_refused_with_a_message(login, owner, outsider):
    http = login(owner, reauthed=True)
    response = http.post(_grant_url(outsider), {"client_code": "XX-999999"}, follow=True)
    assert "No client has this code." in response.content.decode()
    assert not Grant.objects.filter(user=outsider).exists()


def test_a_grant_with_an_expiry_in_the_past_is_refused(login, owner, outsider, client_record):
    past = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = login(owner, reauthed=True).post(
        _grant_url(outsider), {"client_code": client_record.code, "expires_at": past},
        follow=True)
    assert "An expiry must be in the future." in response.content.decode()
    assert not Grant.objects.filter(user=outsider).exists()


def test_an_outsider_without_a_grant_does_not_find_the_client(login, outsider, client_record):
    found = login(outsider).post(reverse("records:client_list"), {"q": "李娜"}).content.decode()
    assert client_record.code not in found
    assert "No client matches this search." in found


def test_owner_revokes_a_grant_and_the_outsider_loses_the_client(login, owner, outsider,
                                                                 client_record):
    grant = services.grant_give(actor=owner, user=outsider, client=client_record)
    response = login(owner).post(reverse("access:grant_revoke", args=[grant.pk]))
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert not _perm_exists(outsider, client_record)
    assert login(outsider).get(detail_url(client_record)).status_code == 404


def test_only_an_owner_gives_a_manual_grant(manager, outsider, client_record):
    with pytest.raises(services.NotAllowed):
        services.grant_give(actor=manager, user=outsider, client=client_record)
    assert not Grant.objects.filter(user=outsider).exists()


# -- lists and search --------------------------------------------------------------------
def test_receptionist_never_lists_clients_of_another_location(login, receptionist,
                                                              client_record, far_client):
    page = login(receptionist).get(reverse("records:client_list")).content.decode()
    assert client_record.code in page
    assert far_client.code not in page and "陈静" not in page


def test_receptionist_never_finds_clients_of_another_location(login, receptionist, far_client,
                                                              unassigned_client):
    # Both have the same phone; only the one of her own location is found.
    page = login(receptionist).post(reverse("records:client_list"),
                                    {"q": "13812345678"}).content.decode()
    assert unassigned_client.code in page
    assert far_client.code not in page and "陈静" not in page


def test_the_listing_event_names_only_the_clients_shown(login, receptionist, client_record,
                                                        far_client):
    login(receptionist).get(reverse("records:client_list"))
    event = AccessEvent.objects.filter(action="client.list", actor=receptionist).latest("id")
    assert event.subjects == [str(client_record.pk)]


def test_the_list_shows_names_and_phones_only(login, owner, client_record, make_client):
    make_client(full_name="赵敏", phone="13700009999", email="zm@example.cn",
                birthday=dt.date(1988, 8, 8), wechat_id="zhaomin88", allergies="青霉素")
    page = login(owner).get(reverse("records:client_list")).content.decode()
    assert "李娜" in page and "13812345678" in page and "赵敏" in page
    for hidden in ("lina@example.cn", "zm@example.cn", "1988-08-08", "1991-03-14",
                   "zhaomin88", "青霉素", HEALTH, "混合性"):
        assert hidden not in page


def test_the_outsider_lists_only_their_own_location(login, outsider, client_record, far_client):
    page = login(outsider).get(reverse("records:client_list")).content.decode()
    assert far_client.code in page
    assert client_record.code not in page


# -- one rule for lists and single records ------------------------------------------------
def test_the_list_filter_and_the_single_record_check_agree(owner, outsider, make_client,
                                                           location, other_location):
    """clients_visible_to (lists, search) and Decider.may_see (one record) are two spellings
    of one rule; they must never disagree, whatever state the grants are in."""
    from access import policy
    from records import selectors

    theirs = [make_client(full_name=f"本店{i}", location=other_location) for i in range(2)]
    others = [make_client(full_name=f"他店{i}", location=location) for i in range(5)]
    live, expired, revoked, guardian_only, untouched = others
    services.grant_give(actor=owner, user=outsider, client=live)
    grant = services.grant_give(actor=owner, user=outsider, client=expired,
                                expires_at=timezone.now() + dt.timedelta(hours=1))
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    gone = services.grant_give(actor=owner, user=outsider, client=revoked)
    services.grant_revoke(actor=owner, grant=gone)
    from access import permissions
    permissions.give(outsider, guardian_only)  # a permission without a live ledger row

    listed = set(selectors.clients_visible_to(outsider).values_list("pk", flat=True))
    decider = policy.Decider(outsider)
    one_by_one = {c.pk for c in Client.objects.all() if decider.may_see(c)}
    assert listed == one_by_one == {c.pk for c in theirs} | {live.pk}
    assert untouched.pk not in listed


def test_a_grant_without_its_guardian_permission_opens_nothing_beyond_contact(
        login, owner, stylist, unassigned_client):
    """The ledger row alone is not enough: the decision asks guardian too."""
    records_services.client_assign(actor=owner, client=unassigned_client, staff_user=stylist)
    assert HEALTH in detail_page(login(stylist), unassigned_client)
    UserObjectPermission.objects.filter(user=stylist, object_pk=str(unassigned_client.pk)).delete()
    assert _live_grant(stylist, unassigned_client) is not None
    page = detail_page(login(stylist), unassigned_client)
    assert HEALTH not in page
    event = AccessEvent.objects.filter(action="client.open", actor=stylist).latest("id")
    assert event.data_class == 2
