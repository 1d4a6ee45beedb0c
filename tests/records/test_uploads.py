"""Photos and photographed forms are stored as pixels only: every metadata block is dropped."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib

import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from access import door
from records import services

MARK = "SECRET-META-7f3a"
GPS_MARK = b"GPSMARK-51.5"
XMP = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
       f'02/22-rdf-syntax-ns#"><rdf:Description about="{MARK}"/></rdf:RDF></x:xmpmeta>')


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = MARK  # ImageDescription
    exif[0x0131] = MARK  # Software
    exif.get_ifd(0x8825)[0x001B] = GPS_MARK  # GPSProcessingMethod, in the GPS block
    return exif


def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _picture(mode: str = "RGB") -> Image.Image:
    img = Image.new(mode, (40, 30), "white" if mode != "P" else 1)
    for x in range(40):
        img.putpixel((x, x % 30), (200, 30, 30) if mode in ("RGB", "RGBA") else 5)
    return img


def _jpeg() -> bytes:
    out = io.BytesIO()
    _picture().save(out, "JPEG", exif=_exif(), icc_profile=_icc(), comment=MARK.encode(),
                    xmp=XMP.encode())
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(mode: str = "RGB") -> bytes:
    info = PngInfo()
    info.add_text("Comment", MARK)
    info.add_text("Description", MARK, zip=True)  # zTXt
    info.add_itxt("XML:com.adobe.xmp", XMP)  # iTXt, where PNG keeps XMP
    out = io.BytesIO()
    _picture(mode).save(out, "PNG", pnginfo=info, exif=_exif(), icc_profile=_icc())
    data = out.getvalue()
    # A time chunk too, which Pillow does not write itself.
    return data[:33] + _png_chunk(b"tIME", struct.pack(">HBBBBB", 2026, 1, 2, 3, 4, 5)) + data[33:]


def _webp() -> bytes:
    out = io.BytesIO()
    _picture().save(out, "WEBP", exif=_exif(), icc_profile=_icc(), xmp=XMP.encode())
    return out.getvalue()


def _stored(actor, client, data: bytes) -> bytes:
    photo = services.photo_add(actor=actor, client=client, upload=io.BytesIO(data),
                               kind="before", taken_on=dt.date(2026, 1, 5))
    with door.open_client(user=actor, client=client, purpose="t"):
        return photo.image.read()


FORBIDDEN = {
    "the marker text": MARK.encode(), "the GPS value": GPS_MARK, "an EXIF block": b"Exif\x00",
    "an ICC profile": b"ICC_PROFILE", "an ICC header": b"acsp", "XMP": b"adobe:ns:meta",
    "PNG text": b"tEXt", "PNG compressed text": b"zTXt", "PNG international text": b"iTXt",
    "PNG EXIF": b"eXIf", "PNG ICC": b"iCCP", "PNG time": b"tIME", "WebP EXIF": b"EXIF",
    "WebP XMP": b"XMP ", "WebP ICC": b"ICCP", "a JPEG comment marker": b"\xff\xfe",
}


@pytest.mark.parametrize("make", [_jpeg, _png, _webp, lambda: _png("P"), lambda: _png("RGBA")],
                         ids=["jpeg", "png", "webp", "png-palette", "png-alpha"])
def test_a_photo_is_stored_without_any_metadata(stylist, client_record, make):
    original = make()
    stored = _stored(stylist, client_record, original)
    found = [name for name, needle in FORBIDDEN.items() if needle in stored]
    assert found == []
    with Image.open(io.BytesIO(stored)) as img:
        assert img.size == (40, 30)
        assert not img.info.get("icc_profile") and not img.getexif()


def test_the_test_images_really_carry_every_block():
    # Without this, the test above could pass on images that never held the metadata.
    jpeg, png, webp = _jpeg(), _png(), _webp()
    for needle in (MARK.encode(), GPS_MARK, b"Exif\x00", b"ICC_PROFILE", b"adobe:ns:meta",
                   b"\xff\xfe"):
        assert needle in jpeg
    for needle in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"tIME", GPS_MARK):
        assert needle in png
    for needle in (b"EXIF", b"XMP ", b"ICCP", GPS_MARK):
        assert needle in webp


def test_the_orientation_is_applied_before_the_exif_is_dropped(stylist, client_record):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    _picture().save(out, "JPEG", exif=exif)
    stored = _stored(stylist, client_record, out.getvalue())
    with Image.open(io.BytesIO(stored)) as img:
        assert img.size == (30, 40) and not img.getexif()


def test_a_photographed_form_is_cleaned_too(stylist, client_record):
    form = services.form_add(actor=stylist, client=client_record, upload=io.BytesIO(_jpeg()),
                             kind="consent", signed_on=dt.date(2026, 1, 5))
    with door.open_client(user=stylist, client=client_record, purpose="t"):
        stored = form.document.read()
    assert [name for name, needle in FORBIDDEN.items() if needle in stored] == []
