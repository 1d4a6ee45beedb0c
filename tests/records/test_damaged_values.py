"""A damaged value shows a mark in its place; the page, the list and the alert still work."""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image

from access import door
from audit.models import AccessEvent, Alert
from records import services
from records.models import Client, HealthNote, Photo
from vault import aead
from vault.errors import IntegrityError

MARK = "⚠ damaged value"


def _tamper(model, pk, field: str) -> bytes:
    """Flip one bit of a stored ciphertext, as a disk error or a hand in the database would."""
    (blob,) = model.objects.filter(pk=pk).values_list(field, flat=True)
    damaged = bytearray(blob.blob)
    damaged[aead.HEADER_BYTES + aead.NONCE_BYTES] ^= 0x01
    model.objects.filter(pk=pk).update(**{field: bytes(damaged)})
    return bytes(damaged)


@pytest.fixture
def damaged_allergy(client_record) -> bytes:
    return _tamper(HealthNote, client_record.health.pk, "allergies")


def _alerts():
    return Alert.objects.filter(rule="integrity")


def test_owner_opens_a_client_whose_allergy_is_damaged(login, owner, client_record,
                                                       damaged_allergy):
    response = login(owner).get(reverse("records:client_detail", args=[client_record.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert MARK in page
    assert "李娜" in page and "13812345678" in page and "混合性" in page
    assert "对PPD染发剂过敏" not in page


def test_the_list_renders_around_a_damaged_name(login, owner, client_record, make_client):
    other = make_client(full_name="赵敏", phone="13700009999")
    _tamper(Client, client_record.pk, "full_name")
    response = login(owner).get(reverse("records:client_list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert MARK in page and client_record.code in page
    assert "13812345678" in page  # the same row's other values still show
    assert "赵敏" in page and other.code in page


def test_a_ciphertext_moved_from_another_client_is_shown_as_damaged(login, owner, client_record,
                                                                    make_client):
    other = make_client(full_name="赵敏", phone="13700009999")
    (blob,) = Client.objects.filter(pk=other.pk).values_list("phone", flat=True)
    Client.objects.filter(pk=client_record.pk).update(phone=blob.blob)
    page = login(owner).get(reverse("records:client_detail", args=[client_record.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert MARK in text and "李娜" in text and "13700009999" not in text


def test_two_openings_raise_exactly_one_alert(login, owner, stylist, client_record,
                                              damaged_allergy):
    url = reverse("records:client_detail", args=[client_record.pk])
    assert login(owner).get(url).status_code == 200
    assert login(stylist).get(url).status_code == 200
    assert _alerts().count() == 1
    events = AccessEvent.objects.filter(action="integrity.damaged_value")
    assert events.count() == 1
    event = events.get()
    assert event.client_id == client_record.pk and event.client_code == client_record.code
    assert event.detail["model"] == "records.healthnote"
    assert event.detail["fields"] == ["allergies"]
    assert event.detail["row"] == str(client_record.health.pk)


def test_the_alert_reaches_the_auditor_and_the_owner(login, owner, auditor, client_record,
                                                     damaged_allergy):
    login(owner).get(reverse("records:client_detail", args=[client_record.pk]))
    alert = _alerts().get()
    http = login(auditor)
    log = http.get(reverse("audit:events"), {"action": "integrity.damaged_value"})
    assert log.status_code == 200
    assert client_record.code in log.content.decode()
    assert "system:integrity" in log.content.decode()
    listed = http.get(reverse("audit:alerts")).content.decode()
    assert reverse("audit:alert", args=[alert.pk]) in listed
    shown = http.get(reverse("audit:alert", args=[alert.pk])).content.decode()
    assert client_record.code in shown
    assert "对PPD染发剂过敏" not in listed + shown
    owners_view = login(owner).get(reverse("audit:alerts")).content.decode()
    assert reverse("audit:alert", args=[alert.pk]) in owners_view


def test_no_plaintext_of_the_page_reaches_the_log(login, owner, client_record, damaged_allergy,
                                                 caplog):
    caplog.set_level(logging.DEBUG)
    login(owner).get(reverse("records:client_detail", args=[client_record.pk]))
    for plain in ("李娜", "13812345678", "混合性", "对PPD染发剂过敏"):
        assert plain not in caplog.text
    assert all(plain not in str(row) for row in AccessEvent.objects.values()
               for plain in ("李娜", "13812345678", "对PPD染发剂过敏"))


def test_editing_leaves_a_damaged_value_alone_unless_a_new_one_is_typed(
        login, owner, client_record, damaged_allergy):
    http = login(owner)
    url = reverse("records:client_edit", args=[client_record.pk])
    form = http.get(url)
    assert form.status_code == 200
    text = form.content.decode()
    assert MARK not in text.split('name="allergies"')[1].split("</textarea>")[0]
    assert "The stored value is damaged" in text
    fields = {"full_name": "李娜", "phone": "13812345678", "email": "lina@example.cn",
              "birthday": "1991-03-14", "skin_type": "油性", "allergies": ""}
    assert http.post(url, fields).status_code == 302
    (kept,) = HealthNote.objects.filter(client=client_record).values_list("allergies", flat=True)
    assert kept.blob == damaged_allergy  # neither the mark nor an empty value was written
    # Typing a new value replaces the damaged one.
    assert http.post(url, fields | {"allergies": "对芒果过敏"}).status_code == 302
    page = http.get(reverse("records:client_detail", args=[client_record.pk])).content.decode()
    assert "对芒果过敏" in page and "油性" in page and MARK not in page


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 90)).save(out, format="JPEG")
    return out.getvalue()


def test_a_damaged_photo_file_shows_a_marked_picture_not_an_error(login, stylist, client_record):
    photo = services.photo_add(actor=stylist, client=client_record, upload=io.BytesIO(_jpeg()),
                               kind="after", taken_on=dt.date(2024, 5, 1))
    (name,) = Photo.objects.filter(pk=photo.pk).values_list("image", flat=True)
    path = Path(settings.VAULT_FILES_ROOT) / name[:2] / name
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    http = login(stylist)
    assert http.get(reverse("records:client_detail", args=[client_record.pk])).status_code == 200
    served = http.get(reverse("records:photo_view", args=[client_record.pk, photo.pk]))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/svg+xml"
    assert "⚠" in served.content.decode()
    alert = _alerts().get()
    assert alert.detail["model"] == "records.photo" and alert.detail["fields"] == ["image"]


def test_a_job_still_stops_at_a_damaged_value(client_record, damaged_allergy):
    # Backups, exports and re-keying must not carry a mark on as if it were data.
    with door.open_for_system(actor="test", purpose="a job", subjects=[client_record.pk]):
        note = HealthNote.objects.get(client=client_record)
        with pytest.raises(IntegrityError):
            note.allergies  # noqa: B018
    assert not _alerts().exists()


def test_an_alert_that_cannot_be_written_does_not_take_the_page_down_and_comes_later(
        login, owner, client_record, damaged_allergy, monkeypatch):
    from django.db import DatabaseError

    from audit import services as audit_services

    append = audit_services._append

    def refuse_integrity(event):
        if event.action == "integrity.damaged_value":
            raise DatabaseError("audit store unavailable")
        return append(event)

    http = login(owner)
    url = reverse("records:client_detail", args=[client_record.pk])
    with monkeypatch.context() as patch:
        patch.setattr(audit_services, "_append", refuse_integrity)
        response = http.get(url)
    assert response.status_code == 200 and MARK in response.content.decode()
    assert not _alerts().exists()
    assert http.get(url).status_code == 200
    assert _alerts().count() == 1
    assert AccessEvent.objects.filter(action="integrity.damaged_value").count() == 1


def test_a_damaged_value_assigned_back_and_saved_keeps_its_bytes(client_record, damaged_allergy):
    from vault.scope import damage_shown

    with damage_shown() as damaged, door.open_for_system(actor="test", purpose="a repair",
                                                         subjects=[client_record.pk]):
        note = HealthNote.objects.get(client=client_record)
        value = note.allergies
        assert str(value) == MARK and repr(value) == "‹damaged›"
        note.allergies = value
        note.medication = "无"
        note.save()
    assert [d.field for d in damaged] == ["allergies"]
    (kept,) = HealthNote.objects.filter(client=client_record).values_list("allergies", flat=True)
    assert kept.blob == damaged_allergy
