"""Signed checkpoints of the chain head, kept outside the database, and checking the chain
against them.

The hash chain alone shows that events were changed, but not that the whole chain was
recomputed after a change, nor that its tail was cut together with the head row: both
leave a chain consistent in itself. A checkpoint is the deployment's signature over the
head as it was (audit/checkpoint_file.py), kept where the database cannot reach
(audit/checkpoint_store.py); a chain that no longer holds a signed head fails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.utils import timezone

from vault import keyring

from . import chain
from . import checkpoint_file as cpfile
from .checkpoint_store import CheckpointExists, era_of, name_for, seq_of, store
from .models import AccessEvent, ChainHead, Checkpoint

LOOKUP = 1_000  # checkpoints whose events are fetched per query


class CheckpointRefused(Exception):
    """The head is not signed: the chain disagrees with a checkpoint already kept."""


@dataclass(frozen=True)
class Written:
    head: cpfile.Head
    location: str


def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(keyring.provider().signing_key())


def public_key() -> Ed25519PublicKey:
    return signer().public_key()


def _head() -> tuple[int, str]:
    found = ChainHead.objects.filter(pk=1).values_list("seq", "hash").first()
    if found is None:
        found = AccessEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return found or (0, chain.GENESIS)


def _floor() -> tuple[int, str]:
    """The link just before the oldest kept event: the latest retention checkpoint."""
    return Checkpoint.objects.order_by("-seq").values_list("seq", "hash").first() or (
        0, chain.GENESIS)


def _at(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def checkpoint_latest() -> cpfile.Head | None:
    """The newest kept checkpoint (its signature verified), or None when there is none."""
    kept = store()
    names = kept.names()
    if not names:
        return None
    return cpfile.verify(kept.read(names[-1]), public_key())


def checkpoint_write(*, now: dt.datetime | None = None) -> Written | None:
    """Sign the chain head and keep it outside the database; None when the chain is empty
    or its head has not moved since the latest checkpoint. Refuses (CheckpointRefused) to
    sign a chain that no longer holds the latest checkpoint's head."""
    seq, digest = _head()
    try:
        latest = checkpoint_latest()
    except (OSError, cpfile.InvalidCheckpoint) as exc:
        raise CheckpointRefused(f"the latest checkpoint does not verify ({exc})") from exc
    if latest is not None:
        if (latest.seq, latest.hash) == (seq, digest):
            return None
        problem = _disagreement([latest], (seq, digest), _floor())
        if problem is not None:
            raise CheckpointRefused(problem[1])
    if seq == 0:
        return None
    era = latest.era if latest is not None else 0
    head = cpfile.Head(seq=seq, hash=digest, at=_at(now or timezone.now()),
                       count=seq - _floor()[0], era=era)
    signed = cpfile.sign(head, signer())
    try:
        return Written(signed, store().add(name_for(seq, era), cpfile.dumps(signed)))
    except CheckpointExists:
        # Another writer kept this head first; a different hash at the same seq is not
        # replaced, and the chain check reports it.
        return None


def checkpoint_after_restore(restored_head: int, *, now: dt.datetime | None = None) -> Written:
    """Start a new era of checkpoints after a backup was restored in place: sign the chain
    head (the restore's own event) and the head the backup restored. Checkpoints of earlier
    eras past `restored_head` describe the chain the restore rolled back: verification
    names them and no longer holds the chain to them. Only the signing key can open an era,
    so whoever can rewrite the database cannot excuse a rewrite as a restore."""
    seq, digest = _head()
    names = store().names()
    era = (era_of(names[-1]) if names else 0) + 1
    head = cpfile.Head(seq=seq, hash=digest, at=_at(now or timezone.now()),
                       count=seq - _floor()[0], era=era, restored_head=restored_head)
    signed = cpfile.sign(head, signer())
    return Written(signed, store().add(name_for(seq, era), cpfile.dumps(signed)))


def _binding(heads: list[cpfile.Head]) -> tuple[list[cpfile.Head], int]:
    """The checkpoints the chain must still hold, and how many a restore rolled back: a
    checkpoint of an earlier era binds up to the head every later restore restored; past
    it, the restore replaced that part of the chain."""
    restored = {h.era: h.restored_head for h in heads if h.restored_head is not None}
    binding, rolled_back = [], 0
    for head in heads:
        later = [at for era, at in restored.items() if era > head.era]
        if later and head.seq > min(later):
            rolled_back += 1
        else:
            binding.append(head)
    return binding, rolled_back


def _read_all(every: bool) -> tuple[list[cpfile.Head], list[tuple[int, str]]]:
    """The kept checkpoints that verify, and a problem for each one that does not."""
    kept, public = store(), public_key()
    names = kept.names()
    heads, problems = [], []
    for name in names if every else names[-1:]:
        claimed = seq_of(name)
        try:
            head = cpfile.verify(kept.read(name), public)
        except (OSError, cpfile.InvalidCheckpoint) as exc:
            problems.append((claimed, f"the checkpoint {name} is not validly signed ({exc}): "
                                      "forged or damaged"))
            continue
        if head.seq != claimed or head.era != era_of(name):
            problems.append((claimed, f"the checkpoint {name} names #{head.seq} "
                                      f"of era {head.era}"))
            continue
        heads.append(head)
    return heads, problems


def _stored_hashes(seqs: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for i in range(0, len(seqs), LOOKUP):
        found.update(AccessEvent.objects.filter(seq__in=seqs[i:i + LOOKUP])
                     .values_list("seq", "hash"))
    return found


def _disagreement(heads: list[cpfile.Head], head: tuple[int, str],
                  floor: tuple[int, str]) -> tuple[int, str] | None:
    """The first checkpoint (in seq order) the chain no longer holds, as (the first seq
    that disagrees, why), or None."""
    heads = sorted(heads, key=lambda h: h.seq)
    stored = _stored_hashes([h.seq for h in heads if floor[0] < h.seq <= head[0]])
    stored[floor[0]] = floor[1]
    agreed = None
    for cp in heads:
        if cp.seq < floor[0]:
            continue  # pruned by retention behind a signed checkpoint
        if cp.seq > head[0]:
            return (head[0] + 1, f"events after #{head[0]} have been removed: the checkpoint "
                                 f"signed at {cp.at} names #{cp.seq} as the head")
        if stored.get(cp.seq) != cp.hash:
            what = "is missing" if cp.seq not in stored else "differs from"
            since = f" (it still agrees at #{agreed})" if agreed is not None else ""
            return (cp.seq, f"event #{cp.seq} {what} the head signed at {cp.at}: the chain "
                            f"was rewritten at or before #{cp.seq}{since}")
        agreed = cp.seq
    return None


def check(verdict: chain.Verdict, *, every: bool, up_to: int | None = None) -> chain.Verdict:
    """The verdict of the chain's own links, held against the kept checkpoints: every one
    (`every`), or the latest. The first problem in seq order wins (the links' own, on a
    tie); an intact verdict comes back with the number of checkpoints that agree.

    `up_to`: only the checkpoints at or before that event, for a copy restored from a
    backup whose chain ended there (a restore drill): the checkpoints signed later describe
    the salon's chain since, not the copy's."""
    heads, problems = _read_all(every)
    if up_to is not None:
        heads = [h for h in heads if h.seq <= up_to]
        problems = [p for p in problems if p[0] <= up_to]
    heads, rolled_back = _binding(heads)
    if not verdict.ok:
        problems.insert(0, (verdict.first_bad_seq or 0, verdict.message))
    found = _disagreement(heads, _head(), _floor())
    if found is not None:
        problems.append(found)
    if problems:
        seq, message = min(problems, key=lambda p: p[0])
        return chain.Verdict(False, verdict.checked, seq, message)
    return _explained(replace(verdict, checkpoints=len(heads)), rolled_back)


def _explained(verdict: chain.Verdict, rolled_back: int) -> chain.Verdict:
    if not rolled_back:
        return verdict
    return replace(verdict, message=f"{verdict.message}; {rolled_back} earlier checkpoints "
                                    "describe a chain a restore rolled back (see the "
                                    "restore events)")
