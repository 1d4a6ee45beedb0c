"""The auditor's pages: filters that narrow, keyset pages without gaps, a client's and a
person's history, charts, exports that are themselves recorded, and never record contents."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from audit.views import CSV_HEADERS, EXPORT_FIELDS
from records import services as records
from tests.audit.conftest import PLAINTEXT, events, jpeg, last_event, streamed, write

# -- a known set of events to filter ----------------------------------------------------


@pytest.fixture
def known(record_at, owner, stylist, receptionist, auditor, login):
    """Named events with known people, clients, classes, outcomes, places and times."""
    import uuid

    now = timezone.now()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def ev(name, when, **kw):
        kw.setdefault("actor_label", kw["actor"].get_username() if kw.get("actor") else "x")
        return name, record_at(when, purpose=name, **kw)

    made = dict([
        ev("s-open", now - dt.timedelta(days=2), actor=stylist, role="stylist",
           action="client.open", client_id=a, client_code="BJ-000001", location_code="bj",
           data_class=4),
        ev("s-denied", now - dt.timedelta(days=1), actor=stylist, role="stylist",
           action="client.open", client_id=b, client_code="BJ-000002", location_code="bj",
           data_class=4, outcome="denied"),
        ev("s-photo", now - dt.timedelta(hours=3), actor=stylist, role="stylist",
           action="photo.view", client_id=a, client_code="BJ-000001", location_code="bj",
           data_class=4, break_glass=True),
        ev("r-list", now - dt.timedelta(hours=1), actor=receptionist, role="reception",
           action="client.list", subjects=[a], data_class=2),
        ev("r-search", now - dt.timedelta(minutes=30), actor=receptionist, role="reception",
           action="client.search", subjects=[b], data_class=2),
        ev("o-open-sh", now - dt.timedelta(days=10), actor=owner, role="owner",
           action="client.open", client_id=c, client_code="SH-000001", location_code="sh",
           data_class=4),
        ev("o-grant", now - dt.timedelta(days=4), actor=owner, role="owner",
           action="grant.give", client_id=a),
        ev("failed", now - dt.timedelta(hours=5), actor=None, actor_label="stylist",
           action="auth.login_failed", outcome="denied"),
    ])
    http = login(auditor)
    names = {event.seq: name for name, event in made.items()}
    names[last_event("auth.login", actor=auditor).seq] = "auditor-login"
    return http, names, now


def _names(http, names, **params) -> set[str]:
    response = http.get(reverse("audit:events"), params)
    assert response.status_code == 200
    return {names[e.seq] for e in response.context["rows"]}


def _local(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


ALL = {"s-open", "s-denied", "s-photo", "r-list", "r-search", "o-open-sh", "o-grant", "failed",
       "auditor-login"}


def test_without_a_filter_every_event_is_listed(known):
    http, names, _now = known
    assert _names(http, names) == ALL


def test_filter_by_person(known, stylist, receptionist):
    http, names, _now = known
    assert _names(http, names, person=stylist.pk) == {"s-open", "s-denied", "s-photo"}
    assert _names(http, names, person=receptionist.pk) == {"r-list", "r-search"}


def test_filter_by_client_code_finds_openings_and_list_appearances(known):
    http, names, _now = known
    assert _names(http, names, client_code="BJ-000001") == {"s-open", "s-photo", "r-list",
                                                            "o-grant"}
    assert _names(http, names, client_code="bj-000002") == {"s-denied", "r-search"}


def test_filter_by_action_prefix(known):
    http, names, _now = known
    assert _names(http, names, action="client") == {"s-open", "s-denied", "r-list",
                                                   "r-search", "o-open-sh"}
    assert _names(http, names, action="client.open") == {"s-open", "s-denied", "o-open-sh"}
    assert _names(http, names, action="auth") == {"failed", "auditor-login"}


def test_filter_by_data_class(known):
    http, names, _now = known
    assert _names(http, names, data_class=2) == {"r-list", "r-search"}
    assert _names(http, names, data_class=4) == {"s-open", "s-denied", "s-photo", "o-open-sh"}


def test_filter_by_outcome(known):
    http, names, _now = known
    assert _names(http, names, outcome="denied") == {"s-denied", "failed"}
    assert _names(http, names, outcome="allowed") == ALL - {"s-denied", "failed"}


def test_filter_by_break_glass(known):
    http, names, _now = known
    assert _names(http, names, break_glass="yes") == {"s-photo"}
    assert _names(http, names, break_glass="no") == ALL - {"s-photo"}


def test_filter_by_location(known):
    http, names, _now = known
    assert _names(http, names, location="sh") == {"o-open-sh"}
    assert _names(http, names, location="BJ") == {"s-open", "s-denied", "s-photo"}


def test_filter_by_time_range(known):
    http, names, now = known
    since, until = now - dt.timedelta(hours=36), now - dt.timedelta(hours=2)
    assert _names(http, names, since=_local(since), until=_local(until)) == {
        "s-denied", "s-photo", "failed"}
    assert _names(http, names, since=_local(now - dt.timedelta(days=3))) == ALL - {
        "o-open-sh", "o-grant"}
    assert _names(http, names, until=_local(now - dt.timedelta(days=3))) == {"o-open-sh",
                                                                            "o-grant"}


def test_filters_combine(known, stylist):
    http, names, _now = known
    assert _names(http, names, person=stylist.pk, outcome="denied") == {"s-denied"}
    assert _names(http, names, action="client", data_class=2, client_code="BJ-000002") == {
        "r-search"}


def test_a_filter_that_matches_nothing_says_so(known):
    http, _names_, _now = known
    response = http.get(reverse("audit:events"), {"location": "gz"})
    assert list(response.context["rows"]) == []
    assert "No events match." in response.content.decode()


def test_the_filter_form_keeps_the_values_and_shows_them(known, stylist):
    http, _names_, _now = known
    page = http.get(reverse("audit:events"), {"action": "client.open"}).content.decode()
    assert 'value="client.open"' in page
    assert 'href="/audit/export.csv?action=client.open"' in page


# -- paging ----------------------------------------------------------------------------


def _walk(http, params=None) -> list[list[int]]:
    pages, params = [], dict(params or {})
    url = reverse("audit:events")
    for _ in range(20):
        response = http.get(url, params)
        assert response.status_code == 200
        pages.append([e.seq for e in response.context["rows"]])
        older = response.context["older"]
        if older is None:
            assert 'id="older"' not in response.content.decode()
            return pages
        assert f"before={older}" in response.content.decode()
        params["before"] = older
    pytest.fail("paging did not end")


@pytest.mark.parametrize("extra", [49, 50, 51, 101])
def test_keyset_paging_walks_every_event_once(login, auditor, extra):
    http = login(auditor)
    write(extra)
    pages = _walk(http)
    seqs = [s for page in pages for s in page]
    assert len(seqs) == len(set(seqs)), "an event appeared twice"
    assert sorted(seqs) == [e.seq for e in events()], "an event was skipped"
    assert seqs == sorted(seqs, reverse=True)
    assert all(len(page) <= 50 for page in pages) and all(len(p) == 50 for p in pages[:-1])
    assert len(pages) == -(-AccessEvent.objects.count() // 50)


def test_keyset_paging_keeps_the_filter(login, auditor):
    http = login(auditor)
    for _ in range(3):
        write(30, action="test.page")
        write(7, action="other.thing")
    pages = _walk(http, {"action": "test.page"})
    seqs = [s for page in pages for s in page]
    assert sorted(seqs) == [e.seq for e in events("test.page")]
    assert len(seqs) == 90 and len(pages) == 2


def test_a_page_before_an_old_event_starts_below_it(login, auditor):
    http = login(auditor)
    write(60)
    rows = http.get(reverse("audit:events"), {"before": 20}).context["rows"]
    assert [e.seq for e in rows] == list(range(19, 0, -1))


def test_a_bad_before_value_is_ignored(login, auditor):
    http = login(auditor)
    write(3)
    response = http.get(reverse("audit:events"), {"before": "1 OR 1=1"})
    assert response.status_code == 200 and len(response.context["rows"]) == 4


# -- a client's history ----------------------------------------------------------------


@pytest.fixture
def two_clients(login, client_record, make_client, stylist, receptionist, owner):
    """Client A is opened by the stylist and listed; client B is searched and opened."""
    b = make_client(full_name="王芳", phone="13900001234")
    login(stylist).get(reverse("records:client_detail", args=[client_record.pk]))
    login(receptionist).get(reverse("records:client_list"))
    login(receptionist).post(reverse("records:client_list"), {"q": "王芳"})
    login(owner).get(reverse("records:client_detail", args=[b.pk]))
    return client_record, b


def _client_page(http, code):
    response = http.get(reverse("audit:client", args=[code]))
    assert response.status_code == 200
    return response


def test_a_clients_history_shows_its_openings_and_list_appearances_only(
        two_clients, login, auditor, stylist, receptionist):
    a, b = two_clients
    http = login(auditor)
    rows = _client_page(http, a.code).context["rows"]
    seen = {(e.action, e.actor_label) for e in rows}
    assert ("client.open", "stylist") in seen
    assert ("client.list", "reception") in seen
    assert ("client.search", "reception") not in seen
    assert ("client.open", "owner") not in seen
    for event in rows:
        assert event.client_id == a.pk or str(a.pk) in event.subjects


def test_the_other_clients_history_shows_its_own(two_clients, login, auditor):
    a, b = two_clients
    rows = _client_page(login(auditor), b.code).context["rows"]
    seen = {(e.action, e.actor_label) for e in rows}
    assert {("client.open", "owner"), ("client.search", "reception"),
            ("client.list", "reception")} <= seen
    assert ("client.open", "stylist") not in seen
    for event in rows:
        assert event.client_id == b.pk or str(b.pk) in event.subjects


def _skip_event_ids_ahead(by: int = 1000) -> None:
    """Make event ids run ahead of sequence numbers, as PostgreSQL does after any rolled-back
    write (a sequence never goes back) and as any restore or import may."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("UPDATE sqlite_sequence SET seq = seq + %s "
                           "WHERE name = 'audit_accessevent'", [by])
        else:
            cursor.execute("SELECT setval(pg_get_serial_sequence('audit_accessevent', 'id'), "
                           "(SELECT max(id) FROM audit_accessevent) + %s)", [by])


def test_list_appearances_are_found_when_event_ids_and_sequence_numbers_differ(
        login, auditor, client_record, receptionist, stylist):
    _skip_event_ids_ahead()
    login(receptionist).get(reverse("records:client_list"))
    login(stylist).get(reverse("records:client_detail", args=[client_record.pk]))
    listed = last_event("client.list")
    assert listed.pk != listed.seq
    rows = _client_page(login(auditor), client_record.code).context["rows"]
    assert listed.seq in {e.seq for e in rows}, "the list appearance is missing"
    for event in rows:
        assert event.client_id == client_record.pk or str(client_record.pk) in event.subjects


def test_an_unknown_client_code_says_nothing_was_recorded(login, auditor):
    response = _client_page(login(auditor), "ZZ-999999")
    assert "No opening of this client has been recorded." in response.content.decode()
    assert list(response.context["rows"]) == []


# -- a person's timeline ---------------------------------------------------------------


def test_a_persons_timeline_lists_their_events_with_bars_per_day(login, auditor, stylist,
                                                                 receptionist, record_at):
    now = timezone.now()
    for _ in range(3):
        record_at(now, actor=stylist, actor_label="stylist", action="client.open")
    record_at(now - dt.timedelta(days=2), actor=stylist, actor_label="stylist",
              action="client.open")
    record_at(now, actor=receptionist, actor_label="reception", action="client.list")
    response = login(auditor).get(reverse("audit:person", args=[stylist.pk]))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == 4 and {e.actor_id for e in rows} == {stylist.pk}
    days = {d["day"]: d for d in response.context["days"]}
    assert len(days) == 30
    today = timezone.localdate()
    assert days[today]["n"] == 3 and days[today]["pct"] == 100
    two_ago = timezone.localtime(now - dt.timedelta(days=2)).date()
    assert days[two_ago]["n"] == 1 and days[two_ago]["pct"] == 33
    assert sum(d["n"] for d in days.values()) == 4
    page = response.content.decode()
    assert f'title="{today:%Y-%m-%d}: 3"' in page
    assert "Activity of stylist" in page


def test_a_persons_timeline_can_be_filtered(login, auditor, stylist, record_at):
    record_at(timezone.now(), actor=stylist, actor_label="stylist", action="client.open")
    record_at(timezone.now(), actor=stylist, actor_label="stylist", action="photo.view")
    response = login(auditor).get(reverse("audit:person", args=[stylist.pk]),
                                  {"action": "photo"})
    assert [e.action for e in response.context["rows"]] == ["photo.view"]


def test_an_unknown_person_is_not_found(login, auditor):
    assert login(auditor).get(reverse("audit:person", args=[99999])).status_code == 404


# -- charts ----------------------------------------------------------------------------


def test_charts_count_events_per_day_and_per_person(login, auditor, stylist, record_at):
    now = timezone.now()
    for _ in range(4):
        record_at(now, actor=stylist, actor_label="stylist", action="client.open")
    record_at(now - dt.timedelta(days=1), actor=stylist, actor_label="stylist",
              action="client.open")
    response = login(auditor).get(reverse("audit:charts"), {"person": stylist.pk})
    assert response.status_code == 200
    days = {d["day"]: d["n"] for d in response.context["days"]}
    assert days[timezone.localdate()] == 4
    assert days[timezone.localtime(now - dt.timedelta(days=1)).date()] == 1
    assert [(p["person"], p["n"], p["pct"]) for p in response.context["people"]] == [
        ("stylist", 5, 100)]  # the display name of the fixture's stylist


def test_charts_count_everyone_without_a_filter(login, auditor, stylist, receptionist,
                                                record_at):
    http = login(auditor)
    now = timezone.now()
    for _ in range(2):
        record_at(now, actor=receptionist, actor_label="reception", action="client.list")
    record_at(now, actor=stylist, actor_label="stylist", action="client.open")
    people = {p["actor_label"]: p["n"] for p in http.get(reverse("audit:charts")).context["people"]}
    assert people["reception"] == 2 and people["stylist"] == 1


# -- exports ---------------------------------------------------------------------------


@pytest.fixture
def exporter(login, auditor):
    return login(auditor, reauthed=True)


def _csv(response) -> tuple[str, list[dict]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    body = streamed(response)
    header, *lines = csv.reader(io.StringIO(body.removeprefix("\ufeff")))
    assert header == [str(label) for label in CSV_HEADERS.values()]
    return body, [dict(zip(CSV_HEADERS, line, strict=True)) for line in lines]


def test_the_csv_export_starts_with_a_bom_and_a_header(exporter):
    write(2)
    body, rows = _csv(exporter.get(reverse("audit:export_csv")))
    assert body.startswith("\ufeff")
    assert body.removeprefix("\ufeff").splitlines()[0].split(",")[:3] == ["No.", "Time", "Person"]


def test_export_times_are_on_the_salons_clock(exporter, record_at):
    record_at(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC), action="client.open")
    _body, rows = _csv(exporter.get(reverse("audit:export_csv"), {"action": "client.open"}))
    assert rows[0]["at"] == "2026-03-02T00:30:00+08:00"
    lines = streamed(exporter.get(reverse("audit:export_jsonl"), {"action": "client.open"}))
    assert json.loads(lines.splitlines()[0])["at"] == "2026-03-02T00:30:00+08:00"


def test_the_csv_export_holds_the_filtered_events(exporter, stylist, record_at):
    write(3, action="other.thing")
    for _ in range(2):
        record_at(timezone.now(), actor=stylist, actor_label="stylist", action="client.open",
                  client_code="BJ-000001", location_code="bj", data_class=4, purpose="look")
    _body, rows = _csv(exporter.get(reverse("audit:export_csv"), {"person": stylist.pk}))
    assert [r["action"] for r in rows] == ["client.open", "client.open"]
    assert {r["actor_label"] for r in rows} == {"stylist"}
    assert rows[0]["client_code"] == "BJ-000001" and rows[0]["data_class"] == "4"
    assert int(rows[0]["seq"]) > int(rows[1]["seq"])
    assert last_event("audit.export.csv").detail["rows"] == 2


def test_the_recorded_row_count_matches_the_rows_delivered(exporter):
    write(5)
    _body, rows = _csv(exporter.get(reverse("audit:export_csv")))
    assert last_event("audit.export.csv").detail["rows"] == len(rows)


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil\")", "+1+2", "-2+3", "@SUM(A1)"])
def test_the_csv_export_neutralises_formula_like_text(exporter, record_at, text):
    record_at(timezone.now(), actor_label=text, purpose=text, action="test.formula")
    from audit import context

    token = context.bind(context.RequestFacts(request_id="r" * 32, ip="10.0.0.1",
                                              user_agent=text))
    try:
        write(1, action="test.formula")
    finally:
        context.unbind(token)
    _body, rows = _csv(exporter.get(reverse("audit:export_csv"), {"action": "test.formula"}))
    assert len(rows) == 2
    for row in rows:
        for key in ("actor_label", "purpose", "user_agent"):
            if row[key]:
                assert not row[key].startswith(("=", "+", "-", "@")), (key, row[key])
    assert rows[1]["actor_label"] == "'" + text and rows[1]["purpose"] == "'" + text
    assert rows[0]["user_agent"] == "'" + text


def test_the_jsonl_export_holds_one_event_per_line(exporter, stylist, record_at):
    for _ in range(3):
        record_at(timezone.now(), actor=stylist, actor_label="stylist", action="photo.view")
    response = exporter.get(reverse("audit:export_jsonl"), {"action": "photo"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = streamed(response).splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 3 and {r["action"] for r in rows} == {"photo.view"}
    assert set(rows[0]) == set(EXPORT_FIELDS)
    assert last_event("audit.export.jsonl").detail == {"rows": 3, "filter": {"action": "photo"}}


def test_an_invalid_filter_is_not_exported(exporter):
    write(2)
    response = exporter.get(reverse("audit:export_csv"), {"since": "2024-05-02T00:00",
                                                          "until": "2024-05-01T00:00"})
    assert response.status_code == 302
    assert not AccessEvent.objects.filter(action__startswith="audit.export").exists()


def test_an_export_is_itself_visible_in_the_log(exporter, login, auditor):
    b"".join(exporter.get(reverse("audit:export_csv")).streaming_content)
    rows = login(auditor).get(reverse("audit:events"), {"action": "audit.export"}).context["rows"]
    assert [e.action for e in rows] == ["audit.export.csv"]


@pytest.mark.parametrize("name", ["audit:export_csv", "audit:export_jsonl"])
def test_an_export_asks_for_the_password_again_first(login, auditor, name):
    write(2)
    response = login(auditor).get(reverse(name), {"action": "test"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauth/?next=")
    assert not AccessEvent.objects.filter(action__startswith="audit.export").exists()


# -- record contents never reach the audit side ----------------------------------------


def test_auditors_never_see_record_contents(login, auditor, owner, stylist, receptionist,
                                            client_record, settings):
    from audit import anomalies

    settings.ANOMALY_DENIALS_PER_HOUR = 1
    records.photo_add(actor=stylist, client=client_record, upload=io.BytesIO(jpeg()),
                      kind="before", taken_on=dt.date(2024, 5, 1))
    login(stylist).get(reverse("records:client_detail", args=[client_record.pk]))
    login(receptionist).post(reverse("records:client_list"), {"q": "李娜"})
    login(receptionist).post(reverse("records:client_list"), {"q": "13812345678"})
    login(receptionist).post(reverse("records:client_list"), {"q": "lina@example.cn"})
    login(receptionist).get(reverse("audit:events"))
    records.client_update(actor=owner, client=client_record, data={"phone": "13812345678"})
    anomalies.detect()
    http = login(auditor, reauthed=True)
    pages = [reverse("audit:events"), reverse("audit:events") + "?client_code=" + client_record.code,
             reverse("audit:client", args=[client_record.code]),
             reverse("audit:person", args=[stylist.pk]),
             reverse("audit:person", args=[receptionist.pk]),
             reverse("audit:charts"), reverse("audit:alerts") + "?state=all"]
    from audit.models import Alert

    pages += [reverse("audit:alert", args=[a.pk]) for a in Alert.objects.all()]
    assert Alert.objects.exists()
    seen = []
    for url in pages:
        response = http.get(url)
        assert response.status_code == 200, url
        seen.append(response.content.decode())
    seen.append(streamed(http.get(reverse("audit:export_csv"))))
    seen.append(streamed(http.get(reverse("audit:export_jsonl"))))
    everything = "\n".join(seen)
    assert client_record.code in everything and "client.search" in everything
    for value in PLAINTEXT:
        assert value not in everything, value


# -- who may use the pages --------------------------------------------------------------


PAGES = ["audit:events", "audit:charts", "audit:alerts", "audit:export_csv",
         "audit:export_jsonl"]


@pytest.mark.parametrize("name", PAGES)
def test_owners_may_use_the_auditors_pages(login, owner, name):
    write(1)
    response = login(owner, reauthed=True).get(reverse(name))
    assert response.status_code == 200


def test_owners_may_open_a_client_and_a_person_history(login, owner, stylist, client_record):
    http = login(owner)
    assert http.get(reverse("audit:client", args=[client_record.code])).status_code == 200
    assert http.get(reverse("audit:person", args=[stylist.pk])).status_code == 200


@pytest.mark.parametrize("who", ["manager", "stylist", "receptionist"])
@pytest.mark.parametrize("name", PAGES)
def test_other_staff_are_refused_and_the_refusal_is_recorded(request, login, who, name):
    person = request.getfixturevalue(who)
    response = login(person, reauthed=True).get(reverse(name))
    assert response.status_code == 403
    event = last_event("audit.view")
    assert event.actor == person and event.outcome == "denied"
    assert not AccessEvent.objects.filter(action__startswith="audit.export").exists()


@pytest.mark.parametrize("who", ["manager", "stylist", "receptionist"])
def test_other_staff_cannot_open_a_client_or_person_history(request, login, who, stylist,
                                                            client_record):
    http = login(request.getfixturevalue(who))
    assert http.get(reverse("audit:client", args=[client_record.code])).status_code == 403
    assert http.get(reverse("audit:person", args=[stylist.pk])).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_users_are_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert not AccessEvent.objects.exists()


def test_an_auditor_without_the_second_factor_is_sent_to_verify(login, auditor):
    response = login(auditor, verified=False).get(reverse("audit:events"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/otp/")

