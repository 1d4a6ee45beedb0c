"""Checking uploads before they are sealed: type, size, and no metadata in images (EXIF with
its GPS position, XMP, ICC profiles, comments, PNG text chunks)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

Image.MAX_IMAGE_PIXELS = 40_000_000
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_EDGE = 4096


@dataclass(frozen=True)
class CleanFile:
    data: bytes
    content_type: str
    width: int = 0
    height: int = 0


def _read_limited(upload, limit: int) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(_("The file is too large (at most %(mb)d MB).") % {"mb": limit // 2**20})
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(_("The file is too large (at most %(mb)d MB).") % {"mb": limit // 2**20})
    if not data:
        raise ValidationError(_("The file is empty."))
    return data


def _bare(img: Image.Image) -> Image.Image:
    """The pixels alone: a new image with no info, EXIF, XMP, ICC profile or comments.

    Pillow's savers carry some of an image's info over on their own (a PNG's ICC profile,
    a JPEG's comment), so clearing what save() is given is not enough.
    """
    if img.mode == "P" or (img.mode in ("L", "RGB") and "transparency" in img.info):
        img = img.convert("RGBA")
    elif img.mode not in ("1", "L", "LA", "RGB", "RGBA"):
        img = img.convert("RGB")
    return Image.frombytes(img.mode, img.size, img.tobytes())


def clean_photo(upload) -> CleanFile:
    """Decode the image, apply its orientation, and re-encode it without any metadata."""
    data = _read_limited(upload, settings.PHOTO_MAX_BYTES)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
        if fmt not in PHOTO_FORMATS:
            raise ValidationError(_("Photos must be JPEG, PNG or WebP images."))
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)
            img.thumbnail((MAX_EDGE, MAX_EDGE))
            img = _bare(img)
            if fmt == "JPEG" and img.mode not in ("RGB", "L"):
                img = img.convert("RGB")
            out = io.BytesIO()
            img.save(out, format=fmt, quality=90) if fmt != "PNG" else img.save(out, format=fmt)
            width, height = img.size
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError(_("This file is not a readable image.")) from None
    return CleanFile(out.getvalue(), PHOTO_FORMATS[fmt], width, height)


def clean_form_document(upload) -> CleanFile:
    """Signed forms are PDFs or photographed pages (images, cleaned like photos)."""
    data = _read_limited(upload, settings.FORM_MAX_BYTES)
    if data.startswith(b"%PDF-"):
        return CleanFile(data, "application/pdf")
    try:
        return clean_photo(upload)
    except ValidationError:
        raise ValidationError(_("Forms must be PDF files or JPEG, PNG or WebP images.")) from None


THUMBNAIL_EDGE = 320


def thumbnail(data: bytes) -> bytes:
    """A small JPEG for list and detail pages; full photos stay behind a click."""
    with Image.open(io.BytesIO(data)) as img:
        img = img.convert("RGB")
        img.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
        out = io.BytesIO()
        img.save(out, format="JPEG", quality=82)
    return out.getvalue()
