"""Verifying the chain, signing checkpoints, and pruning by retention without breaking it."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from vault import keyring

from . import chain, checkpoints
from . import checkpoint_file as cpfile
from .models import AccessEvent, ChainHead, Checkpoint, PrunePermit, VerificationRun
from .triggers import RETENTION_FLOOR_DAYS


def _signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(keyring.provider().signing_key())


def _key_id(private: Ed25519PrivateKey) -> str:
    return cpfile.fingerprint(private.public_key())


def _statement(seq: int, digest: str, pruned: int) -> bytes:
    return f"salon-vault-audit-checkpoint|{seq}|{digest}|{pruned}".encode()


def checkpoint_valid(cp: Checkpoint) -> bool:
    private = _signer()
    if cp.key_id != _key_id(private):
        return False
    try:
        private.public_key().verify(bytes.fromhex(cp.signature),
                                    _statement(cp.seq, cp.hash, cp.pruned))
    except (InvalidSignature, ValueError):
        return False
    return True


BATCH = 50_000  # rows per fetch
FULL_EVERY = dt.timedelta(days=7)  # the scheduled run checks the whole chain this often
PARALLEL_MIN = 400_000  # fewer events than this are verified in one process
SEGMENTS_PER_WORKER = 4

# The stored values canonical_stored takes, formatted by PostgreSQL: the time as UTC text,
# ids as text, the JSON columns as text (made canonical once per distinct text).
_PG_ROWS = """
SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor_id,
       actor_label, role, action, client_id::text, client_code, location_code, subjects::text,
       data_class, purpose, break_glass, outcome, detail::text, host(ip), user_agent,
       request_id, prev_hash, hash
FROM audit_accessevent WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s
"""


def _verified_statement(seq: int, digest: str) -> bytes:
    return f"salon-vault-audit-verified|{seq}|{digest}".encode()


def _sign(statement: bytes) -> tuple[str, str]:
    private = _signer()
    return _key_id(private), private.sign(statement).hex()


def _signed_by_us(key_id: str, signature: str, statement: bytes) -> bool:
    private = _signer()
    if not signature or key_id != _key_id(private):
        return False
    try:
        private.public_key().verify(bytes.fromhex(signature), statement)
    except (InvalidSignature, ValueError):
        return False
    return True


def _rows(after_seq: int, until_seq: int | None = None):
    """Stored rows (tuples for chain.canonical_stored, plus the hash) after `after_seq`, up
    to `until_seq`, in seq order, read in batches of BATCH."""
    connection = connections[router.db_for_read(AccessEvent)]
    until = until_seq if until_seq is not None else 2**62
    if connection.vendor == "postgresql":
        yield from _pg_rows(connection, after_seq, until)
        return
    names = (*chain.FIELDS, "hash")
    last = after_seq
    while True:
        batch = list(AccessEvent.objects.filter(seq__gt=last, seq__lte=until).order_by("seq")
                     .values_list(*names)[:BATCH])
        if not batch:
            return
        for values in batch:
            yield (*chain.stored(dict(zip(names, values, strict=True))), values[-1])
        last = batch[-1][0]


def _pg_rows(connection, after: int, until: int):
    memo = {"[]": "[]", "{}": "{}"}
    form = chain.canonical_json

    def canonical(text: str) -> str:
        found = memo[text] = form(json.loads(text))
        if len(memo) > 100_000:
            memo.clear()
        return found

    get = memo.get
    connection.ensure_connection()
    raw = connection.connection  # the next batch is fetched in a thread while this one is hashed

    def fetch(last: int) -> list:
        with raw.cursor() as cursor:
            cursor.execute(_PG_ROWS, (last, until, BATCH))
            return cursor.fetchall()

    with ThreadPoolExecutor(max_workers=1) as prefetch:
        pending = prefetch.submit(fetch, after) if after < until else None
        while pending is not None:
            batch = pending.result()
            if not batch:
                return
            last = batch[-1][0]
            pending = prefetch.submit(fetch, last) if last < until else None
            for r in batch:
                yield (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                       get(r[9]) or canonical(r[9]), r[10], r[11], r[12], r[13],
                       get(r[14]) or canonical(r[14]), r[15], r[16], r[17], r[18], r[19])


def _trusted_start() -> tuple[int, str, chain.Verdict | None]:
    """The latest signed checkpoint, or the genesis; a verdict if the checkpoint is forged."""
    cp = Checkpoint.objects.order_by("-seq").first()
    if cp is None:
        return 0, chain.GENESIS, None
    if not checkpoint_valid(cp):
        return cp.seq, cp.hash, chain.Verdict(
            False, 0, cp.seq + 1, f"the checkpoint at #{cp.seq} has an invalid signature")
    return cp.seq, cp.hash, None


def last_verified() -> VerificationRun | None:
    """The latest run that found the chain intact and signed its last link."""
    for run in VerificationRun.objects.filter(ok=True, last_seq__isnull=False).order_by("-pk")[:5]:
        if _signed_by_us(run.key_id, run.signature,
                         _verified_statement(run.last_seq, run.last_hash)):
            return run
    return None


def verify_chain(*, full: bool = True, workers: int = 1) -> chain.Verdict:
    """Check the kept events from the latest signed checkpoint (or the genesis) on, or,
    unless `full`, only those after the last link an earlier run verified and signed.
    Either way the chain head must name the last event, and the chain must still hold the
    heads signed outside the database: every one when `full`, else the latest
    (audit/checkpoints.py). With `workers` > 1 on PostgreSQL, a long chain is verified in
    that many processes, over consecutive seq ranges."""
    return checkpoints.check(_verify_links(full=full, workers=workers), every=full)


def _verify_links(*, full: bool, workers: int) -> chain.Verdict:
    start_seq, start_hash, forged = _trusted_start()
    if forged is not None:
        return forged
    head = ChainHead.objects.filter(pk=1).values_list("seq", "hash").first()
    if head is None:
        head = AccessEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    if not full and (run := last_verified()) is not None and run.last_seq >= start_seq:
        after = head[0] if head is not None else 0
        if run.last_seq > after:
            return chain.Verdict(False, 0, after + 1, f"events after #{after} have been "
                                 f"removed (#{run.last_seq} was verified before)")
        stored = (AccessEvent.objects.filter(seq=run.last_seq).values_list("hash", flat=True)
                  .first()) if run.last_seq > start_seq else start_hash
        if stored != run.last_hash:
            # The link verified before has changed: verify the whole chain to name the
            # first broken link; a chain rewritten consistently still fails on the link.
            verdict = _verify_links(full=True, workers=workers)
            if verdict.ok:
                what = "is missing" if stored is None else "was altered"
                return chain.Verdict(False, verdict.checked, run.last_seq,
                                     f"event #{run.last_seq} {what} after it was verified")
            return verdict
        start_seq, start_hash = run.last_seq, run.last_hash
    end = head[0] if head is not None else start_seq
    verdict = _verify_range(start_seq, start_hash, end, workers)
    if not verdict.ok:
        return verdict
    if head is not None and (verdict.last_seq, verdict.last_hash) != head:
        last = verdict.last_seq
        if last == head[0]:
            return chain.Verdict(False, verdict.checked, last,
                                 f"the chain head does not name event #{last} as written")
        return chain.Verdict(False, verdict.checked, last + 1,
                             f"events after #{last} have been removed")
    return verdict


def _verify_range(start_seq: int, start_hash: str, end: int, workers: int) -> chain.Verdict:
    connection = connections[router.db_for_read(AccessEvent)]
    parallel = (workers > 1 and end - start_seq >= PARALLEL_MIN
                and connection.vendor == "postgresql" and not connection.in_atomic_block
                and not multiprocessing.current_process().daemon)
    if not parallel:
        return chain.verify_stored(_rows(start_seq, end), start_seq=start_seq,
                                   start_hash=start_hash)
    count = workers * SEGMENTS_PER_WORKER
    step = -(-(end - start_seq) // count)
    bounds = [(lo, min(end, lo + step), start_hash if lo == start_seq else None)
              for lo in range(start_seq, end, step)]
    connections.close_all()  # each forked worker opens its own connection
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return combine(pool.imap(verify_segment, bounds))


def verify_segment(bounds: tuple[int, int, str | None]) -> tuple[int, int, chain.Verdict]:
    """Verify the events (lo, hi] from event lo's stored hash (or the hash given): event lo
    itself is checked by the segment before."""
    lo, hi, lo_hash = bounds
    try:
        if lo_hash is None:
            lo_hash = AccessEvent.objects.filter(seq=lo).values_list("hash", flat=True).first()
            if lo_hash is None:
                return lo, hi, chain.Verdict(False, 0, lo, f"event #{lo} is missing")
        return lo, hi, chain.verify_stored(_rows(lo, hi), start_seq=lo, start_hash=lo_hash)
    finally:
        if multiprocessing.parent_process() is not None:
            connections.close_all()


def combine(results) -> chain.Verdict:
    """One verdict from the verdicts of consecutive segments, in order: the chain is intact
    where every segment is and each but the last ends at its upper bound."""
    checked, last = 0, None
    results = list(results)
    for index, (_lo, hi, verdict) in enumerate(results):
        if not verdict.ok:
            return chain.Verdict(False, checked + verdict.checked, verdict.first_bad_seq,
                                 verdict.message)
        checked += verdict.checked
        last = verdict
        if verdict.last_seq != hi and index < len(results) - 1:
            missing = verdict.last_seq + 1
            return chain.Verdict(False, checked, missing, f"event #{missing} is missing")
    if last is None:
        return chain.Verdict(True, 0, None, "0 events verified")
    return chain.Verdict(True, checked, None, f"{checked} events verified", last.last_seq,
                         last.last_hash)


def verify_and_record(*, full: bool | None = None, workers: int = 1) -> VerificationRun:
    """Verify and record the result. `full` None: a full run when the last full run that
    found the chain intact is older than FULL_EVERY, else from the last verified link."""
    began = time.monotonic()
    if full is None:
        full = not VerificationRun.objects.filter(
            ok=True, full=True, at__gte=timezone.now() - FULL_EVERY).exists()
    before = None if full else last_verified()
    verdict = verify_chain(full=full, workers=workers)
    incremental = not full and before is not None
    start = before.last_seq if incremental else 0
    message = verdict.message
    if verdict.ok and incremental:
        message = f"{message} after #{start}"
    if verdict.ok and verdict.checkpoints:
        message = f"{message}; {verdict.checkpoints} signed checkpoint(s) of the head agree"
    signed = {}
    if verdict.ok and verdict.last_seq is not None:
        key_id, signature = _sign(_verified_statement(verdict.last_seq, verdict.last_hash))
        signed = {"last_seq": verdict.last_seq, "last_hash": verdict.last_hash,
                  "key_id": key_id, "signature": signature}
    return VerificationRun.objects.create(
        ok=verdict.ok, checked=verdict.checked, first_bad_seq=verdict.first_bad_seq,
        message=message[:300], seconds=time.monotonic() - began, full=not incremental,
        start_seq=start, **signed)


class RetentionTooShort(ValueError):
    """AUDIT_RETENTION_DAYS is below the floor; nothing is deleted."""


def prune(*, now: dt.datetime | None = None) -> Checkpoint | None:
    """Delete events older than the retention period, after signing a checkpoint of the
    last one deleted so the remaining chain still verifies from a trusted start.

    The permit that lets the database delete them stays (its table is append-only too); it
    covers only events that are gone. The database itself refuses a permit for events
    younger than the floor (audit/triggers.py), whatever the settings say."""
    days = settings.AUDIT_RETENTION_DAYS
    if days < RETENTION_FLOOR_DAYS:
        raise RetentionTooShort(f"AUDIT_RETENTION_DAYS is {days}; audit events are kept at "
                                f"least {RETENTION_FLOOR_DAYS} days (six months)")
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=days)
    last = (AccessEvent.objects.filter(at__lt=cutoff).order_by("-seq")
            .values_list("seq", "hash").first())
    if last is None:
        return None
    seq, digest = last
    private = _signer()
    with transaction.atomic():
        previous = Checkpoint.objects.order_by("-seq").values_list("pruned", flat=True).first() or 0
        count = AccessEvent.objects.filter(seq__lte=seq).count()
        cp = Checkpoint.objects.create(
            seq=seq, hash=digest, pruned=previous + count, key_id=_key_id(private),
            signature=private.sign(_statement(seq, digest, previous + count)).hex())
        PrunePermit.objects.create(up_to_seq=seq)
        AccessEvent.objects.filter(seq__lte=seq).delete()
    return cp
