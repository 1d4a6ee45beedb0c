"""Checkpoint eras: after a restore in place, checkpoints of the rolled-back chain stop
binding past the restored head — only when the signing key opened the new era."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import checkpoint_file as cpfile
from audit import checkpoints
from audit.checkpoint_store import era_of, name_for, seq_of


def head(seq, era=0, restored=None):
    return cpfile.Head(seq=seq, hash="h", at="2026-12-04T00:00:00.000000Z", count=seq,
                       era=era, restored_head=restored)


def test_names_sort_by_era_then_seq_and_parse_back():
    names = [name_for(900), name_for(12), name_for(40, era=1), name_for(7, era=2)]
    assert sorted(names) == [name_for(12), name_for(900), name_for(40, era=1),
                             name_for(7, era=2)]
    assert [(seq_of(n), era_of(n)) for n in sorted(names)] == [(12, 0), (900, 0), (40, 1), (7, 2)]


def test_an_earlier_eras_checkpoints_bind_up_to_the_restored_head_only():
    heads = [head(10), head(50), head(90), head(51, era=1, restored=50), head(70, era=1)]
    binding, rolled_back = checkpoints._binding(heads)
    assert [h.seq for h in binding] == [10, 50, 51, 70] and rolled_back == 1


def test_two_restores_bind_each_era_up_to_the_lowest_later_restored_head():
    heads = [head(10), head(40), head(31, era=1, restored=30), head(35, era=1),
             head(21, era=2, restored=20), head(25, era=2)]
    binding, rolled_back = checkpoints._binding(heads)
    assert [(h.era, h.seq) for h in binding] == [(0, 10), (2, 21), (2, 25)]
    assert rolled_back == 3


def test_without_a_restore_checkpoint_nothing_is_excused():
    heads = [head(10), head(90), head(60, era=1)]  # era 1 never named a restored head
    assert checkpoints._binding(heads) == (heads, 0)


def test_the_era_and_restored_head_are_signed():
    key = Ed25519PrivateKey.generate()
    signed = cpfile.sign(head(51, era=1, restored=50), key)
    data = cpfile.dumps(signed)
    assert cpfile.verify(data, key.public_key()).restored_head == 50
    forged = data.replace(b'"restored_head": 50', b'"restored_head": 5')
    with pytest.raises(cpfile.InvalidCheckpoint):
        cpfile.verify(forged, key.public_key())
    plain = cpfile.dumps(cpfile.sign(head(5), key))
    assert b"era" not in plain  # as every checkpoint file before eras existed
