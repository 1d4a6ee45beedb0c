"""A create that rolls back leaves no data key and no sealed file behind."""

from __future__ import annotations

import datetime as dt
import gc
import io

import pytest
from django.conf import settings
from django.db import transaction
from PIL import Image

from access import door
from records import services
from records.models import Client, Photo
from vault.models import DataKey


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(out, "JPEG")
    return out.getvalue()


def _files() -> set[str]:
    root = settings.VAULT_FILES_ROOT
    return {p.name for p in root.rglob("*.sv")} if root.exists() else set()


def _keys() -> set:
    return set(DataKey.objects.values_list("subject_id", flat=True))


class Boom(Exception):
    pass


def test_a_client_create_that_fails_leaves_no_data_key(owner, location, stylist, monkeypatch):
    before = _keys()

    def fail(**kwargs):
        raise Boom

    monkeypatch.setattr("records.services.access_services.client_assignment_changed", fail)
    with pytest.raises(Boom):
        services.client_create(actor=owner, location=location, assigned_staff=stylist,
                               data={"full_name": "张三", "phone": "13800001234"})
    assert not Client.objects.exists()
    assert _keys() == before


def test_a_create_inside_a_transaction_that_rolls_back_leaves_nothing(owner, location,
                                                                      make_client):
    kept = make_client(full_name="留下", phone="13800000000")
    keys, files = _keys(), _files()
    with pytest.raises(Boom), transaction.atomic():
        client = services.client_create(actor=owner, location=location,
                                         data={"full_name": "张三", "allergies": "花生"})
        services.photo_add(actor=owner, client=client, upload=io.BytesIO(_jpeg()),
                           kind="before", taken_on=dt.date(2026, 1, 2))
        assert len(_files()) == len(files) + 1 and len(_keys()) == len(keys) + 1
        raise Boom
    assert list(Client.objects.all()) == [kept]
    assert _keys() == keys and _files() == files


def test_a_photo_whose_row_fails_takes_its_file_with_it(owner, client_record, monkeypatch):
    files = _files()
    real_insert = Photo._do_insert

    def insert_then_fail(self, *args, **kwargs):
        real_insert(self, *args, **kwargs)  # the file is written by now
        assert len(_files()) == len(files) + 1
        raise Boom

    monkeypatch.setattr(Photo, "_do_insert", insert_then_fail)
    with pytest.raises(Boom):
        services.photo_add(actor=owner, client=client_record, upload=io.BytesIO(_jpeg()),
                           kind="before", taken_on=dt.date(2026, 1, 2))
    assert _files() == files and not Photo.objects.exists()


def test_what_was_kept_stays(owner, client_record):
    photo = services.photo_add(actor=owner, client=client_record, upload=io.BytesIO(_jpeg()),
                               kind="before", taken_on=dt.date(2026, 1, 2))
    gc.collect()
    with door.open_client(user=owner, client=client_record, purpose="t"):
        assert Photo.objects.get(pk=photo.pk).image.read()[:2] == b"\xff\xd8"


@pytest.mark.django_db(transaction=True, databases=["default", "vault"])
def test_on_committed_transactions_too(owner, location):
    keys, files = _keys(), _files()
    with pytest.raises(Boom), transaction.atomic():
        client = services.client_create(actor=owner, location=location,
                                        data={"full_name": "张三"})
        services.photo_add(actor=owner, client=client, upload=io.BytesIO(_jpeg()),
                           kind="before", taken_on=dt.date(2026, 1, 2))
        raise Boom
    assert _keys() == keys and _files() == files
    # And a transaction that commits keeps both.
    with transaction.atomic():
        client = services.client_create(actor=owner, location=location,
                                        data={"full_name": "李四"})
        services.photo_add(actor=owner, client=client, upload=io.BytesIO(_jpeg()),
                           kind="before", taken_on=dt.date(2026, 1, 2))
    gc.collect()
    assert _keys() == keys | {client.pk} and len(_files()) == len(files) + 1
