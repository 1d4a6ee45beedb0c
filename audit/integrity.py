"""Verifying the chain, signing checkpoints, and pruning by retention without breaking it."""

from __future__ import annotations

import datetime as dt
import hashlib
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from vault import keyring

from . import chain
from .models import AccessEvent, ChainHead, Checkpoint, PrunePermit, VerificationRun

BATCH = 20_000


def _signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(keyring.provider().signing_key())


def _key_id(private: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    return hashlib.sha256(public).hexdigest()[:16]


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


def _rows(after_seq: int):
    names = (*chain.FIELDS, "hash")
    last = after_seq
    while True:
        batch = list(AccessEvent.objects.filter(seq__gt=last).order_by("seq")
                     .values_list(*names)[:BATCH])
        if not batch:
            return
        for values in batch:
            yield dict(zip(names, values, strict=True))
        last = batch[-1][0]


def verify_chain() -> chain.Verdict:
    """Check every kept event from the latest signed checkpoint (or the genesis) on."""
    start_seq, start_hash = 0, chain.GENESIS
    cp = Checkpoint.objects.order_by("-seq").first()
    if cp is not None:
        if not checkpoint_valid(cp):
            return chain.Verdict(False, 0, cp.seq + 1,
                                 f"the checkpoint at #{cp.seq} has an invalid signature")
        start_seq, start_hash = cp.seq, cp.hash
    verdict = chain.verify_rows(_rows(start_seq), start_seq=start_seq, start_hash=start_hash)
    if verdict.ok:
        head = ChainHead.objects.filter(pk=1).first()
        last = AccessEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        if head is not None and last is not None and (head.seq, head.hash) != last:
            return chain.Verdict(False, verdict.checked, last[0] + 1,
                                 f"events after #{last[0]} have been removed")
    return verdict


def verify_and_record() -> VerificationRun:
    began = time.monotonic()
    verdict = verify_chain()
    return VerificationRun.objects.create(
        ok=verdict.ok, checked=verdict.checked, first_bad_seq=verdict.first_bad_seq,
        message=verdict.message[:300], seconds=time.monotonic() - began)


def prune(*, now: dt.datetime | None = None) -> Checkpoint | None:
    """Delete events older than the retention period, after signing a checkpoint of the
    last one deleted so the remaining chain still verifies from a trusted start."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.AUDIT_RETENTION_DAYS)
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
        permit = PrunePermit.objects.create(up_to_seq=seq)
        AccessEvent.objects.filter(seq__lte=seq).delete()
        permit.delete()
    return cp
