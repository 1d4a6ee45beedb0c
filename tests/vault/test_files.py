"""Encrypted files: photos are cleaned of EXIF, sealed under a random name, L4 only."""

from __future__ import annotations

import datetime as dt
import io
import pickle
import re

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from access import door
from records import services, uploads
from records.models import Photo
from vault import aead
from vault.errors import IntegrityError, SealedError, ShreddedError

from .conftest import jpeg_with_gps, vault_files


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def photo(client_record, owner, gps_jpeg):
    return services.photo_add(actor=owner, client=client_record, upload=upload(gps_jpeg),
                              kind="before", taken_on=dt.date(2025, 5, 1))


def stored_path(photo):
    name = Photo.objects.filter(pk=photo.pk).values_list("image", flat=True).get()
    return settings.VAULT_FILES_ROOT / name[:2] / name


def test_a_photo_is_stored_as_ciphertext_under_the_vault_file_root(photo, gps_jpeg):
    path = stored_path(photo)
    assert path.is_file()
    assert settings.VAULT_FILES_ROOT in path.parents
    blob = path.read_bytes()
    assert gps_jpeg not in blob
    assert gps_jpeg[:64] not in blob and gps_jpeg[-64:] not in blob
    assert b"\xff\xd8\xff" not in blob[:64]  # no JPEG start of image up front
    assert b"JFIF" not in blob and b"Exif" not in blob
    assert aead.key_id(blob).subject == photo.client_id


def test_the_stored_file_name_is_random_and_names_nobody(photo, client_record, owner, gps_jpeg):
    path = stored_path(photo)
    assert re.fullmatch(r"[0-9a-f]{32}\.sv", path.name)
    assert path.parent.name == path.name[:2]
    for ident in (photo.pk.hex, client_record.pk.hex, str(photo.pk), client_record.code):
        assert ident.lower() not in str(path).lower()
    again = services.photo_add(actor=owner, client=client_record, upload=upload(gps_jpeg),
                               kind="after", taken_on=dt.date(2025, 5, 1))
    assert stored_path(again).name != path.name
    assert stored_path(again).read_bytes() != path.read_bytes()


def test_adding_a_photo_writes_exactly_one_file(client_record, owner, gps_jpeg):
    before = vault_files()
    services.photo_add(actor=owner, client=client_record, upload=upload(gps_jpeg),
                       kind="before", taken_on=dt.date(2025, 5, 1))
    new = vault_files() - before
    assert len(new) == 1
    assert not [p for p in new if p.suffix == ".tmp"]


def test_reading_a_photo_outside_a_scope_raises_sealed_error(photo):
    loaded = Photo.objects.get(pk=photo.pk)
    assert repr(loaded.image) == str(loaded.image) == "‹sealed›"
    with pytest.raises(SealedError):
        loaded.image.read()
    with pytest.raises(TypeError):
        pickle.dumps(loaded.image)


def test_reading_a_photo_with_a_contact_only_ceiling_raises_sealed_error(photo, receptionist,
                                                                         client_record):
    with door.open_client(user=receptionist, client=client_record, purpose="front desk"), \
            pytest.raises(SealedError):
        Photo.objects.get(pk=photo.pk).image.read()


def test_inside_a_scope_the_photo_is_a_jpeg_without_exif_or_gps(photo, owner, client_record):
    with door.open_client(user=owner, client=client_record, purpose="view photo"):
        data = Photo.objects.get(pk=photo.pk).image.read()
    assert data.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        assert (img.width, img.height) == (64, 48) == (photo.width, photo.height)
        assert len(img.getexif()) == 0
        assert not img.getexif().get_ifd(0x8825)
        assert "exif" not in img.info
    assert b"SalonCam" not in data
    assert photo.byte_size == len(data)
    assert photo.content_type == "image/jpeg"


def test_the_cleaner_drops_exif_and_gps(gps_jpeg):
    clean = uploads.clean_photo(upload(gps_jpeg))
    with Image.open(io.BytesIO(clean.data)) as img:
        assert len(img.getexif()) == 0
    assert b"SalonCam" not in clean.data


def test_the_cleaner_applies_the_orientation_before_dropping_it():
    img = Image.new("RGB", (80, 20), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    clean = uploads.clean_photo(upload(out.getvalue()))
    assert (clean.width, clean.height) == (20, 80)


def test_a_file_copied_to_another_photo_row_fails_to_decrypt(photo, client_record, owner,
                                                            gps_jpeg, system_scope):
    other = services.photo_add(actor=owner, client=client_record,
                               upload=upload(jpeg_with_gps(colour=(1, 2, 3))), kind="after",
                               taken_on=dt.date(2025, 5, 2))
    name = Photo.objects.filter(pk=photo.pk).values_list("image", flat=True).get()
    Photo.objects.filter(pk=other.pk).update(image=name)
    with system_scope(client_record.pk):
        assert Photo.objects.get(pk=photo.pk).image.read().startswith(b"\xff\xd8")
        with pytest.raises(IntegrityError):
            Photo.objects.get(pk=other.pk).image.read()


def test_a_file_swapped_on_disk_fails_to_decrypt(photo, client_record, owner, system_scope):
    other = services.photo_add(actor=owner, client=client_record,
                               upload=upload(jpeg_with_gps(colour=(1, 2, 3))), kind="after",
                               taken_on=dt.date(2025, 5, 2))
    stored_path(photo).write_bytes(stored_path(other).read_bytes())
    with system_scope(client_record.pk), pytest.raises(IntegrityError):
        Photo.objects.get(pk=photo.pk).image.read()


def test_a_damaged_file_fails_to_decrypt(photo, client_record, system_scope):
    path = stored_path(photo)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x40
    path.write_bytes(bytes(blob))
    with system_scope(client_record.pk), pytest.raises(IntegrityError):
        Photo.objects.get(pk=photo.pk).image.read()


def test_a_shredded_clients_photos_cannot_be_read(photo, client_record, system_scope):
    from vault import keystore

    keystore.shred(client_record.pk, actor="owner", reason="test")
    with system_scope(client_record.pk), pytest.raises(ShreddedError):
        Photo.objects.get(pk=photo.pk).image.read()


def test_a_photo_cannot_be_written_outside_a_scope(client_record, gps_jpeg):
    before = vault_files()
    photo = Photo(client=client_record, taken_on=dt.date(2025, 5, 1), image=gps_jpeg,
                  content_type="image/jpeg")
    with pytest.raises(SealedError):
        photo.save()
    assert vault_files() == before


def test_an_oversize_upload_is_refused(client_record, owner, gps_jpeg, settings):
    settings.PHOTO_MAX_BYTES = len(gps_jpeg) - 1
    before = vault_files()
    with pytest.raises(ValidationError):
        uploads.clean_photo(upload(gps_jpeg))
    with pytest.raises(ValidationError):
        services.photo_add(actor=owner, client=client_record, upload=upload(gps_jpeg),
                           kind="before", taken_on=dt.date(2025, 5, 1))
    assert vault_files() == before
    assert not Photo.objects.exists()


def test_an_upload_that_lies_about_its_size_is_still_refused(gps_jpeg, settings):
    settings.PHOTO_MAX_BYTES = 100
    fake = upload(gps_jpeg)
    fake.size = 10
    with pytest.raises(ValidationError):
        uploads.clean_photo(fake)


@pytest.mark.parametrize("data,name", [
    (b"hello, this is not an image", "photo.jpg"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "photo.jpg"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "a.svg"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "truncated.jpg"),
    (b"", "empty.jpg"),
])
def test_a_non_image_upload_is_refused(client_record, owner, data, name):
    with pytest.raises(ValidationError):
        uploads.clean_photo(upload(data, name=name))
    with pytest.raises(ValidationError):
        services.photo_add(actor=owner, client=client_record, upload=upload(data, name=name),
                           kind="before", taken_on=dt.date(2025, 5, 1))
    assert not Photo.objects.exists()


def test_an_image_of_a_format_not_allowed_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="GIF")
    with pytest.raises(ValidationError):
        uploads.clean_photo(upload(out.getvalue(), name="a.gif", content_type="image/gif"))
