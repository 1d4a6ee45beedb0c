"""KEK rotation: a new primary key-encryption key, and every data key rewrapped under it.

Rotation touches the `vault` database's wrapped data keys only — O(clients), never the
records — in batches. Each data key row is rewritten in one statement (version and wrapped
key together, and only if no one rewrapped it meanwhile), and both KEK versions stay in the
keyring throughout, so there is no moment at which any record is unreadable. A run killed
at any point is resumed by running it again: while any data key is wrapped by a version
other than the primary, a run finishes that rotation before it would start another.

A retired version is destroyed (removed from the keyring) only when no data key uses it and
it was retired longer ago than the backup horizon, so that no backup of the key store a
restore may still need was made while it wrapped anything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Count

from . import keyring
from .errors import KeyringError
from .models import DataKey

BATCH = 1000
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class Plan:
    """What a run would do now. Ids and counts only."""

    source: str
    primary: int
    new_primary: bool  # a run makes a new version first (no rotation is under way)
    target: int  # the version every data key is wrapped by at the end
    by_version: dict[int, int]  # data keys per KEK version now
    to_rewrap: int
    destroy: list[int]  # retired versions a run would remove from the keyring
    kept: dict[int, str] = field(default_factory=dict)  # retired versions kept, and why

    @property
    def total(self) -> int:
        return sum(self.by_version.values())


@dataclass(frozen=True)
class Result:
    target: int
    created: bool
    rewrapped: int
    destroyed: list[int]
    by_version: dict[int, int]


def horizon() -> dt.timedelta:
    return dt.timedelta(days=settings.VAULT_BACKUP_HORIZON_DAYS)


def _counts() -> dict[int, int]:
    return dict(DataKey.objects.values_list("kek_version").annotate(n=Count("id")))


def plan(*, now: dt.datetime | None = None) -> Plan:
    ring = keyring.load()
    counts = _counts()
    under_way = any(n for v, n in counts.items() if v != ring.primary)
    target = ring.primary if under_way else max(ring.keks) + 1
    destroy, kept = _retirement(ring, counts, now=now)
    return Plan(source=ring.source, primary=ring.primary, new_primary=not under_way,
                target=target, by_version=counts,
                to_rewrap=sum(n for v, n in counts.items() if v != target), destroy=destroy,
                kept=kept)


def _retirement(ring: keyring.Keyring, counts: dict[int, int], *,
                now: dt.datetime | None) -> tuple[list[int], dict[int, str]]:
    now = now or dt.datetime.now(dt.UTC)
    destroy, kept = [], {}
    for version in sorted(ring.keks):
        if version == ring.primary:
            continue
        since = ring.retired_at(version)
        if counts.get(version):
            kept[version] = f"wraps {counts[version]} data keys"
        elif since is None:
            kept[version] = "not marked retired"
        elif now - since < horizon():
            kept[version] = (f"retired {since:%Y-%m-%d}; backups up to "
                             f"{settings.VAULT_BACKUP_HORIZON_DAYS} days old may need it")
        else:
            destroy.append(version)
    return destroy, kept


def run(*, progress: Progress | None = None, batch: int = BATCH,
        now: dt.datetime | None = None) -> Result:
    """Rotate: a new primary version unless a rotation is under way, then every data key
    rewrapped under the primary, then retired versions past the horizon destroyed."""
    created = False
    with _keyring_lock():
        ring = keyring.load()
        if not any(n for v, n in _counts().items() if v != ring.primary):
            ring = _write(ring.with_new_primary())
            created = True
    rewrapped = rewrap(ring, progress=progress, batch=batch)
    destroyed = retire(now=now)
    return Result(target=ring.primary, created=created, rewrapped=rewrapped,
                  destroyed=destroyed, by_version=_counts())


def rewrap(ring: keyring.Keyring, *, progress: Progress | None = None, batch: int = BATCH) -> int:
    """Rewrap every data key not under the ring's primary; returns how many this call did."""
    target = ring.primary
    if stray := sorted(set(_counts()) - set(ring.versions())):
        raise KeyringError(f"data keys are wrapped by KEK versions {stray}, which are not in "
                           "the keyring; restore them before rotating")
    total = DataKey.objects.count()
    done = DataKey.objects.filter(kek_version=target).count()
    if progress:
        progress(done, total)
    cipher = AESGCM(ring.kek(target))
    unwrappers: dict[int, AESGCM] = {}
    rewrapped, after = 0, 0
    while True:
        moved, after = _rewrap_batch(ring, cipher, unwrappers, batch, after)
        if after is None:
            break
        rewrapped += moved
        done += moved
        if progress:
            progress(min(done, total), total)
    return rewrapped


def _rewrap_batch(ring: keyring.Keyring, cipher: AESGCM, unwrappers: dict[int, AESGCM],
                  batch: int, after: int) -> tuple[int, int | None]:
    """The next batch by id after `after`, in one transaction: (rewrapped, last id), or
    (0, None) when none is left. On PostgreSQL rows another run holds are skipped (two runs
    share the work) and the batch is written in one statement. Plain SQL and the wrapping's
    associated data built inline: this loop is all a rotation does, 100,000 times."""
    alias = router.db_for_write(DataKey)
    connection = connections[alias]
    target = ring.primary
    others = [v for v in ring.versions() if v != target]
    table = DataKey._meta.db_table
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    sql = (f"SELECT id, subject_id, generation, kek_version, wrapped FROM {table} "  # noqa: S608
           f"WHERE kek_version IN ({', '.join(['%s'] * len(others))}) AND id > %s "
           f"ORDER BY id LIMIT %s{lock}")
    as_target = target.to_bytes(4, "big")
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A batch lost in a crash is only a batch to rewrap again (the old KEK is kept
            # until the end): no reason to wait for each commit to reach the disk.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(sql, [*others, after, batch])
        keys = cursor.fetchall()
        if not keys:
            return 0, None
        nonces = os.urandom(12 * len(keys))
        ids, news, olds = [], [], []
        for i, (pk, subject, generation, version, wrapped) in enumerate(keys):
            old = unwrappers.get(version)
            if old is None:
                old = unwrappers[version] = AESGCM(ring.kek(version))
            subject = subject.bytes if hasattr(subject, "bytes") else bytes.fromhex(
                subject.replace("-", ""))
            prefix = b"dek|" + subject + generation.to_bytes(4, "big")
            wrapped = bytes(wrapped)
            dek = old.decrypt(wrapped[:12], wrapped[12:], prefix + version.to_bytes(4, "big"))
            nonce = nonces[12 * i:12 * i + 12]
            news.append(nonce + cipher.encrypt(nonce, dek, prefix + as_target))
            ids.append(pk)
            olds.append(version)
        _store_batch(connection, target, ids, news, olds)
    return len(ids), ids[-1]


def _store_batch(connection, target: int, ids: list[int], news: list[bytes], olds: list[int]) -> None:
    """Each key's new version and wrapping, only where no one rewrapped it meanwhile."""
    table = DataKey._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS d SET kek_version = %s, wrapped = v.wrapped "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::bytea[], %s::integer[]) AS v(id, wrapped, old) "
                "WHERE d.id = v.id AND d.kek_version = v.old", [target, ids, news, olds])
        else:
            cursor.executemany(
                f"UPDATE {table} SET kek_version = %s, wrapped = %s "  # noqa: S608
                "WHERE id = %s AND kek_version = %s",
                [(target, new, pk, old) for pk, new, old in zip(ids, news, olds, strict=True)])


def retire(*, now: dt.datetime | None = None) -> list[int]:
    """Destroy the retired versions no data key and no backup inside the horizon needs."""
    with _keyring_lock():
        ring = keyring.load()
        destroy, _kept = _retirement(ring, _counts(), now=now)
        if destroy:
            _write(ring.without(destroy))
    return destroy


def _write(ring: keyring.Keyring) -> keyring.Keyring:
    path = keyring.file_path(ring.source)
    if path is None:
        raise KeyringError(
            f"the keyring comes from the environment ({ring.source}): add a new KEK version "
            "to it and make it primary (and remove destroyed ones) where the secret is kept, "
            "restart, then run `manage.py vault_rotate --run` to rewrap the data keys")
    keyring.write_file(ring, path)
    keyring.reset()
    return keyring.load()


@contextlib.contextmanager
def _keyring_lock() -> Iterator[None]:
    """One process at a time changes the keyring file (a lock file beside it)."""
    path = keyring.file_path()
    if path is None:
        yield
        return
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a") as fh:  # noqa: PTH123 - a lock file, held open
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
