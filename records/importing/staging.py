"""The uploaded file between the preview and the confirmation, held as ciphertext only.

A browser cannot send a file twice without the person choosing it again, and the
confirmation must import exactly the file that was previewed. So the file is encrypted
with a fresh key, the ciphertext kept in ImportStaging, and the key handed to the preview
page (a hidden field of the confirm form): the server keeps no way to read it alone. The
associated data binds the ciphertext to its row, its importer, location and mode.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import os
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import ImportStaging

LIFETIME = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Staged:
    staging: ImportStaging
    key: str  # base64url, for the confirm form only


def _context(staging: ImportStaging) -> bytes:
    return (f"import-staging|{staging.pk}|{staging.created_by_id}|{staging.location_id}|"
            f"{staging.kind}|{int(staging.update)}").encode()


def purge_expired() -> int:
    return ImportStaging.objects.filter(created_at__lt=timezone.now() - LIFETIME).delete()[0]


def stage(*, data: bytes, filename: str, user, location, update: bool) -> Staged:
    purge_expired()
    kind = "xlsx" if filename.lower().endswith(".xlsx") else "csv"
    staging = ImportStaging(id=uuid.uuid4(), created_by=user, location=location, kind=kind,
                            update=update)
    key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    staging.sealed = nonce + AESGCM(key).encrypt(nonce, data, _context(staging))
    staging.save()
    return Staged(staging, base64.urlsafe_b64encode(key).decode())


def _gone() -> ValidationError:
    return ValidationError(_("This preview has expired or was already imported: upload the "
                             "file again."))


def unstage(*, staging_id, key: str, user) -> tuple[ImportStaging, io.BytesIO]:
    """The staged file of `user` as an upload, or ValidationError if expired or not theirs."""
    purge_expired()
    staging = ImportStaging.objects.filter(pk=staging_id, created_by=user).first()
    if staging is None:
        raise _gone()
    try:
        raw = base64.urlsafe_b64decode(key.encode())
        sealed = bytes(staging.sealed)
        data = AESGCM(raw).decrypt(sealed[:12], sealed[12:], _context(staging))
    except (ValueError, binascii.Error, InvalidTag):
        raise _gone() from None
    upload = io.BytesIO(data)
    upload.name = f"staged.{staging.kind}"
    return staging, upload


def discard(staging: ImportStaging) -> None:
    ImportStaging.objects.filter(pk=staging.pk).delete()
