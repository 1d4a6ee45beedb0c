"""The ciphertext format: AES-256-GCM with a versioned header naming its key.

    blob = header || nonce (12) || ciphertext || tag (16)
    header = b"SV" || version (1) || subject uuid (16) || key generation (2, big-endian)

The header names the exact data key (subject and generation) that sealed the value, so
decryption never tries keys in turn. The associated data is the header followed by the
binding context (model, field, row and subject), so a ciphertext moved to another row,
field or client fails authentication instead of decrypting.
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import IntegrityError

MAGIC = b"SV"
VERSION = 1
NONCE_BYTES = 12
_HEADER = struct.Struct(">2sB16sH")
HEADER_BYTES = _HEADER.size
OVERHEAD = HEADER_BYTES + NONCE_BYTES + 16
_PREFIX = MAGIC + bytes([VERSION])


@dataclass(frozen=True, slots=True)
class KeyId:
    subject: uuid.UUID
    generation: int


def context(model: str, field: str, row: object, subject: uuid.UUID) -> bytes:
    return f"{model}|{field}|{row}|{subject}".encode()


def key_id(blob: bytes) -> KeyId:
    if len(blob) < OVERHEAD:
        raise IntegrityError("ciphertext is too short to be valid")
    magic, version, subject, generation = _HEADER.unpack_from(blob)
    if magic != MAGIC or version != VERSION:
        raise IntegrityError("ciphertext has an unknown header")
    return KeyId(uuid.UUID(bytes=subject), generation)


def seal(cipher: AESGCM, kid: KeyId, plaintext: bytes, ctx: bytes) -> bytes:
    header = _HEADER.pack(MAGIC, VERSION, kid.subject.bytes, kid.generation)
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + cipher.encrypt(nonce, plaintext, header + ctx)


def check_header(blob: bytes, subject: uuid.UUID) -> int:
    """The key generation named by a blob sealed for `subject`; raises if it is not one.

    Compares bytes only: this runs for every value a page shows."""
    if len(blob) < OVERHEAD or blob[:3] != _PREFIX:
        raise IntegrityError("ciphertext has an unknown header or is too short")
    if blob[3:19] != subject.bytes:
        raise IntegrityError("ciphertext belongs to another subject")
    return int.from_bytes(blob[19:21], "big")


def open_(cipher: AESGCM, blob: bytes, ctx: bytes) -> bytes:
    if len(blob) < OVERHEAD or blob[:3] != _PREFIX:  # refused before the cipher sees it
        raise IntegrityError("ciphertext has an unknown header or is too short")
    header = blob[:HEADER_BYTES]
    nonce = blob[HEADER_BYTES:HEADER_BYTES + NONCE_BYTES]
    try:
        return cipher.decrypt(nonce, blob[HEADER_BYTES + NONCE_BYTES:], header + ctx)
    except (InvalidTag, ValueError):
        raise IntegrityError(
            "ciphertext failed authentication: wrong key, damaged, or moved from another place"
        ) from None
