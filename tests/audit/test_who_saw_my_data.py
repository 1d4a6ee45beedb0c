""""Who saw my data" (PIPL Art. 45): an owner produces a readable report of who accessed a
client's information, when and why — including being shown in a list or a search."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AccessEvent
from tests.audit.conftest import PLAINTEXT, last_event

URL = reverse("audit:subject_report")


@pytest.fixture
def history(login, client_record, make_client, stylist, receptionist, manager):
    """The stylist opens the client; the receptionist lists and searches; the manager opens
    another client only."""
    other = make_client(full_name="王芳", phone="13900001234")
    login(stylist).get(reverse("records:client_detail", args=[client_record.pk]))
    login(receptionist).get(reverse("records:client_list"))
    login(receptionist).post(reverse("records:client_list"), {"q": "5678"})
    login(manager).get(reverse("records:client_detail", args=[other.pk]))
    return client_record


def _report(http, code):
    response = http.get(URL, {"code": code})
    assert response.status_code == 200
    return response


def test_the_report_lists_who_opened_and_who_saw_the_client_in_lists(history, login, owner):
    response = _report(login(owner), history.code)
    page = response.content.decode()
    rows = response.context["history"]
    seen = {(e.actor_label, e.action) for e in rows}
    assert ("stylist", "client.open") in seen
    assert ("reception", "client.list") in seen
    assert ("reception", "client.search") in seen
    assert "manager" not in response.context["people"]
    assert {"stylist", "reception"} <= set(response.context["people"])
    assert "opened your record including health information and photos" in page
    assert "saw your name and phone in a list or search" in page
    assert "view client record" in page and "browse clients" in page


def test_the_report_says_when(history, login, owner):
    from django.utils import timezone

    page = _report(login(owner), history.code).content.decode()
    assert timezone.localtime(last_event("client.open").at).strftime("%Y-%m-%d %H:%M") in page


def test_the_report_is_in_time_order_and_shows_no_record_contents(history, login, owner):
    response = _report(login(owner), history.code)
    seqs = [e.seq for e in response.context["history"]]
    assert seqs == sorted(seqs)
    page = response.content.decode()
    for value in PLAINTEXT[1:]:  # the name may be given by the client; the rest never
        assert value not in page


def test_producing_the_report_is_recorded(history, login, owner):
    _report(login(owner), history.code)
    event = last_event("audit.subject_report")
    assert event.actor == owner and event.outcome == "allowed"
    assert event.client_id == history.pk and event.client_code == history.code
    assert event.detail["events"] >= 3


def test_a_refused_access_is_reported_as_refused(login, owner, receptionist, client_record):
    import datetime as dt
    import io

    from records import services
    from tests.audit.conftest import jpeg

    photo = services.photo_add(actor=owner, client=client_record, upload=io.BytesIO(jpeg()),
                               kind="before", taken_on=dt.date(2024, 5, 1))
    login(receptionist).get(reverse("records:photo_view", args=[client_record.pk, photo.pk]))
    page = _report(login(owner), client_record.code).content.decode()
    assert "(refused)" in page


def test_a_break_glass_access_is_explained(login, owner, stylist, make_client):
    from access import services

    other = make_client(full_name="周敏", phone="13600001111")
    services.break_glass_open(actor=stylist, client=other,
                              reason="顾客到店要求当场染发，需要确认过敏史以免发生过敏反应")
    login(stylist).get(reverse("records:client_detail", args=[other.pk]))
    page = _report(login(owner), other.code).content.decode()
    assert "emergency access, reviewed by the owner" in page


def test_an_imported_client_only_ever_listed_still_gets_a_report(login, owner, receptionist,
                                                                  location):
    """A client who came in by import and was then only seen in lists has a history too."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from records import importing
    from records.models import Client

    upload = SimpleUploadedFile("clients.csv", "姓名,手机\n孙丽,13511112222\n".encode())
    result = importing.clients_import(upload=upload, location=location, username="owner",
                                      user=owner)
    assert result.created == 1
    client = Client.objects.get()
    login(receptionist).get(reverse("records:client_list"))
    assert str(client.pk) in last_event("client.list").subjects
    response = _report(login(owner), client.code)
    assert "reception" in (response.context.get("people") or []), \
        "a client seen only in lists gets no report"


def test_an_unknown_code_gets_a_clear_message_and_no_report(login, owner):
    response = login(owner).get(URL, {"code": "ZZ-000000"})
    assert response.status_code == 200
    assert "No access has been recorded for a client with this code." in \
        response.content.decode()
    assert not AccessEvent.objects.filter(action="audit.subject_report").exists()


def test_without_a_code_the_form_is_shown(login, owner):
    page = login(owner).get(URL).content.decode()
    assert 'name="code"' in page


def test_the_owner_finds_the_report_from_the_audit_log(login, owner):
    assert URL in login(owner).get(reverse("audit:events")).content.decode()


@pytest.mark.parametrize("who", ["auditor", "manager", "stylist", "receptionist"])
def test_others_may_not_produce_the_report(request, login, history, who):
    person = request.getfixturevalue(who)
    response = login(person).get(URL, {"code": history.code})
    assert response.status_code == 403
    event = last_event("audit.subject_report")
    assert event.outcome == "denied" and event.actor == person
    assert not AccessEvent.objects.filter(action="audit.subject_report",
                                          outcome="allowed").exists()


def test_anonymous_users_are_sent_to_sign_in(client, client_record):
    response = client.get(URL, {"code": client_record.code})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
