"""People as fixtures, a fresh keyring per test session, both databases for every test."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.conf import settings

from tests.salons import scratch_databases  # noqa: F401  (a fixture for every test)
from vault import keyring


def pytest_collection_modifyitems(items):
    # Every test may touch both databases: records in `default`, keys in `vault`.
    for item in items:
        in_e2e = "tests/e2e/" in str(item.fspath)
        if not in_e2e and item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db(databases=["default", "vault"]))


@pytest.fixture(autouse=True)
def _no_language_leaks():
    # A test that renders a page in Chinese must not switch later tests to Chinese.
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(scope="session", autouse=True)
def _test_keyring():
    from pathlib import Path

    keyring.write_file(keyring.Keyring.generate(), Path(settings.SALON_VAULT_KEYRING))
    keyring.reset()
    yield
    keyring.reset()


@pytest.fixture(scope="session", autouse=True)
def _audit_side_connections_closed(django_db_setup):
    # Openings on PostgreSQL write their events on side connections (audit/writer.py):
    # closed before the test databases are dropped.
    yield
    from audit import writer

    writer.close_all()


@pytest.fixture
def location(db):
    from access.models import Location

    return Location.objects.create(code="bj", name="北京国贸店")


@pytest.fixture
def other_location(db):
    from access.models import Location

    return Location.objects.create(code="sh", name="上海静安店")


def _person(username, role, location):
    """A staff member who has accepted the agreement in force and completed training."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from access.models import StaffProfile, TrainingRecord

    user = User.objects.create_user(username=username, password="correct-horse-battery-9")
    StaffProfile.objects.create(user=user, role=role, location=location, display_name=username)
    today = timezone.localdate()
    TrainingRecord.objects.create(user=user, course="privacy basics", completed_on=today,
                                  expires_on=today + dt.timedelta(days=365))
    return user


def verify_otp(http, user):
    """Mark a signed-in test session as two-factor verified, as the real check would."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _created = TOTPDevice.objects.get_or_create(user=user, name="test",
                                                        defaults={"confirmed": True})
    session = http.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def reauthenticate(http):
    """As if the user had just confirmed their password for a sensitive action."""
    import time

    session = http.session
    session["sv_reauth_at"] = int(time.time())
    session.save()


@pytest.fixture
def owner(location):
    return _person("owner", "owner", None)


@pytest.fixture
def manager(location):
    return _person("manager", "manager", location)


@pytest.fixture
def stylist(location):
    return _person("stylist", "stylist", location)


@pytest.fixture
def receptionist(location):
    return _person("reception", "reception", location)


@pytest.fixture
def auditor(location):
    return _person("auditor", "auditor", None)


@pytest.fixture
def outsider(other_location):
    """A stylist of another location."""
    return _person("outsider", "stylist", other_location)


@pytest.fixture
def make_client(owner, location):
    """Create a client through the real service, as the owner."""
    from records import services

    def make(*, location=location, assigned_staff=None, **data):
        data.setdefault("full_name", "王芳")
        data.setdefault("phone", "13900001234")
        return services.client_create(actor=owner, location=location, data=data,
                                      assigned_staff=assigned_staff)

    return make


@pytest.fixture
def client_record(make_client, stylist):
    return make_client(full_name="李娜", phone="13812345678", email="lina@example.cn",
                       birthday=dt.date(1991, 3, 14), allergies="对PPD染发剂过敏",
                       skin_type="混合性", assigned_staff=stylist)


@pytest.fixture
def login(client):
    """Sign in through Django's test client; two-factor is done unless `verified=False`."""

    def as_(user, *, verified=True, reauthed=False):
        client.force_login(user)
        if verified:
            verify_otp(client, user)
        if reauthed:
            reauthenticate(client)
        return client

    return as_


@contextlib.contextmanager
def tasks_run_at_once():
    """Celery tasks run in the test's process when sent, as a worker would run them, and
    their errors reach the test."""
    from celery import current_app

    conf = current_app.conf
    before = conf.task_always_eager, conf.task_eager_propagates
    conf.update(task_always_eager=True, task_eager_propagates=True)
    try:
        yield
    finally:
        conf.update(task_always_eager=before[0], task_eager_propagates=before[1])


@pytest.fixture
def eager():
    with tasks_run_at_once():
        yield
