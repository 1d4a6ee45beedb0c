"""Training and the confidentiality agreement: without both, staff see contact data only."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import Agreement, AgreementAcceptance, TrainingRecord
from tests.access.conftest import REASON_OK, detail_page, shows

L2 = {"contact": True, "profile": False, "health": False}
L4 = {"contact": True, "profile": True, "health": True}
TRAINING_BANNER = "Your privacy training is missing or has expired"
AGREEMENT_BANNER = "to see beauty records and health notes."


def _row(page: str, username: str) -> str:
    return next(row for row in page.split("<tr>") if f"<td>{username}</td>" in row)


def _publish(http, title="保密协议 2025"):
    return http.post(reverse("access:agreement_publish"),
                     {"title": title, "body": "不得泄露客户信息。"})


# -- training --------------------------------------------------------------------------
def test_a_stylist_without_training_sees_contact_data_only(login, stylist, client_record):
    TrainingRecord.objects.filter(user=stylist).delete()
    page = detail_page(login(stylist), client_record)
    assert shows(page) == L2
    assert TRAINING_BANNER in page


def test_a_stylist_whose_training_lapsed_sees_contact_data_only(login, stylist, client_record):
    TrainingRecord.objects.filter(user=stylist).update(
        expires_on=timezone.localdate() - dt.timedelta(days=1))
    page = detail_page(login(stylist), client_record)
    assert shows(page) == L2
    assert TRAINING_BANNER in page


def test_a_trained_stylist_sees_no_banner(login, stylist, client_record):
    page = detail_page(login(stylist), client_record)
    assert shows(page) == L4
    assert TRAINING_BANNER not in page and AGREEMENT_BANNER not in page


def test_break_glass_does_not_get_around_missing_training(login, stylist, unassigned_client):
    TrainingRecord.objects.filter(user=stylist).delete()
    services.break_glass_open(actor=stylist, client=unassigned_client, reason=REASON_OK)
    assert shows(detail_page(login(stylist), unassigned_client)) == L2


def test_owner_records_training_and_the_record_opens_again(login, owner, stylist,
                                                           client_record):
    TrainingRecord.objects.filter(user=stylist).delete()
    response = login(owner).post(reverse("access:staff_training", args=[stylist.pk]), {
        "course": "客户隐私与个人信息保护法", "valid_days": 365,
        "completed_on": timezone.localdate().isoformat()})
    assert response.status_code == 302
    assert shows(detail_page(login(stylist), client_record)) == L4


def test_training_completed_in_the_future_is_refused(login, owner, stylist):
    TrainingRecord.objects.filter(user=stylist).delete()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = login(owner).post(reverse("access:staff_training", args=[stylist.pk]), {
        "course": "隐私培训", "valid_days": 365, "completed_on": tomorrow}, follow=True)
    assert "Training cannot be completed in the future." in response.content.decode()
    assert not TrainingRecord.objects.filter(user=stylist).exists()


# -- agreement -------------------------------------------------------------------------
def test_owner_publishes_a_new_agreement_version(login, owner):
    response = _publish(login(owner, reauthed=True))
    assert response.status_code == 302
    assert Agreement.objects.get().version == 1
    _publish(login(owner, reauthed=True), title="第二版")
    assert list(Agreement.objects.values_list("version", flat=True)) == [2, 1]


def test_a_new_agreement_holds_staff_at_contact_data_until_they_accept(login, owner, stylist,
                                                                      client_record):
    _publish(login(owner, reauthed=True))
    http = login(stylist)
    page = detail_page(http, client_record)
    assert shows(page) == L2
    assert AGREEMENT_BANNER in page and reverse("agreement") in page
    agreement_page = http.get(reverse("agreement")).content.decode()
    assert "不得泄露客户信息。" in agreement_page
    response = http.post(reverse("agreement"))
    assert response.status_code == 302
    assert AgreementAcceptance.objects.filter(user=stylist, agreement__version=1).exists()
    assert shows(detail_page(http, client_record)) == L4


def test_accepting_an_old_version_does_not_satisfy_a_newer_one(login, owner, stylist,
                                                              client_record):
    _publish(login(owner, reauthed=True))
    login(stylist).post(reverse("agreement"))
    _publish(login(owner, reauthed=True), title="第二版")
    assert shows(detail_page(login(stylist), client_record)) == L2


def test_the_agreement_gate_holds_a_manager_at_contact_data_too(login, owner, manager,
                                                               client_record):
    _publish(login(owner, reauthed=True))
    assert shows(detail_page(login(manager), client_record)) == L2


def test_owners_see_who_is_missing_what_on_the_dashboard(login, owner, stylist, receptionist,
                                                         manager):
    TrainingRecord.objects.filter(user=receptionist).delete()
    TrainingRecord.objects.filter(user=manager).update(expires_on=dt.date(2020, 1, 31))
    services.agreement_publish(actor=owner, title="v1", body="保密")
    services.agreement_accept(actor=receptionist, agreement=Agreement.objects.get())
    services.agreement_accept(actor=manager, agreement=Agreement.objects.get())
    page = login(owner).get(reverse("access:dashboard")).content.decode()
    missing = page.split('id="missing-gates"')[1].split("</section>")[0]
    stylist_line = next(line for line in missing.split("<li>") if ">stylist</a>" in line)
    reception_line = next(line for line in missing.split("<li>") if ">reception</a>" in line)
    manager_line = next(line for line in missing.split("<li>") if ">manager</a>" in line)
    assert "has not accepted the current agreement" in stylist_line
    assert "no privacy training recorded" in reception_line
    assert "has not accepted" not in reception_line
    assert "training expired on 2020-01-31" in manager_line


def test_the_dashboard_says_when_everyone_is_done(login, owner, stylist):
    page = login(owner).get(reverse("access:dashboard")).content.decode()
    assert "Everyone has accepted the agreement and completed training." in page


def test_owners_see_who_is_missing_what_on_the_staff_list(login, owner, stylist, receptionist):
    TrainingRecord.objects.filter(user=receptionist).delete()
    services.agreement_publish(actor=owner, title="v1", body="保密")
    services.agreement_accept(actor=receptionist, agreement=Agreement.objects.get())
    page = login(owner).get(reverse("access:staff_list")).content.decode()
    stylist_row, reception_row = _row(page, "stylist"), _row(page, "reception")
    assert stylist_row.count("missing") == 1 and "✓ " in stylist_row  # agreement only
    assert reception_row.count("missing") == 1 and "✓</td>" in reception_row  # training only
