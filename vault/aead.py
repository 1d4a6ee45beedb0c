"""The ciphertext format: AES-256-GCM with a versioned header naming its key.

    blob = header || nonce (12) || ciphertext || tag (16)
    header = b"SV" || version (1) || subject uuid (16) || key generation (2, big-endian)

The header names the exact data key (subject and generation) that sealed the value, so
decryption never tries keys in turn. The associated data is the header followed by the
binding context (model, field, row and subject), so a ciphertext moved to another row,
field or client fails authentication instead of decrypting.

Nonces are unique per process without a system call per value: each process starts a
96-bit counter at a random point (again after a fork) and every seal takes the next value,
the "deterministic construction" of NIST SP 800-38D, section 8.2.1, with a random start.
Two processes sealing with the same key collide only if their ranges overlap, about
2**-60 for a process that seals 2**32 values.
"""

from __future__ import annotations

import itertools
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
_NONCE_MASK = (1 << (8 * NONCE_BYTES)) - 1
_nonce_start = 0
_nonce_count = itertools.count()


def _restart_nonces() -> None:
    global _nonce_start, _nonce_count
    _nonce_start = int.from_bytes(os.urandom(NONCE_BYTES), "big")
    _nonce_count = itertools.count()


_restart_nonces()
os.register_at_fork(after_in_child=_restart_nonces)


def nonce() -> bytes:
    """A fresh nonce: the next value of this process's counter (``next`` is atomic)."""
    return ((_nonce_start + next(_nonce_count)) & _NONCE_MASK).to_bytes(NONCE_BYTES, "big")


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


def header(kid: KeyId) -> bytes:
    return _HEADER.pack(MAGIC, VERSION, kid.subject.bytes, kid.generation)


def seal(cipher: AESGCM, kid: KeyId, plaintext: bytes, ctx: bytes) -> bytes:
    return seal_under(cipher, header(kid), plaintext, ctx)


def seal_under(cipher: AESGCM, head: bytes, plaintext: bytes, ctx: bytes) -> bytes:
    """Seal with a header built once per key (``header``): the path every field write takes."""
    iv = nonce()
    return head + iv + cipher.encrypt(iv, plaintext, head + ctx)


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
