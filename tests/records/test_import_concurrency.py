"""A large import never stops staff from opening records (on SQLite one writer at a time)."""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.db import connections

from access import door
from records import importing
from records.models import Client

ROWS = 1000
ROW_SECONDS = 0.0025  # each row holds the write transaction this long: 2.5 s for the file


@pytest.mark.django_db(transaction=True, databases=["default", "vault"])
def test_a_record_opens_while_an_import_of_a_thousand_rows_is_writing(location, owner,
                                                                     make_client, monkeypatch):
    existing = make_client(full_name="李娜", phone="13812345678")
    writing = threading.Event()
    real_bulk_create = Client.objects.bulk_create

    def slow_bulk_create(objs, *args, **kwargs):
        # Inside the batch's write transaction: the lock is held while this sleeps. Were the
        # file written in one transaction, the opening below would wait for all of it.
        writing.set()
        time.sleep(ROW_SECONDS * len(objs))
        return real_bulk_create(objs, *args, **kwargs)

    monkeypatch.setattr(Client.objects, "bulk_create", slow_bulk_create)
    text = "姓名,手机\n" + "".join(f"客户{i},137{i:08d}\n" for i in range(ROWS))
    upload = io.BytesIO(text.encode())
    upload.name = "clients.csv"
    outcome: dict = {}

    def run_import():
        try:
            outcome["result"] = importing.clients_import(upload=upload, location=location,
                                                         username="owner", user=owner)
        except Exception as exc:  # reported below, in the test's own thread
            outcome["error"] = exc
        finally:
            connections.close_all()

    importer = threading.Thread(target=run_import)
    importer.start()
    assert writing.wait(60), "the import never started writing"
    time.sleep(0.1)  # well inside the first batch's transaction
    started = time.monotonic()
    with door.open_client(user=owner, client=existing, purpose="serve a client at the desk"):
        name = existing.full_name
    waited = time.monotonic() - started
    import_still_running = importer.is_alive()
    importer.join(120)
    assert "error" not in outcome, outcome.get("error")
    assert name == "李娜"
    assert import_still_running and waited < 0.4 * ROW_SECONDS * ROWS, waited  # < 1 s
    assert outcome["result"].created == ROWS
    assert Client.objects.count() == ROWS + 1
