"""Every audit table is append-only in the database itself, on SQLite and PostgreSQL: a
statement sent around the application is refused as one sent through it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit import integrity, services, subject_index
from audit.models import AccessEvent, Alert, ChainHead, EventSubject, PrunePermit
from tests.audit.conftest import write


def _refused(sql: str, params=()) -> str:
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(refused.value)


@pytest.fixture
def every_table(record_at, settings):
    """A row in each audit table: old events pruned behind a permit, a verification run, an
    alert, a client index row, and the change log of a client."""
    settings.AUDIT_RETENTION_DAYS = 200
    record_at(timezone.now() - dt.timedelta(days=400))
    integrity.prune()
    services.record(actor=None, actor_label="system:test", action="client.open",
                    outcome="allowed", client_id=uuid.uuid4(), client_code="BJ-1")
    write(2)
    subject_index.catch_up()
    integrity.verify_and_record(full=True)
    Alert.objects.create(rule=Alert.Rule.DENIALS, key="denials:x", actor_label="x",
                         window_start=timezone.now(), window_end=timezone.now())


NEVER_CHANGED = ["audit_accessevent", "audit_checkpoint", "audit_prunepermit",
                 "audit_verificationrun", "audit_chainhead", "audit_alert"]


@pytest.mark.parametrize("table", NEVER_CHANGED)
def test_rows_of_audit_tables_cannot_be_deleted(every_table, table):
    assert "append-only" in _refused(f"DELETE FROM {table}")  # noqa: S608 - fixed names


@pytest.mark.parametrize(("table", "column", "value"), [
    ("audit_accessevent", "purpose", "x"),
    ("audit_checkpoint", "hash", "0" * 64),
    ("audit_prunepermit", "up_to_seq", 10**9),
    ("audit_verificationrun", "ok", False),
    ("audit_verificationrun", "message", "all fine"),
    ("audit_chainhead", "seq", 0),
    ("audit_alert", "rule", "break_glass"),
    ("audit_alert", "key", "other"),
    ("audit_eventsubject", "client_id", uuid.uuid4().hex),
])
def test_rows_of_audit_tables_cannot_be_changed(every_table, table, column, value):
    sql = f"UPDATE {table} SET {column} = %s"  # noqa: S608 - fixed names
    assert "append-only" in _refused(sql, [value])


@pytest.mark.parametrize("table", NEVER_CHANGED)
def test_audit_tables_cannot_be_truncated_on_postgresql(every_table, table):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    with connection.cursor() as cursor:  # the fixture's foreign keys, checked now
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert "append-only" in _refused(f"TRUNCATE {table} CASCADE")


def test_the_chain_head_only_moves_forward(every_table):
    head = ChainHead.objects.get()
    _refused("UPDATE audit_chainhead SET seq = seq - 1, hash = %s", [head.hash])
    event = write(1)[0]  # an append moves it on
    assert ChainHead.objects.get().seq == event.seq == head.seq + 1


def test_an_alert_goes_through_its_workflow_but_keeps_what_it_was_raised_for(every_table,
                                                                              owner):
    alert = Alert.objects.get()
    Alert.objects.filter(pk=alert.pk).update(count=7)
    services.alert_step(actor=owner, alert=alert, step="acknowledge", comment="seen")
    services.alert_step(actor=owner, alert=Alert.objects.get(), step="resolve")
    assert Alert.objects.get().state == Alert.State.RESOLVED
    _refused("UPDATE audit_alert SET window_start = %s", [timezone.now()])


def test_the_client_index_stays_rebuildable(every_table):
    # Derived from the events (which the chain covers): its rows may be deleted and made
    # again, never changed in place.
    assert subject_index.rebuild() == EventSubject.objects.count() == 1


def test_pruning_still_works_behind_its_permit(every_table):
    assert PrunePermit.objects.count() == 1 and AccessEvent.objects.count() == 3
    assert AccessEvent.objects.order_by("seq").first().seq == 2


def test_the_database_refuses_a_permit_for_an_unsigned_range(every_table):
    assert "prune permit" in _refused("INSERT INTO audit_prunepermit (up_to_seq) VALUES (3)")


def test_each_guarded_table_has_its_triggers(db):
    from audit import triggers

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        names = {row[0] for row in cursor.fetchall()}
    suffix = "_no_update" if connection.vendor == "sqlite" else "_append_only"
    for table in triggers.GUARDED:
        assert f"{table}{suffix}" in names, table
    assert "audit_prunepermit_guard_insert" in names


# -- retention of at least six months ----------------------------------------------------


def _settings_with(days: str) -> subprocess.CompletedProcess:
    import os

    env = os.environ | {"AUDIT_RETENTION_DAYS": days}
    return subprocess.run([sys.executable, "-c", "import salon_vault.settings"], env=env,
                          capture_output=True, text=True)


def test_settings_refuse_a_retention_below_six_months_at_start():
    short = _settings_with("182")
    assert short.returncode != 0 and "AUDIT_RETENTION_DAYS must be at least 183" in short.stderr
    assert _settings_with("183").returncode == 0


def test_prune_refuses_a_retention_below_six_months(record_at, settings):
    record_at(timezone.now() - dt.timedelta(days=400))
    settings.AUDIT_RETENTION_DAYS = 30
    with pytest.raises(CommandError) as refused:
        call_command("audit_prune", stdout=StringIO())
    assert "183" in str(refused.value)
    with pytest.raises(integrity.RetentionTooShort):
        integrity.prune()
    assert AccessEvent.objects.count() == 1
