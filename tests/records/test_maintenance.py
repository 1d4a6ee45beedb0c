"""The planner's statistics are refreshed after bulk writes and daily."""

from __future__ import annotations

import io

from django.conf import settings
from django.db import connections

from records import importing, maintenance
from records.demo import load
from records.models import Client


def _analyzed(table: str) -> bool:
    connection = connections["default"]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if not cursor.fetchone()[0]:
                return False
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
            return cursor.fetchone()[0] > 0
        cursor.execute("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                       "WHERE relname = %s", [table])
        return bool(cursor.fetchone()[0])


def test_refreshing_analyzes_the_client_tables_in_their_databases(make_client):
    for i in range(3):
        make_client(full_name=f"客户{i}")
    done = maintenance.refresh_statistics()
    assert "default:records_client" in done and "vault:vault_datakey" in done
    assert _analyzed(Client._meta.db_table)


def test_a_large_import_refreshes_the_statistics_and_a_small_one_does_not(
        location, monkeypatch):
    calls = []
    monkeypatch.setattr("records.importing.writing.refresh_statistics",
                        lambda: calls.append(1) or [])
    monkeypatch.setattr("records.importing.writing.LARGE_WRITE", 3)

    def run(rows: int, start: int):
        text = "姓名,手机\n" + "".join(f"客户{i},1390000{i:04d}\n" for i in range(start, start + rows))
        upload = io.BytesIO(text.encode())
        upload.name = "clients.csv"
        return importing.clients_import(upload=upload, location=location, username="owner")

    assert run(2, 0).created == 2 and calls == []
    assert run(3, 100).created == 3 and calls == [1]


def test_seeding_many_clients_refreshes_the_statistics(db, monkeypatch):
    calls = []
    monkeypatch.setattr(load, "refresh_statistics", lambda: calls.append(1) or [])
    monkeypatch.setattr(load, "LARGE_WRITE", 5)
    load.seed_demo(clients=5, photos=0, forms=0)
    assert calls == [1]


def test_the_refresh_runs_daily_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-planner-statistics"]
    assert entry["task"] == "records.tasks.refresh_statistics"
    from records import tasks

    assert tasks.refresh_statistics.name == entry["task"]
