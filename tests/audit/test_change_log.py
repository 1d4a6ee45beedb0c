"""The change log (django-auditlog) says what changed, and which personal fields, but never
their values: no plaintext and no ciphertext in any LogEntry."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from records import services as records
from records.models import Client, HealthNote, Treatment

SECRETS = ("李娜", "13812345678", "lina@example.cn", "1991-03-14", "对PPD染发剂过敏", "混合性",
           "13700000000", "花粉过敏", "6/0 + 20vol", "客人很满意", "98765.43", "染发")
# A base64 run long enough to be a sealed value (nonce + tag alone are 28 bytes).
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{40,}={0,2}")


def _entries(model, pk) -> list[LogEntry]:
    return list(LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model),
                                        object_pk=str(pk)).order_by("timestamp", "pk"))


def _text(entry: LogEntry) -> str:
    return json.dumps([entry.changes, entry.additional_data, entry.object_repr,
                       entry.serialized_data], ensure_ascii=False, default=str)


def _assert_nothing_sealed_or_plain(entry: LogEntry) -> None:
    text = _text(entry)
    for value in SECRETS:
        assert value not in text, value
    # A sealed value starts with b"SV" and a version byte: as bytes repr, hex or base64.
    for header in ("b'SV", 'b"SV', "SV\\x01", "535601", "U1YB"):
        assert header not in text, f"a ciphertext header ({header}) in the change log"
    for run in BASE64_RUN.findall(text):
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4), altchars=b"-_")
        except ValueError:
            continue
        assert not raw.startswith(b"SV"), f"ciphertext in the change log: {run[:16]}…"


def _raw_ciphertexts(model, pk) -> list[str]:
    """The sealed values as stored in the row, to look for them in the log."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {model._meta.db_table} WHERE id = %s",  # noqa: S608
                       [pk.hex if connection.vendor == "sqlite" else str(pk)])
        row = cursor.fetchone()
    found = []
    for value in row:
        if isinstance(value, bytes | memoryview):
            value = bytes(value)
            found.append(base64.b64encode(value).decode())
            found.append(value.hex())
        elif isinstance(value, str) and len(value) > 40:
            found.append(value)
    return found


def test_creating_a_client_logs_which_personal_fields_were_set(client_record):
    entry = _entries(Client, client_record.pk)[0]
    assert entry.action == LogEntry.Action.CREATE
    assert set(entry.additional_data["personal_fields_changed"]) == {
        "full_name", "phone", "email", "birthday"}
    assert entry.changes_dict["code"][1] == client_record.code
    for name in ("full_name", "phone", "email", "birthday", "name_bidx", "phone_bidx"):
        assert name not in entry.changes_dict
    _assert_nothing_sealed_or_plain(entry)


def test_the_log_holds_no_stored_ciphertext_of_the_client(client_record):
    text = "".join(_text(e) for e in LogEntry.objects.all())
    sealed_values = _raw_ciphertexts(Client, client_record.pk)
    assert len(sealed_values) >= 8  # full name, phone, email, birthday: base64 and hex each
    for sealed in sealed_values:
        assert sealed not in text


def test_health_notes_are_logged_by_field_name_only(client_record):
    health = HealthNote.objects.get(client=client_record)
    entry = _entries(HealthNote, health.pk)[0]
    assert entry.additional_data["personal_fields_changed"] == ["allergies"]
    _assert_nothing_sealed_or_plain(entry)


def test_changing_only_the_phone_logs_a_change_naming_the_phone(owner, client_record):
    before = len(_entries(Client, client_record.pk))
    records.client_update(actor=owner, client=client_record, data={"phone": "13700000000"})
    entries = _entries(Client, client_record.pk)
    assert len(entries) == before + 1, "the phone change left no trace in the change log"
    entry = entries[-1]
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.additional_data["personal_fields_changed"] == ["phone"]
    _assert_nothing_sealed_or_plain(entry)


def test_changing_health_notes_logs_the_fields_changed(owner, client_record):
    health = HealthNote.objects.get(client=client_record)
    before = len(_entries(HealthNote, health.pk))
    records.client_update(actor=owner, client=client_record, data={"allergies": "花粉过敏"})
    entries = _entries(HealthNote, health.pk)
    assert len(entries) == before + 1
    assert entries[-1].additional_data["personal_fields_changed"] == ["allergies"]
    _assert_nothing_sealed_or_plain(entries[-1])


def test_editing_through_the_page_logs_the_change_and_its_actor(login, owner, client_record):
    response = login(owner).post(reverse("records:client_edit", args=[client_record.pk]), {
        "full_name": "李娜", "phone": "13700000000", "email": "lina@example.cn",
        "birthday": "1991-03-14", "allergies": "对PPD染发剂过敏", "skin_type": "混合性"})
    assert response.status_code == 302
    entry = _entries(Client, client_record.pk)[-1]
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.additional_data["personal_fields_changed"] == ["phone"]
    assert entry.actor == owner
    _assert_nothing_sealed_or_plain(entry)


def test_a_treatment_is_logged_without_its_contents(stylist, client_record):
    treatment = records.treatment_add(actor=stylist, client=client_record,
                                      performed_on=dt.date(2024, 6, 1), service="染发",
                                      colour_formula="6/0 + 20vol", notes="客人很满意",
                                      price=Decimal("98765.43"))
    entry = _entries(Treatment, treatment.pk)[0]
    assert entry.action == LogEntry.Action.CREATE
    assert set(entry.additional_data["personal_fields_changed"]) >= {
        "service", "colour_formula", "notes", "price"}
    assert entry.changes_dict["performed_on"][1] == "2024-06-01"
    _assert_nothing_sealed_or_plain(entry)
    text = "".join(_text(e) for e in LogEntry.objects.all())
    sealed_values = _raw_ciphertexts(Treatment, treatment.pk)
    assert sealed_values
    for sealed in sealed_values:
        assert sealed not in text


def test_a_change_of_plain_fields_only_names_no_personal_field(owner, client_record, stylist):
    records.client_assign(actor=owner, client=client_record, staff_user=None)
    client = Client.objects.get(pk=client_record.pk)
    client.last_visit = dt.date(2024, 7, 1)
    client.save()
    entry = _entries(Client, client_record.pk)[-1]
    assert entry.action == LogEntry.Action.UPDATE
    assert "last_visit" in entry.changes_dict
    assert entry.additional_data["personal_fields_changed"] == []


@pytest.mark.parametrize("model", [Client, HealthNote, Treatment])
def test_every_personal_field_is_excluded_from_the_diff(model):
    from auditlog.registry import auditlog

    from vault.fields import personal_field_names

    excluded = set(auditlog.get_model_fields(model)["exclude_fields"])
    assert personal_field_names(model)
    assert set(personal_field_names(model)) <= excluded
