"""The contraindication stop, told through the people at the treatment form: a product
matching a recorded allergy, or needing a patch test that is missing, failed or expired,
is not recorded unless an owner or a manager overrides it with a reason."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from access import door
from audit import actions
from audit.models import AccessEvent
from records import contraindications, services
from records.models import ContraindicationOverride, PatchTest, Product, Treatment

ALLERGY = "对PPD染发剂过敏"  # client_record's recorded allergies
REASON = "客人上周在别家染过同款无反应，本人坚持，已签免责"
TODAY = timezone.localdate


@pytest.fixture
def dye(db):
    return Product.objects.create(name="威娜 Koleston 染膏",
                                  allergens="PPD, 对苯二胺, para-phenylenediamine",
                                  needs_patch_test=True, patch_test_valid_days=180)


@pytest.fixture
def shampoo(db):
    return Product.objects.create(name="卡诗 滋养洗发水")


@pytest.fixture
def latex_client(make_client, stylist):
    """A client of the stylist whose allergy has nothing to do with hair dye."""
    return make_client(full_name="周洁", phone="13900002222", allergies="对乳胶过敏",
                       assigned_staff=stylist)


def _patch_test(owner, client, product, *, days_ago: int, result="passed"):
    return contraindications.patch_test_add(
        actor=owner, client=client, product=product,
        tested_on=TODAY() - dt.timedelta(days=days_ago), result=result)


def _add(http, client, *, products=(), typed="", **extra):
    data = {"performed_on": TODAY().isoformat(), "service": "染发",
            "catalogue": [str(p.pk) for p in products], "products": typed} | extra
    return http.post(reverse("records:treatment_add", args=[client.pk]), data,
                     HTTP_ACCEPT_LANGUAGE="en")


def _stop_box(response) -> str:
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="contraindication-stop"' in page, "no stop box on the page"
    start = page.index('id="contraindication-stop"')
    return page[start:page.index("</section>", start)]


def _events(action: str):
    return list(AccessEvent.objects.filter(action=action).order_by("seq"))


def _all_details() -> str:
    return json.dumps(list(AccessEvent.objects.values_list("detail", flat=True)),
                      ensure_ascii=False)


# -- what stops a treatment -------------------------------------------------------------
def test_a_dye_matching_a_recorded_allergy_is_stopped(login, owner, stylist, client_record,
                                                      dye):
    _patch_test(owner, client_record, dye, days_ago=2)  # the test itself is fine
    box = _stop_box(_add(login(stylist), client_record, products=[dye]))
    assert dye.name in box and "matches the client&#x27;s recorded allergies" in box
    assert 'data-reason="allergy"' in box and "patch_test" not in box
    assert ALLERGY not in box  # the reason, never the allergy text
    assert not Treatment.objects.exists()
    [stop] = _events(actions.CONTRAINDICATION_STOP)
    assert stop.actor == stylist and stop.client_id == client_record.pk
    assert stop.detail == {"stops": [{"product": dye.name, "product_id": str(dye.pk),
                                      "reason": "allergy"}]}


def test_a_typed_product_is_matched_against_the_allergies_by_name(login, stylist,
                                                                  client_record):
    box = _stop_box(_add(login(stylist), client_record, typed="ppd染发剂"))
    assert 'data-reason="allergy"' in box
    assert not Treatment.objects.exists()
    # A typed name matched the allergy text: audit keeps the reason without it.
    [stop] = _events(actions.CONTRAINDICATION_STOP)
    assert stop.detail == {"stops": [{"product": None, "reason": "allergy"}]}
    assert "染发剂" not in _all_details()


def test_a_missing_patch_test_stops_the_dye(login, stylist, latex_client, dye):
    box = _stop_box(_add(login(stylist), latex_client, products=[dye]))
    assert 'data-reason="patch_test_missing"' in box and "none is recorded" in box
    assert not Treatment.objects.exists()


def test_a_failed_patch_test_stops_the_dye(login, owner, stylist, latex_client, dye):
    _patch_test(owner, latex_client, dye, days_ago=30)
    failed = _patch_test(owner, latex_client, dye, days_ago=3, result="failed")
    box = _stop_box(_add(login(stylist), latex_client, products=[dye]))
    assert 'data-reason="patch_test_failed"' in box
    assert f"the latest patch test ({failed.tested_on.isoformat()}) failed" in box
    assert not Treatment.objects.exists()


def test_an_expired_patch_test_stops_the_dye(login, owner, stylist, latex_client, dye):
    _patch_test(owner, latex_client, dye, days_ago=181)
    box = _stop_box(_add(login(stylist), latex_client, products=[dye]))
    assert 'data-reason="patch_test_expired"' in box
    assert f"expired on {TODAY().isoformat()}" in box
    assert not Treatment.objects.exists()


def test_a_patch_test_is_valid_for_its_days_and_not_one_more(owner, latex_client, dye):
    _patch_test(owner, latex_client, dye, days_ago=180)
    assert contraindications.check(latex_client, [dye.name]) == []
    [stop] = contraindications.check(latex_client, [dye.name],
                                     on=TODAY() + dt.timedelta(days=1))
    assert stop.reason == contraindications.Reason.PATCH_TEST_EXPIRED


def test_a_fresh_passed_patch_test_lets_the_dye_through(login, owner, stylist, latex_client,
                                                        dye):
    _patch_test(owner, latex_client, dye, days_ago=2)
    response = _add(login(stylist), latex_client, products=[dye], typed="双氧乳 6%")
    assert response.status_code == 302
    treatment = Treatment.objects.get(client=latex_client)
    with door.open_for_system(actor="tests", purpose=actions.VIEW_CLIENT,
                              subjects=[latex_client.pk]):
        assert Treatment.objects.get(pk=treatment.pk).products == [dye.name, "双氧乳 6%"]
    assert not _events(actions.CONTRAINDICATION_STOP)
    assert not ContraindicationOverride.objects.exists()


def test_a_product_without_allergens_or_patch_test_goes_through(login, stylist,
                                                                client_record, shampoo):
    response = _add(login(stylist), client_record, products=[shampoo])
    assert response.status_code == 302
    assert Treatment.objects.filter(client=client_record).count() == 1


def test_the_check_reads_the_record_as_its_own_named_system_actor(stylist, owner,
                                                                  client_record, dye):
    contraindications.check(client_record, [dye.name])
    opening = AccessEvent.objects.filter(action=actions.SYSTEM_OPEN).latest("seq")
    assert opening.actor_label == "system:contraindication-check"
    assert opening.purpose == actions.CHECK_CONTRAINDICATIONS
    assert opening.subjects == [str(client_record.pk)] and opening.data_class == 4


def test_the_service_stops_a_treatment_that_bypasses_the_form(owner, client_record, dye):
    with pytest.raises(contraindications.Stopped) as stopped:
        services.treatment_add(actor=owner, client=client_record, performed_on=TODAY(),
                               service="染发", products=[dye.name])
    assert {s.reason for s in stopped.value.stops} == {"allergy", "patch_test_missing"}
    assert not Treatment.objects.exists()


# -- who may override -----------------------------------------------------------------
def test_stylist_is_asked_to_fetch_a_manager(login, stylist, client_record, dye):
    response = _add(login(stylist), client_record, products=[dye])
    box = _stop_box(response)
    assert "Ask a manager to override." in box
    assert 'name="override"' not in response.content.decode()
    assert 'name="override_reason"' not in response.content.decode()


def test_a_forged_override_from_a_stylist_records_nothing(login, stylist, client_record, dye):
    response = _add(login(stylist), client_record, products=[dye], override="on",
                    override_reason=REASON)
    assert "Ask a manager to override." in _stop_box(response)
    assert not Treatment.objects.exists()
    assert not ContraindicationOverride.objects.exists()
    assert not _events(actions.CONTRAINDICATION_OVERRIDE)


def test_a_stylist_cannot_override_through_the_service_either(stylist, client_record, dye):
    with pytest.raises(contraindications.Stopped) as stopped:
        services.treatment_add(actor=stylist, client=client_record, performed_on=TODAY(),
                               service="染发", products=[dye.name], override_reason=REASON)
    assert stopped.value.override_refused
    assert not Treatment.objects.exists()
    [refused] = _events(actions.CONTRAINDICATION_OVERRIDE)
    assert refused.outcome == "denied" and refused.actor == stylist


def test_manager_sees_the_override_and_a_reason_is_required(login, manager, client_record,
                                                            dye):
    http = login(manager)
    first = _add(http, client_record, products=[dye])
    box = _stop_box(first)
    assert 'name="override"' in box and 'name="override_reason"' in box
    second = _add(http, client_record, products=[dye], override="on", override_reason="  ")
    assert "Give the reason for the override." in _stop_box(second)
    assert not Treatment.objects.exists()


def test_manager_overrides_with_a_reason_and_it_is_audited(login, manager, client_record,
                                                           dye):
    response = _add(login(manager), client_record, products=[dye], override="on",
                    override_reason=REASON)
    assert response.status_code == 302
    treatment = Treatment.objects.get(client=client_record)
    override = ContraindicationOverride.objects.get(treatment=treatment)
    assert override.decided_by == manager
    assert override.stops == [
        {"product": dye.name, "product_id": str(dye.pk), "reason": "allergy"},
        {"product": dye.name, "product_id": str(dye.pk), "reason": "patch_test_missing"}]
    with door.open_for_system(actor="tests", purpose=actions.VIEW_CLIENT,
                              subjects=[client_record.pk]):
        assert ContraindicationOverride.objects.get(pk=override.pk).reason == REASON
    [event] = _events(actions.CONTRAINDICATION_OVERRIDE)
    assert event.outcome == "allowed" and event.actor == manager and event.role == "manager"
    assert event.client_id == client_record.pk
    assert event.detail == {"override_id": str(override.pk), "treatment_id": str(treatment.pk)}
    details = _all_details()
    assert ALLERGY not in details and REASON not in details and "PPD" not in details


def test_the_override_reason_is_sealed_at_rest(login, owner, client_record, dye):
    assert _add(login(owner), client_record, products=[dye], override="on",
                override_reason=REASON).status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM records_contraindicationoverride")
        [(raw,)] = cursor.fetchall()
    assert REASON.encode() not in bytes(raw)
    assert str(ContraindicationOverride.objects.get().reason) == "‹sealed›"


# -- the product catalogue --------------------------------------------------------------
@pytest.mark.parametrize("person", ["stylist", "receptionist", "auditor"])
def test_the_catalogue_is_refused_to_all_but_owners_and_managers(login, request, dye, person):
    http = login(request.getfixturevalue(person))
    for path in (reverse("records:product_list"), reverse("records:product_create"),
                 reverse("records:product_edit", args=[dye.pk])):
        assert http.get(path).status_code == 403
    assert http.post(reverse("records:product_create"),
                     {"name": "偷偷加的", "patch_test_valid_days": "180"}).status_code == 403
    assert http.post(reverse("records:product_edit", args=[dye.pk]),
                     {"name": dye.name, "patch_test_valid_days": "1"}).status_code == 403
    assert list(Product.objects.values_list("name", "patch_test_valid_days")) == [
        (dye.name, 180)]


def test_manager_adds_and_edits_a_product(login, manager):
    http = login(manager)
    response = http.post(reverse("records:product_create"), {
        "name": " 施华蔻  IGORA 染膏 ", "allergens": "PPD、对苯二胺", "needs_patch_test": "on",
        "patch_test_valid_days": "90", "active": "on"})
    assert response.status_code == 302
    product = Product.objects.get()
    assert product.name == "施华蔻 IGORA 染膏" and product.allergen_keywords == ["PPD", "对苯二胺"]
    page = http.get(reverse("records:product_list")).content.decode()
    assert "施华蔻 IGORA 染膏" in page
    response = http.post(reverse("records:product_edit", args=[product.pk]), {
        "name": product.name, "allergens": product.allergens, "patch_test_valid_days": "90"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert not product.needs_patch_test and not product.active
    # Who changed the catalogue, and what, is in the change log.
    from auditlog.models import LogEntry
    entries = LogEntry.objects.get_for_object(product).order_by("timestamp")
    assert [(e.action, e.actor) for e in entries] == [(LogEntry.Action.CREATE, manager),
                                                      (LogEntry.Action.UPDATE, manager)]
    assert set(entries.last().changes_dict) == {"needs_patch_test", "active"}


def test_a_second_spelling_of_a_product_is_refused(login, owner, dye):
    response = login(owner).post(reverse("records:product_create"), {
        "name": dye.name.upper(), "patch_test_valid_days": "180", "active": "on"})
    assert response.status_code == 200 and Product.objects.count() == 1


def test_the_treatment_form_offers_active_catalogue_products(login, stylist, client_record,
                                                             dye, shampoo):
    Product.objects.filter(pk=shampoo.pk).update(active=False)
    page = login(stylist).get(reverse("records:treatment_add",
                                      args=[client_record.pk])).content.decode()
    assert dye.name in page and shampoo.name not in page


# -- patch tests ------------------------------------------------------------------------
def test_stylist_records_a_patch_test_and_the_client_page_lists_it(login, stylist,
                                                                   latex_client, dye):
    http = login(stylist)
    response = http.post(reverse("records:patch_test_add", args=[latex_client.pk]), {
        "product": str(dye.pk), "tested_on": (TODAY() - dt.timedelta(days=2)).isoformat(),
        "result": "passed", "reaction": "轻微发红，半小时消退"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    test = PatchTest.objects.get()
    assert test.client == latex_client and test.recorded_by == stylist
    assert str(test.result) == "‹sealed›"  # health data, sealed at rest
    page = http.get(reverse("records:client_detail", args=[latex_client.pk]),
                    HTTP_ACCEPT_LANGUAGE="en").content.decode()
    table = page[page.index('id="patch-tests"'):]
    assert dye.name in table and "passed" in table and "轻微发红，半小时消退" in table
    # And the dye now goes through.
    assert _add(http, latex_client, products=[dye]).status_code == 302


def test_a_patch_test_cannot_be_dated_in_the_future(login, stylist, latex_client, dye):
    response = login(stylist).post(reverse("records:patch_test_add", args=[latex_client.pk]), {
        "product": str(dye.pk), "tested_on": (TODAY() + dt.timedelta(days=1)).isoformat(),
        "result": "passed"})
    assert response.status_code == 200 and not PatchTest.objects.exists()


@pytest.mark.parametrize("person", ["manager", "receptionist"])
def test_who_cannot_read_health_notes_neither_records_nor_sees_patch_tests(
        login, request, owner, latex_client, dye, person):
    _patch_test(owner, latex_client, dye, days_ago=2)
    http = login(request.getfixturevalue(person))
    response = http.post(reverse("records:patch_test_add", args=[latex_client.pk]), {
        "product": str(dye.pk), "tested_on": TODAY().isoformat(), "result": "failed"})
    assert response.status_code == 404
    assert PatchTest.objects.count() == 1
    page = http.get(reverse("records:client_detail", args=[latex_client.pk])).content.decode()
    assert 'id="patch-tests"' not in page


def test_a_patch_test_that_cannot_be_read_stops_the_dye(owner, latex_client, dye):
    test = _patch_test(owner, latex_client, dye, days_ago=2)
    blob = PatchTest.objects.get(pk=test.pk).__dict__["result"].blob
    PatchTest.objects.filter(pk=test.pk).update(result=blob[:-1] + bytes([blob[-1] ^ 1]))
    [stop] = contraindications.check(latex_client, [dye.name])
    assert stop.reason == contraindications.Reason.RECORD_DAMAGED  # fails closed


def test_re_keying_a_client_keeps_their_patch_tests_readable(owner, latex_client, dye):
    from records import rekey

    _patch_test(owner, latex_client, dye, days_ago=2)
    rekey.client_rekey(latex_client.pk)
    assert contraindications.check(latex_client, [dye.name]) == []
