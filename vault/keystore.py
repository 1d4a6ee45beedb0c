"""Data keys: create, wrap, unwrap, shred. Unwrapped keys never leave process memory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connections, router, transaction

from . import keyring, rollback
from .errors import IntegrityError, KeyringError, ShreddedError
from .models import DataKey, ShredRecord

DEK_BYTES = 32


def wrap_ad(subject: uuid.UUID, generation: int, kek_version: int) -> bytes:
    return b"dek|" + subject.bytes + generation.to_bytes(4, "big") + kek_version.to_bytes(4, "big")


def wrap(subject: uuid.UUID, generation: int, dek: bytes, kek_version: int | None = None) -> DataKey:
    ring = keyring.provider()
    version = kek_version or ring.primary_version()
    nonce = os.urandom(12)
    ct = AESGCM(ring.kek(version)).encrypt(nonce, dek, wrap_ad(subject, generation, version))
    return DataKey(subject_id=subject, generation=generation, kek_version=version,
                   wrapped=nonce + ct)


def unwrap(key: DataKey) -> bytes:
    return unwrap_with(keyring.holding(key.kek_version), key)


def unwrap_with(ring: keyring.KeyProvider, key: DataKey) -> bytes:
    wrapped = bytes(key.wrapped)
    try:
        return AESGCM(ring.kek(key.kek_version)).decrypt(
            wrapped[:12], wrapped[12:], wrap_ad(key.subject_id, key.generation, key.kek_version))
    except InvalidTag:
        raise IntegrityError(f"data key of {key.subject_id} failed to unwrap") from None


def _refuse_shredded(subjects: set[uuid.UUID]) -> None:
    ordered = list(subjects)
    for i in range(0, len(ordered), 2000):
        if ShredRecord.objects.filter(subject_id__in=ordered[i:i + 2000]).exists():
            raise ShreddedError("a data key cannot be created for a shredded subject")


def create(subjects: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[int, AESGCM]]:
    """Create generation-1 data keys for new subjects, in one write."""
    subjects = set(subjects)
    _refuse_shredded(subjects)
    fresh = {s: os.urandom(DEK_BYTES) for s in subjects}
    DataKey.objects.bulk_create([wrap(s, 1, dek) for s, dek in fresh.items()], batch_size=2000)
    # The keys commit in the vault database now; if the rows they were made for roll back,
    # they go too. (The undo holds the ids only, never the keys.)
    made = list(fresh)
    rollback.undo_on_rollback(lambda: discard(made), what="data keys")
    return {s: (1, AESGCM(dek)) for s, dek in fresh.items()}


def discard(subjects: Iterable[uuid.UUID]) -> int:
    """Delete the first keys of subjects whose rows were never kept (a rolled-back create,
    a failed import). Not shredding: there is no data to make unreadable, so no ledger."""
    subjects = list(subjects)
    deleted = 0
    for i in range(0, len(subjects), 2000):
        deleted += DataKey.objects.filter(subject_id__in=subjects[i:i + 2000],
                                          generation=1).delete()[0]
    return deleted


def load(subjects: Iterable[uuid.UUID]) -> dict[tuple[uuid.UUID, int], AESGCM]:
    """Unwrap every generation of the given subjects' keys, in one query per 2000 subjects."""
    subjects = list(set(subjects))
    found: dict[tuple[uuid.UUID, int], AESGCM] = {}
    keks: dict[int, AESGCM] = {}  # one cipher per KEK version for the whole batch
    ring = keyring.provider()
    for i in range(0, len(subjects), 2000):
        for subject, generation, version, wrapped in _wrapped_keys(subjects[i:i + 2000]):
            kek = keks.get(version)
            if kek is None:
                if version not in ring.versions():  # rewrapped just now under a newer version
                    ring = keyring.holding(version)
                kek = keks[version] = AESGCM(ring.kek(version))
            wrapped = bytes(wrapped)
            try:
                dek = kek.decrypt(wrapped[:12], wrapped[12:], wrap_ad(subject, generation, version))
            except InvalidTag:
                raise IntegrityError(f"data key of {subject} failed to unwrap") from None
            found[(subject, generation)] = AESGCM(dek)
    return found


def _wrapped_keys(subjects: list[uuid.UUID]) -> Iterator[tuple[uuid.UUID, int, int, bytes]]:
    """(subject, generation, KEK version, wrapped key) of the subjects' data keys. Plain
    SQL: every page that shows a client asks it, and the ORM cost more than the query."""
    connection = connections[router.db_for_read(DataKey)]
    field = DataKey._meta.get_field("subject_id")
    ids = [field.get_db_prep_value(pk, connection) for pk in subjects]
    if connection.vendor == "postgresql":
        among, params = "= ANY(%s::uuid[])", [ids]
    else:
        among, params = f"IN ({', '.join(['%s'] * len(ids))})", ids
    sql = (f"SELECT subject_id, generation, kek_version, wrapped "  # noqa: S608
           f"FROM {DataKey._meta.db_table} WHERE subject_id {among}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for subject, generation, version, wrapped in cursor.fetchall():
            yield field.to_python(subject), generation, version, wrapped


def current_generation(subject: uuid.UUID) -> int | None:
    return (DataKey.objects.filter(subject_id=subject)
            .order_by("-generation").values_list("generation", flat=True).first())


def rekey_generation(subject: uuid.UUID) -> int:
    """The generation a re-key of `subject` seals under: a new one, wrapped by the primary
    KEK, unless a re-key is already under way (the subject holds more than one), which is
    then finished under its newest generation."""
    held = sorted(DataKey.objects.filter(subject_id=subject).values_list("generation", flat=True))
    if not held:
        _refuse_shredded({subject})
        raise ShreddedError("the subject has no data key to replace")
    if len(held) > 1:
        return held[-1]
    generation = held[-1] + 1
    DataKey.objects.create(**_fields(wrap(subject, generation, os.urandom(DEK_BYTES))))
    return generation


def _fields(key: DataKey) -> dict:
    return {"subject_id": key.subject_id, "generation": key.generation,
            "kek_version": key.kek_version, "wrapped": key.wrapped}


def retire_generations(subject: uuid.UUID, *, below: int) -> int:
    """Delete a re-keyed subject's older generations once nothing is sealed under them."""
    return DataKey.objects.filter(subject_id=subject, generation__lt=below).delete()[0]


def shred(subject: uuid.UUID, *, actor: str, reason: str) -> None:
    """Destroy every key of a subject: all copies of their data become unreadable."""
    with transaction.atomic(using="default"):
        ShredRecord.objects.get_or_create(subject_id=subject,
                                          defaults={"actor": actor, "reason": reason})
    DataKey.objects.filter(subject_id=subject).delete()


def replay_shred_ledger() -> int:
    """After restoring the key store from a backup, destroy keys the ledger says are gone."""
    shredded = list(ShredRecord.objects.values_list("subject_id", flat=True))
    deleted = 0
    for i in range(0, len(shredded), 2000):
        deleted += DataKey.objects.filter(subject_id__in=shredded[i:i + 2000]).delete()[0]
    return deleted


def check_keyring_covers_keys() -> list[int]:
    """KEK versions used by stored data keys but absent from the keyring."""
    used = set(DataKey.objects.values_list("kek_version", flat=True).distinct())
    try:
        held = set(keyring.provider().versions())
    except KeyringError:
        held = set()
    return sorted(used - held)
