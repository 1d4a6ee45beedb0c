"""Complaints and feedback: staff record one, an owner or a manager handles and resolves it,
auditors read the list and the monthly summary, and nobody else sees any of it. What the
client said never reaches the database, the list or the audit log in plaintext."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone, translation

from access import door
from audit import actions
from audit.models import AccessEvent
from rights import complaints
from rights.models import Complaint
from vault.classes import DataClass

TEXT = "染发后头皮刺痛，店员态度冷淡 marker-7f3a"
ANSWER = "已致电道歉并退还费用 answer-91c2"


def _file(actor, *, client=None, text=TEXT, category=Complaint.Category.SERVICE,
          channel="phone"):
    """File as staff do: inside the case file the page opens."""
    subject = client.pk if client is not None else uuid.uuid4()
    with door.open_case_file(user=actor, subjects=[subject], purpose=actions.HANDLE_COMPLAINT,
                             action=actions.COMPLAINT_OPEN):
        return complaints.file(category=category, channel=channel, description=text,
                               client=client, actor=actor, subject_id=subject)


def _resolve(actor, complaint, text=ANSWER):
    with door.open_case_file(user=actor, subjects=[complaint.subject_id],
                             purpose=actions.HANDLE_COMPLAINT, action=actions.COMPLAINT_STEP):
        return complaints.resolve(complaint, resolution=text, actor=actor)


def _raw_columns() -> list[bytes]:
    connection = connections[router.db_for_read(Complaint)]
    table = connection.ops.quote_name(Complaint._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT description, resolution FROM {table}")  # noqa: S608
        return [bytes(value) for row in cursor.fetchall() for value in row if value is not None]


# -- filing --------------------------------------------------------------------------------
def test_a_stylist_records_a_complaint_at_the_desk(stylist, client_record, login):
    http = login(stylist)
    assert http.get("/rights/complaints/new/").status_code == 200
    response = http.post("/rights/complaints/new/", {
        "category": "service", "channel": "in_person", "client_code": client_record.code.lower(),
        "description": TEXT})
    assert response.status_code == 302 and response["Location"] == "/rights/complaints/new/"
    complaint = Complaint.objects.get()
    assert complaint.client_id == complaint.subject_id == client_record.pk
    assert complaint.client_code == client_record.code
    assert complaint.received_by == stylist and complaint.state == Complaint.State.OPEN
    assert complaint.due_on == timezone.localdate() + dt.timedelta(days=15)


def test_the_deadline_follows_the_setting(settings, owner):
    settings.COMPLAINT_DUE_DAYS = 30
    complaint = _file(owner)
    assert complaint.due_on == timezone.localdate() + dt.timedelta(days=30)


def test_a_complaint_naming_no_client_is_sealed_under_a_key_of_its_own(owner, login):
    http = login(owner)
    response = http.post("/rights/complaints/new/", {
        "category": "staff", "channel": "phone", "client_code": "", "description": TEXT})
    complaint = Complaint.objects.get()
    assert response["Location"] == f"/rights/complaints/{complaint.pk}/"
    assert complaint.client_id is None and complaint.subject_id is not None
    assert TEXT in http.get(response["Location"]).content.decode()


def test_an_unknown_or_unseen_client_code_is_refused_next_to_the_field(
        receptionist, make_client, other_location, login):
    elsewhere = make_client(location=other_location, full_name="赵敏", phone="13900009999")
    http = login(receptionist)
    for code in ("ZZ-404404", elsewhere.code):
        response = http.post("/rights/complaints/new/", {
            "category": "service", "channel": "phone", "client_code": code,
            "description": TEXT}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        assert "No client you can see has this code." in response.content.decode()
    assert not Complaint.objects.exists()


def test_an_empty_complaint_is_refused(stylist, login):
    response = login(stylist).post("/rights/complaints/new/", {
        "category": "service", "channel": "phone", "description": "  "})
    assert response.status_code == 400 and not Complaint.objects.exists()
    with pytest.raises(ValidationError):
        _file(stylist, text=" ")


def test_the_text_is_not_in_the_database_in_plaintext(owner, client_record):
    complaint = _file(owner, client=client_record)
    _resolve(owner, complaint)
    raw = _raw_columns()
    assert len(raw) == 2
    for value in raw:
        assert TEXT.encode() not in value and ANSWER.encode() not in value
        assert b"marker-7f3a" not in value and b"answer-91c2" not in value
    stored = Complaint.objects.get()
    assert str(stored.description) == "‹sealed›"  # outside a scope, nothing reads it


def test_the_clients_own_page_files_a_complaint_as_the_client(client_record):
    with door.open_for_client_self(client=client_record, purpose=actions.CLIENT_SELF_SERVICE,
                                   action=actions.CLIENT_PAGE_OPEN, ceiling=DataClass.L3):
        complaint = complaints.file(category="privacy", channel="client_page",
                                    description=TEXT, client=client_record)
    assert complaint.received_by is None and complaint.subject_id == client_record.pk
    event = AccessEvent.objects.get(action=actions.COMPLAINT_OPEN)
    assert event.actor_label == f"client:{client_record.code}" and event.role == "client"
    assert event.client_id == client_record.pk
    assert event.detail == {"complaint": str(complaint.pk), "category": "privacy",
                            "channel": "client_page"}
    with door.open_for_system(actor="test", purpose=actions.INTEGRITY_CHECK,
                              subjects=[client_record.pk], ceiling=DataClass.L3):
        assert Complaint.objects.get().description == TEXT


# -- handling ------------------------------------------------------------------------------
def test_an_owner_assigns_a_manager_and_the_manager_resolves(owner, manager, client_record,
                                                              login):
    complaint = _file(owner, client=client_record)
    http = login(owner)
    page = http.get(f"/rights/complaints/{complaint.pk}/").content.decode()
    assert TEXT in page and client_record.code in page
    response = http.post(f"/rights/complaints/{complaint.pk}/assign/", {"handler": manager.pk})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.handler == manager

    http = login(manager)
    response = http.post(f"/rights/complaints/{complaint.pk}/resolve/", {"resolution": ANSWER})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.state == Complaint.State.RESOLVED and complaint.resolved_by == manager
    assert complaint.resolved_at is not None
    page = http.get(f"/rights/complaints/{complaint.pk}/").content.decode()
    assert ANSWER in page and 'id="resolve-form"' not in page


def test_a_resolution_is_required(owner, login):
    complaint = _file(owner)
    response = login(owner).post(f"/rights/complaints/{complaint.pk}/resolve/",
                                 {"resolution": "   "})
    assert response.status_code == 400
    complaint.refresh_from_db()
    assert complaint.state == Complaint.State.OPEN and complaint.resolved_at is None
    with pytest.raises(ValidationError):
        _resolve(owner, complaint, text="")


def test_a_resolved_complaint_is_not_resolved_again(owner):
    complaint = _file(owner)
    _resolve(owner, complaint)
    with pytest.raises(complaints.ComplaintStateError):
        _resolve(owner, Complaint.objects.get(pk=complaint.pk), text="again")


def test_only_an_owner_or_manager_can_be_given_a_complaint(owner, stylist, login):
    complaint = _file(owner)
    with pytest.raises(ValidationError):
        complaints.assign(complaint, handler=stylist, actor=owner)
    response = login(owner).post(f"/rights/complaints/{complaint.pk}/assign/",
                                 {"handler": stylist.pk})
    assert response.status_code == 400
    complaint.refresh_from_db()
    assert complaint.handler is None


def test_overdue_complaints_are_open_ones_past_their_due_day(owner, login):
    late, on_time, done = _file(owner), _file(owner), _file(owner)
    _resolve(owner, done)
    today = timezone.localdate()
    Complaint.objects.filter(pk__in=[late.pk, done.pk]).update(
        due_on=today - dt.timedelta(days=1))
    assert list(complaints.overdue(today=today)) == [Complaint.objects.get(pk=late.pk)]
    # A clock moved on past the deadline of the other one too.
    later = on_time.due_on + dt.timedelta(days=1)
    assert set(complaints.overdue(today=later)) == {Complaint.objects.get(pk=late.pk),
                                                   Complaint.objects.get(pk=on_time.pk)}
    page = login(owner).get("/rights/complaints/?show=overdue").content.decode()
    assert f'id="complaint-{late.pk}"' in page and f'id="complaint-{on_time.pk}"' not in page
    assert "badge alert overdue" in page


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def test_the_monthly_summary_counts_by_category(owner):
    march = dt.date(2025, 3, 1)
    quick, slow, waiting, late, billing, april = (
        _file(owner), _file(owner), _file(owner), _file(owner),
        _file(owner, category=Complaint.Category.BILLING), _file(owner))
    for complaint in (quick, slow):
        _resolve(owner, complaint)
    moves = {  # received, due, resolved
        quick: (march + dt.timedelta(days=2), march + dt.timedelta(days=17), 2),
        slow: (march + dt.timedelta(days=4), march + dt.timedelta(days=19), 20),
        waiting: (march + dt.timedelta(days=20), dt.date(2025, 4, 4), None),
        late: (march + dt.timedelta(days=1), march + dt.timedelta(days=16), None),
        billing: (dt.date(2025, 3, 31), dt.date(2025, 4, 15), None),
        april: (dt.date(2025, 4, 1), dt.date(2025, 4, 16), None),
    }
    for complaint, (received, due, days) in moves.items():
        resolved = _at(received) + dt.timedelta(days=days) if days is not None else None
        Complaint.objects.filter(pk=complaint.pk).update(
            received_at=_at(received, hour=0), due_on=due, resolved_at=resolved)
    # Received at 00:00 and resolved at 10:00 a number of days later.
    summary = complaints.monthly_summary(2025, 3, today=dt.date(2025, 4, 2))
    service = next(r for r in summary["categories"] if r["category"] == "service")
    assert service == {"category": "service", "label": service["label"], "received": 4,
                       "resolved": 2, "resolved_on_time": 1, "open": 2, "overdue": 1,
                       "median_days": round((2 + 20) / 2 + 10 / 24, 1)}
    billing_row = next(r for r in summary["categories"] if r["category"] == "billing")
    assert (billing_row["received"], billing_row["open"], billing_row["overdue"]) == (1, 1, 0)
    assert billing_row["median_days"] is None
    assert summary["total"]["received"] == 5 and summary["total"]["overdue"] == 1


def test_the_summary_page_and_its_csv(owner, auditor, login):
    complaint = _file(owner, category=Complaint.Category.PRIVACY)
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=15)
    Complaint.objects.filter(pk=complaint.pk).update(received_at=_at(last_month))
    month = last_month.strftime("%Y-%m")
    http = login(auditor)
    page = http.get("/rights/complaints/summary/").content.decode()  # last month by default
    assert month in page and 'id="month-next"' in page and 'id="summary-privacy"' in page
    this_month = timezone.localdate().strftime("%Y-%m")
    assert 'id="month-next"' not in http.get(
        f"/rights/complaints/summary/?month={this_month}").content.decode()
    assert http.get("/rights/complaints/summary/?month=nonsense").status_code == 200
    response = http.get(f"/rights/complaints/summary.csv?month={month}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'complaints-{month}.csv' in response["Content-Disposition"]
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + len(Complaint.Category.choices) + 1
    assert any(line.endswith(",1,0,0,1,0,") for line in lines)  # privacy: one, still open


# -- who may see what ----------------------------------------------------------------------
@pytest.mark.parametrize("path", ["", "{pk}/", "summary/", "summary.csv"])
def test_a_stylist_cannot_open_the_list_a_complaint_or_the_summary(path, owner, stylist,
                                                                  login):
    complaint = _file(owner)
    response = login(stylist).get("/rights/complaints/" + path.format(pk=complaint.pk))
    assert response.status_code == 403
    assert TEXT not in response.content.decode()


@pytest.mark.parametrize("step", ["assign", "resolve"])
def test_a_stylist_or_an_auditor_cannot_handle_a_complaint(step, owner, stylist, auditor,
                                                          login):
    complaint = _file(owner)
    for person in (stylist, auditor):
        response = login(person).post(f"/rights/complaints/{complaint.pk}/{step}/",
                                      {"handler": person.pk, "resolution": ANSWER})
        assert response.status_code == 403
    complaint.refresh_from_db()
    assert complaint.state == Complaint.State.OPEN and complaint.handler is None


def test_an_auditor_reads_the_list_and_metadata_but_never_the_text(owner, auditor,
                                                                  client_record, login):
    complaint = _file(owner, client=client_record)
    _resolve(owner, complaint)
    http = login(auditor)
    assert http.get("/rights/complaints/new/").status_code == 403
    listing = http.get("/rights/complaints/?show=resolved").content.decode()
    assert client_record.code in listing and TEXT not in listing
    page = http.get(f"/rights/complaints/{complaint.pk}/")
    assert page.status_code == 200
    assert TEXT not in page.content.decode() and ANSWER not in page.content.decode()
    before = AccessEvent.objects.filter(action=actions.COMPLAINT_STEP).count()
    http.get(f"/rights/complaints/{complaint.pk}/")
    assert AccessEvent.objects.filter(action=actions.COMPLAINT_STEP).count() == before


def test_a_complaint_that_does_not_exist_is_not_found(owner, login):
    assert login(owner).get(f"/rights/complaints/{uuid.uuid4()}/").status_code == 404


@pytest.mark.parametrize("path", ["", "new/", "summary/", "summary.csv", "{pk}/"])
def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(path, owner, client):
    complaint = _file(owner)
    response = client.get("/rights/complaints/" + path.format(pk=complaint.pk))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# -- the audit log -------------------------------------------------------------------------
def test_each_step_is_recorded_without_the_text(owner, manager, stylist, client_record, login):
    login(stylist).post("/rights/complaints/new/", {
        "category": "service", "channel": "phone", "client_code": client_record.code,
        "description": TEXT})
    complaint = Complaint.objects.get()
    http = login(owner)
    http.get(f"/rights/complaints/{complaint.pk}/")
    http.post(f"/rights/complaints/{complaint.pk}/assign/", {"handler": manager.pk})
    login(manager).post(f"/rights/complaints/{complaint.pk}/resolve/", {"resolution": ANSWER})

    opened = AccessEvent.objects.get(action=actions.COMPLAINT_OPEN)
    assert (opened.actor, opened.role, opened.purpose) == (stylist, "stylist",
                                                           actions.HANDLE_COMPLAINT)
    assert opened.subjects == [str(client_record.pk)]
    steps = AccessEvent.objects.filter(action=actions.COMPLAINT_STEP).order_by("seq")
    assert [(e.actor, e.detail["step"]) for e in steps] == [
        (owner, "view"), (owner, "assign"), (manager, "resolve")]
    assert all(e.detail["complaint"] == str(complaint.pk) for e in steps)
    assert steps[1].detail["handler"] == manager.pk
    for event in AccessEvent.objects.all():
        written = json.dumps(event.detail, ensure_ascii=False)
        assert "marker-7f3a" not in written and "answer-91c2" not in written
        assert TEXT not in written and ANSWER not in written


# -- the dashboard panel -------------------------------------------------------------------
def _panel(user) -> str:
    request = RequestFactory().get("/staff/")
    request.user = user
    with translation.override("en"):
        return Template("{% load complaint_tags %}{% complaints_panel %}").render(
            Context({"request": request}))


def test_the_dashboard_panel_counts_open_and_overdue_complaints(owner, stylist):
    late, _recent = _file(owner), _file(owner)
    Complaint.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - dt.timedelta(days=3))
    html = _panel(owner)
    assert 'id="complaints-panel"' in html
    assert "2 complaints are open." in html and "1 is past its deadline." in html
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    assert f"/rights/complaints/summary/?month={last_month}" in html
    assert "/rights/complaints/?show=overdue" in html
    assert _panel(stylist).strip() == ""


# -- values that cannot be read ------------------------------------------------------------
def test_a_damaged_complaint_shows_a_mark_and_raises_an_alert(owner, client_record, login):
    from audit.models import Alert
    from vault.scope import Sealed

    complaint = _file(owner, client=client_record)
    blob = bytearray(Complaint.objects.values_list("description", flat=True).get().blob)
    blob[-1] ^= 0x01
    Complaint.objects.filter(pk=complaint.pk).update(description=Sealed(bytes(blob)))
    response = login(owner).get(f"/rights/complaints/{complaint.pk}/")
    assert response.status_code == 200
    assert "⚠" in response.content.decode() and TEXT not in response.content.decode()
    assert Alert.objects.filter(key__contains=str(complaint.pk)).exists()


def test_re_keying_a_client_keeps_their_complaints_readable(owner, client_record):
    from records import rekey

    _file(owner, client=client_record)
    rekey.client_rekey(client_record.pk)
    with door.open_for_system(actor="test", purpose=actions.INTEGRITY_CHECK,
                              subjects=[client_record.pk], ceiling=DataClass.L3):
        assert Complaint.objects.get().description == TEXT
