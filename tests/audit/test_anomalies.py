"""Anomaly rules raise one alert per hit; owners and auditors acknowledge and resolve them,
and every step is itself recorded."""

from __future__ import annotations

import datetime as dt
import uuid
from contextlib import ExitStack

import pytest
from django.urls import reverse
from django.utils import timezone

from access import door
from access import services as access_services
from audit import anomalies
from audit.models import Alert
from tests.audit.conftest import clock_at, events, last_event

REASON = "顾客到店要求当场染发，需要确认过敏史以免发生过敏反应"


@pytest.fixture
def midday():
    """A moment well inside opening hours, an hour ago or more (a fixed hour bucket)."""
    local = timezone.localtime(timezone.now() - dt.timedelta(hours=1))
    if not dt.time(9) <= local.time() < dt.time(21):
        local = local.replace(hour=12) - dt.timedelta(days=1 if local.hour < 9 else 0)
    return local.replace(minute=5, second=0, microsecond=0)


@pytest.fixture
def thresholds(settings):
    settings.ANOMALY_CLIENTS_PER_HOUR = 3
    settings.ANOMALY_DENIALS_PER_HOUR = 3
    settings.ANOMALY_EXPORT_ROWS = 10
    # Open all day, so that tests run at any hour see only the rule they are about.
    settings.OPENING_HOURS = "00:00-23:59:59.999999"
    return settings


def _detect(when):
    return anomalies.detect(now=when + dt.timedelta(minutes=30))


def _rules(alerts) -> list[str]:
    return sorted(a.rule for a in alerts)


def _open(user, client, when, monkeypatch, **kw):
    with ExitStack() as stack:
        stack.enter_context(clock_at(monkeypatch, when))
        stack.enter_context(door.open_client(user=user, client=client, purpose="test", **kw))


# -- the rules --------------------------------------------------------------------------


def test_many_clients_opened_in_an_hour_raise_one_alert(thresholds, midday, owner, make_client,
                                                        monkeypatch):
    clients = [make_client(full_name=f"客户{i}", phone=f"1390000{i:04d}") for i in range(3)]
    for i, client in enumerate(clients):
        _open(owner, client, midday + dt.timedelta(minutes=i), monkeypatch)
    raised = _detect(midday)
    assert _rules(raised) == ["many_clients"]
    alert = raised[0]
    assert alert.actor == owner and alert.count == 3
    assert alert.window_end - alert.window_start == dt.timedelta(hours=1)
    assert _detect(midday) == []
    assert Alert.objects.count() == 1


def test_opening_the_same_client_many_times_is_not_many_clients(thresholds, midday, owner,
                                                                client_record, monkeypatch):
    for i in range(5):
        _open(owner, client_record, midday + dt.timedelta(minutes=i), monkeypatch)
    assert _detect(midday) == []


def test_below_the_threshold_nothing_is_raised(thresholds, midday, owner, make_client,
                                               monkeypatch):
    for i in range(2):
        _open(owner, make_client(phone=f"1390000{i:04d}"), midday, monkeypatch)
    assert _detect(midday) == []


def test_the_threshold_comes_from_settings(thresholds, midday, owner, make_client, monkeypatch):
    thresholds.ANOMALY_CLIENTS_PER_HOUR = 2
    for i in range(2):
        _open(owner, make_client(phone=f"1390000{i:04d}"), midday, monkeypatch)
    assert _rules(_detect(midday)) == ["many_clients"]


def test_access_outside_opening_hours_raises_one_alert_per_night(thresholds, owner,
                                                                 client_record, monkeypatch):
    thresholds.OPENING_HOURS = "08:00-22:00"
    night = timezone.localtime(timezone.now() - dt.timedelta(days=1)).replace(
        hour=23, minute=10, second=0, microsecond=0)
    _open(owner, client_record, night, monkeypatch)
    _open(owner, client_record, night + dt.timedelta(minutes=20), monkeypatch)
    raised = _detect(night)
    assert _rules(raised) == ["off_hours"]
    assert raised[0].count == 2 and raised[0].detail["opening_hours"] == "08:00-22:00"
    assert _detect(night) == []


def test_opening_hours_come_from_settings(thresholds, owner, client_record, monkeypatch,
                                          midday):
    thresholds.OPENING_HOURS = "09:00-10:00"
    _open(owner, client_record, midday.replace(hour=15), monkeypatch)
    assert _rules(_detect(midday.replace(hour=15))) == ["off_hours"]


def test_access_inside_opening_hours_raises_nothing(thresholds, owner, client_record,
                                                    monkeypatch, midday):
    thresholds.OPENING_HOURS = "08:00-22:00"
    _open(owner, client_record, midday, monkeypatch)
    assert _detect(midday) == []


def test_repeated_denials_raise_one_alert(thresholds, midday, receptionist, client_record,
                                          monkeypatch):
    from vault.classes import DataClass

    for i in range(3):
        with pytest.raises(door.AccessDenied):
            _open(receptionist, client_record, midday + dt.timedelta(minutes=i), monkeypatch,
                  action="photo.view", want=DataClass.L4)
    raised = _detect(midday)
    assert _rules(raised) == ["denials"]
    assert raised[0].actor == receptionist and raised[0].count == 3
    assert _detect(midday) == []


def test_failed_sign_ins_count_as_denials(thresholds, client, stylist):
    for _ in range(3):
        client.post(reverse("login"), {"username": "stylist", "password": "wrong-password-1"})
    raised = anomalies.detect()
    assert "denials" in _rules(raised)


def test_break_glass_use_raises_one_alert(thresholds, stylist, make_client):
    other = make_client(full_name="周敏", phone="13600001111")
    access_services.break_glass_open(actor=stylist, client=other, reason=REASON)
    raised = anomalies.detect()
    assert _rules(raised) == ["break_glass"]
    assert raised[0].actor == stylist and raised[0].detail["client_code"] == other.code
    assert anomalies.detect() == []


def test_a_stylist_opening_an_unassigned_client_raises_one_alert(thresholds, midday, stylist,
                                                                 make_client, monkeypatch):
    other = make_client(full_name="周敏", phone="13600001111")
    _open(stylist, other, midday, monkeypatch)
    assert last_event("client.open").detail["granted"] is False
    raised = _detect(midday)
    assert _rules(raised) == ["unassigned"]
    assert raised[0].detail["client_code"] == other.code
    assert _detect(midday) == []


def test_a_stylist_opening_an_assigned_client_raises_nothing(thresholds, midday, stylist,
                                                             client_record, monkeypatch):
    _open(stylist, client_record, midday, monkeypatch)
    assert last_event("client.open").detail["granted"] is True
    assert _detect(midday) == []


def test_a_receptionist_opening_an_unassigned_client_is_normal(thresholds, midday,
                                                               receptionist, client_record,
                                                               monkeypatch):
    _open(receptionist, client_record, midday, monkeypatch)
    assert _detect(midday) == []


def test_a_large_export_raises_one_alert(thresholds, login, auditor):
    from audit.services import record

    for _ in range(12):
        record(actor=None, actor_label="system:test", action="test.event", outcome="allowed")
    b"".join(login(auditor, reauthed=True).get(reverse("audit:export_csv")).streaming_content)
    raised = anomalies.detect()
    assert _rules(raised) == ["large_export"]
    assert raised[0].actor == auditor and raised[0].detail["rows"] >= 12
    assert anomalies.detect() == []


def test_a_small_export_raises_nothing(thresholds, login, auditor):
    b"".join(login(auditor, reauthed=True).get(reverse("audit:export_csv")).streaming_content)
    assert anomalies.detect() == []


def test_old_events_are_not_looked_at_again(thresholds, owner, make_client, monkeypatch):
    long_ago = timezone.now() - dt.timedelta(days=2)
    for i in range(3):
        _open(owner, make_client(phone=f"1390000{i:04d}"), long_ago, monkeypatch)
    assert anomalies.detect() == []


def test_the_detect_task_runs_the_rules(thresholds, stylist, make_client):
    from audit.tasks import detect_anomalies

    other = make_client(full_name="周敏", phone="13600001111")
    access_services.break_glass_open(actor=stylist, client=other, reason=REASON)
    assert detect_anomalies.apply().get() == 1
    assert detect_anomalies.apply().get() == 0
    assert Alert.objects.get().rule == "break_glass"


# -- the alert pages --------------------------------------------------------------------


@pytest.fixture
def alert(thresholds, stylist, make_client):
    other = make_client(full_name="周敏", phone="13600001111")
    access_services.break_glass_open(actor=stylist, client=other, reason=REASON)
    (raised,) = anomalies.detect()
    return raised


@pytest.mark.parametrize("who", ["auditor", "owner"])
def test_owners_and_auditors_see_open_alerts(request, login, alert, who):
    http = login(request.getfixturevalue(who))
    response = http.get(reverse("audit:alerts"))
    assert response.status_code == 200
    assert [a.pk for a in response.context["alerts"]] == [alert.pk]
    page = response.content.decode()
    assert "Break-glass access" in page and reverse("audit:alert", args=[alert.pk]) in page
    detail = http.get(reverse("audit:alert", args=[alert.pk])).content.decode()
    assert "Break-glass access" in detail and "stylist" in detail
    assert 'id="alert-state">Open<' in detail


@pytest.mark.parametrize("who", ["manager", "stylist", "receptionist"])
def test_other_staff_cannot_see_alerts(request, login, alert, who):
    http = login(request.getfixturevalue(who))
    assert http.get(reverse("audit:alerts")).status_code == 403
    assert http.get(reverse("audit:alert", args=[alert.pk])).status_code == 403
    response = http.post(reverse("audit:alert_resolve", args=[alert.pk]), {"comment": "x"})
    assert response.status_code == 403
    assert Alert.objects.get(pk=alert.pk).state == Alert.State.OPEN


@pytest.mark.parametrize("who", ["auditor", "owner"])
def test_an_alert_is_acknowledged_then_resolved_with_a_comment(request, login, alert, who):
    person = request.getfixturevalue(who)
    http = login(person)
    response = http.post(reverse("audit:alert_acknowledge", args=[alert.pk]), {"comment": ""})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == Alert.State.ACKNOWLEDGED and alert.acknowledged_by == person
    acknowledged = last_event("alert.acknowledge")
    assert acknowledged.actor == person
    assert acknowledged.detail == {"alert": str(alert.pk), "rule": "break_glass"}

    response = http.post(reverse("audit:alert_resolve", args=[alert.pk]),
                         {"comment": "已与店长核实，情况属实"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED and alert.resolved_by == person
    assert "已与店长核实" in alert.comment
    resolved = last_event("alert.resolve")
    assert resolved.actor == person and resolved.detail["alert"] == str(alert.pk)
    page = http.get(reverse("audit:alert", args=[alert.pk])).content.decode()
    assert "Resolved" in page and "已与店长核实" in page


def test_resolving_requires_a_comment(login, auditor, alert):
    http = login(auditor)
    response = http.post(reverse("audit:alert_resolve", args=[alert.pk]), {"comment": "  "})
    assert response.status_code == 200
    assert "Say how the alert was resolved." in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == Alert.State.OPEN
    assert events("alert.resolve") == []


def test_an_alert_can_be_resolved_without_acknowledging_first(login, auditor, alert):
    login(auditor).post(reverse("audit:alert_resolve", args=[alert.pk]), {"comment": "已核实"})
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED
    assert len(events("alert.resolve")) == 1 and events("alert.acknowledge") == []


def test_a_resolved_alert_is_not_resolved_again(login, auditor, alert):
    http = login(auditor)
    http.post(reverse("audit:alert_resolve", args=[alert.pk]), {"comment": "第一次"})
    http.post(reverse("audit:alert_resolve", args=[alert.pk]), {"comment": "第二次"})
    alert.refresh_from_db()
    assert "第二次" not in alert.comment
    assert len(events("alert.resolve")) == 1


def test_alerts_are_listed_by_state(login, auditor, alert):
    http = login(auditor)
    http.post(reverse("audit:alert_resolve", args=[alert.pk]), {"comment": "已核实"})
    assert list(http.get(reverse("audit:alerts")).context["alerts"]) == []
    resolved = http.get(reverse("audit:alerts"), {"state": "resolved"}).context["alerts"]
    assert [a.pk for a in resolved] == [alert.pk]
    assert [a.pk for a in http.get(reverse("audit:alerts"),
                                   {"state": "all"}).context["alerts"]] == [alert.pk]


def test_the_open_alert_count_shows_in_the_status_bar(login, auditor, alert):
    page = login(auditor).get(reverse("audit:events")).content.decode()
    assert '<span class="badge alert">1</span>' in page


def test_an_unknown_alert_is_not_found(login, auditor):
    assert login(auditor).get(reverse("audit:alert", args=[uuid.uuid4()])).status_code == 404


def test_acknowledging_needs_a_post(login, auditor, alert):
    response = login(auditor).get(reverse("audit:alert_acknowledge", args=[alert.pk]))
    assert response.status_code == 405
    assert Alert.objects.get(pk=alert.pk).state == Alert.State.OPEN
