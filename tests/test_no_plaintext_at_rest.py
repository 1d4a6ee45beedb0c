"""No plaintext at rest: markers imported through the real path appear nowhere but the page.

Rows carrying unique marker strings are imported from a spreadsheet, a photo is added
(which sends a Celery message), and then the raw database files (or a PostgreSQL dump of
both databases), the vault file store, the log output and the Celery message are searched
for the markers. Finally the markers are shown through the staff page, which proves that
the search above was looking at the right data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.urls import reverse
from PIL import Image

from records.models import Client
from tests.conftest import verify_otp

TAG = uuid.uuid4().hex[:10].upper()
MARKERS = {
    "name": f"马{TAG}",
    "email": f"m{TAG.lower()}@marker.example",
    "allergies": f"过敏{TAG}PPD",
    "notes": f"备注{TAG}",
    "wechat": f"wx{TAG.lower()}",
}


def _needles() -> list[bytes]:
    needles = []
    for marker in MARKERS.values():
        raw = marker.encode()
        needles += [raw, raw.hex().encode(), marker.encode("utf-16-le")]
    return needles


def _assert_clean(blob: bytes, where: str) -> None:
    for needle in _needles():
        assert needle not in blob, f"plaintext marker found in {where}"


def _write_csv(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["姓名", "手机", "邮箱", "生日", "过敏", "备注", "微信"])
        writer.writerow([MARKERS["name"], "13955501234", MARKERS["email"], "1990-01-02",
                         MARKERS["allergies"], MARKERS["notes"], MARKERS["wechat"]])
        writer.writerow(["普通客户", "13955505678", "", "", "", "", ""])


def _database_bytes() -> list[tuple[str, bytes]]:
    found = []
    for alias in ("default", "vault"):
        conn = connections[alias]
        if conn.vendor == "sqlite":
            base = Path(conn.settings_dict["NAME"])
            conn.close()  # checkpoint nothing away: read the main file and any WAL beside it
            for path in base.parent.glob(base.name + "*"):
                found.append((f"{alias}:{path.name}", path.read_bytes()))
        else:
            pg_dump = shutil.which("pg_dump")
            if pg_dump is None:
                pytest.fail("pg_dump is needed to check PostgreSQL at rest")
            params = conn.get_connection_params()
            dump = subprocess.run(
                [pg_dump, "-h", params.get("host") or "127.0.0.1", "-p", str(params.get("port") or 5432),
                 "-U", params.get("user") or "postgres", "--data-only", conn.settings_dict["NAME"]],
                check=True, capture_output=True)
            found.append((f"{alias}:pg_dump", dump.stdout))
    return found


@pytest.mark.django_db(transaction=True, databases=["default", "vault"])
def test_imported_markers_are_nowhere_at_rest_but_shown_on_the_staff_page(
        tmp_path, owner, stylist, location, caplog, client, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    for alias in ("default", "vault"):
        connections[alias].force_debug_cursor = True  # log every SQL statement with params
    sheet = tmp_path / "clients.csv"
    _write_csv(sheet)
    out = io.StringIO()
    call_command("import_clients", str(sheet), location=location.code, stdout=out)

    marked = Client.objects.get(email_bidx__gt="", phone_bidx__gt="", wechat_id__isnull=False)
    from records import services
    from salon_vault.celery import app

    image = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(image, format="JPEG")
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:
        conn.SimpleQueue("celery").clear()  # only this test's message from here on
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_add(actor=owner, client=marked, upload=image, kind="before",
                           taken_on=dt.date(2024, 1, 1))
    with app.connection_for_write() as conn:
        message = conn.SimpleQueue("celery").get(timeout=5)
        raw_message = message.body if isinstance(message.body, bytes) else str(message.body).encode()
        raw_message += str(message.headers).encode()
        message.ack()
    for alias in ("default", "vault"):
        connections[alias].force_debug_cursor = False

    _assert_clean(raw_message, "the Celery message")
    _assert_clean(out.getvalue().encode(), "the import command's output")
    _assert_clean(caplog.text.encode(), "the log output")
    for where, blob in _database_bytes():
        _assert_clean(blob, where)
    for path in Path(settings.VAULT_FILES_ROOT).rglob("*"):
        if path.is_file():
            _assert_clean(path.read_bytes(), f"vault file {path.name}")
            assert TAG not in path.name

    client.force_login(owner)
    verify_otp(client, owner)
    listing = client.post(reverse("records:client_list"), {"q": MARKERS["name"]}).content.decode()
    assert MARKERS["name"] in listing
    detail = client.get(reverse("records:client_detail", args=[marked.pk])).content.decode()
    for key in ("name", "email", "allergies", "notes", "wechat"):
        assert MARKERS[key] in detail
