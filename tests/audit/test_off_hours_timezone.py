"""Off-hours alerts read the time on the clock of the client's location, not the server's."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from access import door
from audit import anomalies
from audit.models import Alert
from tests.audit.conftest import clock_at

NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def hours(settings):
    settings.OPENING_HOURS = "08:00-22:00"
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.LOCATION_TIME_ZONES = {}
    return settings


def _yesterday_at(hour: int, zone: ZoneInfo) -> dt.datetime:
    day = timezone.now().astimezone(zone).date() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, 5), tzinfo=zone)


def _open_at(user, client, when, monkeypatch) -> list[Alert]:
    with ExitStack() as stack:
        stack.enter_context(clock_at(monkeypatch, when))
        stack.enter_context(door.open_client(user=user, client=client, purpose="test"))
    return [a for a in anomalies.detect(now=when + dt.timedelta(minutes=30))
            if a.rule == Alert.Rule.OFF_HOURS]


def test_two_at_night_on_the_locations_clock_raises_the_alert(hours, owner, client_record,
                                                               monkeypatch):
    hours.LOCATION_TIME_ZONES = {client_record.location.code: "America/New_York"}
    night = _yesterday_at(2, NEW_YORK)
    assert dt.time(8) <= night.astimezone(SHANGHAI).time() < dt.time(22)  # day in Shanghai
    raised = _open_at(owner, client_record, night, monkeypatch)
    assert len(raised) == 1
    assert raised[0].actor == owner and raised[0].count == 1
    assert raised[0].detail["time_zone"] == "America/New_York"


def test_ten_in_the_morning_on_the_locations_clock_raises_nothing(hours, owner, client_record,
                                                                  monkeypatch):
    hours.LOCATION_TIME_ZONES = {client_record.location.code: "America/New_York"}
    morning = _yesterday_at(10, NEW_YORK)
    assert not dt.time(8) <= morning.astimezone(SHANGHAI).time() < dt.time(22)  # Shanghai night
    assert _open_at(owner, client_record, morning, monkeypatch) == []
    assert not Alert.objects.filter(rule=Alert.Rule.OFF_HOURS).exists()


def test_a_location_without_a_zone_keeps_the_salons_time_zone(hours, owner, client_record,
                                                               monkeypatch):
    hours.LOCATION_TIME_ZONES = {"elsewhere": "America/New_York"}
    assert _open_at(owner, client_record, _yesterday_at(10, SHANGHAI), monkeypatch) == []
    raised = _open_at(owner, client_record, _yesterday_at(2, SHANGHAI), monkeypatch)
    assert len(raised) == 1 and raised[0].detail["time_zone"] == "Asia/Shanghai"


def test_the_night_is_the_locations_night(hours, owner, client_record, monkeypatch):
    """01:00 and 03:00 on one New York night are one alert, although in Shanghai the two
    fall on either side of the afternoon of one day."""
    hours.LOCATION_TIME_ZONES = {client_record.location.code: "America/New_York"}
    first = _yesterday_at(1, NEW_YORK)
    _open_at(owner, client_record, first, monkeypatch)
    _open_at(owner, client_record, first + dt.timedelta(hours=2), monkeypatch)
    alerts = Alert.objects.filter(rule=Alert.Rule.OFF_HOURS)
    assert alerts.count() == 1 and alerts.get().count == 2


def _settings_load(tmp_path: Path, zones: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "salon_vault.settings",
           "SALON_VAULT_VAR": str(tmp_path), "SECRET_KEY": "x" * 60,
           "LOCATION_TIME_ZONES": zones}
    code = "import django; django.setup(); from django.conf import settings; " \
           "print(sorted(settings.LOCATION_TIME_ZONES.items()))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, cwd=django_settings.BASE_DIR, timeout=60)


def test_location_time_zones_come_from_the_environment(tmp_path):
    done = _settings_load(tmp_path, "hk = Asia/Hong_Kong, ny=America/New_York")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[('hk', 'Asia/Hong_Kong'), ('ny', 'America/New_York')]"


def test_a_zone_that_does_not_exist_stops_the_start(tmp_path):
    done = _settings_load(tmp_path, "bj=Asia/Beijing")
    assert done.returncode != 0
    assert "LOCATION_TIME_ZONES: 'Asia/Beijing' for location 'bj'" in done.stderr
