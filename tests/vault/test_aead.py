"""The ciphertext format: AES-256-GCM, a header naming the key, bound to its place."""

from __future__ import annotations

import os
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from vault import aead
from vault.errors import IntegrityError

SUBJECT = uuid.UUID("5b0c2a4e-8f1d-4c3b-9a77-0e6d2f1b3c4d")
ROW = uuid.UUID("11111111-2222-4333-8444-555555555555")
KID = aead.KeyId(SUBJECT, 3)
CTX = aead.context("records.client", "full_name", ROW, SUBJECT)
KEY = AESGCM(bytes(range(32)))


def seal(plaintext: bytes = "李娜".encode(), *, cipher=KEY, kid=KID, ctx=CTX) -> bytes:
    return aead.seal(cipher, kid, plaintext, ctx)


def test_a_sealed_value_opens_to_the_same_bytes():
    assert aead.open_(KEY, seal(b"13812345678"), CTX) == b"13812345678"


def test_an_empty_value_round_trips():
    assert aead.open_(KEY, seal(b""), CTX) == b""


def test_the_blob_is_header_nonce_ciphertext_and_tag():
    blob = seal(b"x" * 10)
    assert len(blob) == aead.OVERHEAD + 10
    assert aead.HEADER_BYTES == 21
    assert aead.OVERHEAD == 21 + 12 + 16


def test_the_header_names_the_subject_and_the_key_generation():
    blob = seal()
    assert aead.key_id(blob) == aead.KeyId(SUBJECT, 3)
    assert blob[:2] == b"SV"
    assert blob[2] == aead.VERSION == 1
    assert blob[3:19] == SUBJECT.bytes
    assert int.from_bytes(blob[19:21], "big") == 3


def test_the_plaintext_does_not_appear_in_the_blob():
    plaintext = "对PPD染发剂过敏 13812345678".encode()
    assert plaintext not in seal(plaintext)
    assert b"13812345678" not in seal(plaintext)


def test_two_seals_of_the_same_value_use_different_nonces():
    first, second = seal(b"same"), seal(b"same")
    nonce = slice(aead.HEADER_BYTES, aead.HEADER_BYTES + aead.NONCE_BYTES)
    assert first[nonce] != second[nonce]
    assert first != second
    assert aead.open_(KEY, first, CTX) == aead.open_(KEY, second, CTX) == b"same"


@pytest.mark.parametrize("part", ["header", "nonce", "ciphertext", "tag"])
def test_tampering_any_byte_of_any_part_fails_authentication(part):
    blob = seal(b"allergic to PPD")
    h, n = aead.HEADER_BYTES, aead.HEADER_BYTES + aead.NONCE_BYTES
    span = {"header": range(0, h), "nonce": range(h, n),
            "ciphertext": range(n, len(blob) - 16), "tag": range(len(blob) - 16, len(blob))}[part]
    assert len(span) > 0
    for i in span:
        for flip in (0x01, 0x80):
            damaged = bytearray(blob)
            damaged[i] ^= flip
            with pytest.raises(IntegrityError):
                aead.open_(KEY, bytes(damaged), CTX)


def test_a_truncated_or_extended_blob_fails_authentication():
    blob = seal(b"allergic to PPD")
    for cut in (1, 5, 16):
        with pytest.raises(IntegrityError):
            aead.open_(KEY, blob[:-cut], CTX)
    with pytest.raises(IntegrityError):
        aead.open_(KEY, blob + b"\x00", CTX)


def test_a_wrong_key_fails_authentication():
    with pytest.raises(IntegrityError):
        aead.open_(AESGCM(os.urandom(32)), seal(), CTX)


@pytest.mark.parametrize("moved", [
    aead.context("records.healthnote", "full_name", ROW, SUBJECT),          # another model
    aead.context("records.client", "phone", ROW, SUBJECT),                  # another field
    aead.context("records.client", "full_name", uuid.uuid4(), SUBJECT),     # another row
    aead.context("records.client", "full_name", ROW, uuid.uuid4()),         # another subject
    b"",
])
def test_a_ciphertext_opened_in_another_context_fails(moved):
    with pytest.raises(IntegrityError):
        aead.open_(KEY, seal(), moved)


def test_the_same_header_with_another_subject_inside_the_blob_fails():
    blob = bytearray(seal())
    blob[3:19] = uuid.uuid4().bytes  # claim another subject in the header
    with pytest.raises(IntegrityError):
        aead.open_(KEY, bytes(blob), CTX)


@pytest.mark.parametrize("blob", [b"", b"SV", b"SV\x01" + b"\x00" * 20,
                                  b"\x00" * (aead.OVERHEAD - 1)])
def test_reading_the_key_id_of_a_too_short_blob_raises(blob):
    with pytest.raises(IntegrityError):
        aead.key_id(blob)


def test_a_blob_with_an_unknown_magic_or_version_is_rejected():
    blob = seal()
    with pytest.raises(IntegrityError):
        aead.key_id(b"XX" + blob[2:])
    with pytest.raises(IntegrityError):
        aead.key_id(blob[:2] + b"\x02" + blob[3:])


@pytest.mark.parametrize("length", [0, 2, aead.HEADER_BYTES, aead.HEADER_BYTES + 5,
                                    aead.OVERHEAD - 1])
def test_opening_a_too_short_blob_raises_integrity_error_not_a_crash(length):
    # A damaged, truncated column must fail as an integrity failure like any other damage.
    with pytest.raises(IntegrityError):
        aead.open_(KEY, seal()[:length], CTX)


@given(st.binary(max_size=2048))
def test_any_bytes_round_trip(plaintext):
    blob = seal(plaintext)
    assert aead.open_(KEY, blob, CTX) == plaintext
    assert aead.key_id(blob) == KID
    assert len(blob) == len(plaintext) + aead.OVERHEAD


@given(st.text(max_size=500), st.uuids(), st.integers(min_value=0, max_value=0xFFFF))
def test_any_text_round_trips_under_any_key_id(text, subject, generation):
    kid = aead.KeyId(subject, generation)
    ctx = aead.context("records.treatment", "notes", uuid.uuid4(), subject)
    blob = aead.seal(KEY, kid, text.encode(), ctx)
    assert aead.key_id(blob) == kid
    assert aead.open_(KEY, blob, ctx).decode() == text


@given(st.binary(min_size=1, max_size=200), st.data())
def test_any_single_bit_flip_is_detected(plaintext, data):
    blob = seal(plaintext)
    i = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    damaged = bytearray(blob)
    damaged[i] ^= 1 << bit
    with pytest.raises(IntegrityError):
        aead.open_(KEY, bytes(damaged), CTX)


def test_nonces_do_not_repeat_over_many_seals():
    blobs = [seal(b"same") for _ in range(20_000)]
    nonces = {b[aead.HEADER_BYTES:aead.HEADER_BYTES + aead.NONCE_BYTES] for b in blobs}
    assert len(nonces) == len(blobs)


def test_nonces_of_threads_sealing_at_once_do_not_repeat():
    from concurrent.futures import ThreadPoolExecutor

    def many(_):
        return [aead.nonce() for _ in range(5_000)]

    with ThreadPoolExecutor(4) as pool:
        drawn = [n for batch in pool.map(many, range(4)) for n in batch]
    assert len(set(drawn)) == len(drawn) == 20_000


def test_a_forked_process_draws_its_nonces_from_a_new_start():
    # Without a new start after fork, the child would repeat the parent's next nonces
    # under the same keys, which breaks GCM outright.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write_end, b"".join(aead.nonce() for _ in range(100)))
        os._exit(0)
    os.close(write_end)
    child = b""
    while len(child) < 1200:
        chunk = os.read(read_end, 1200)
        if not chunk:
            break
        child += chunk
    os.waitpid(pid, 0)
    os.close(read_end)
    parent = [aead.nonce() for _ in range(100)]
    child_nonces = {child[i:i + 12] for i in range(0, len(child), 12)}
    assert len(child_nonces) == 100
    assert not child_nonces & set(parent)
