"""The hash chain: canonical form, linking, verification and signed checkpoints.

An event's hash is SHA-256 over its canonical form: the values of FIELDS as one compact
JSON array (strings as json.dumps writes them with ensure_ascii=False, objects with sorted
keys, the time as UTC with microseconds). The form is fixed forever. One formatter,
`canonical_stored`, writes it, from the values as the database holds them (JSON columns
as canonical JSON text); `canonical` adapts an event's Python values to it, and the
verifier feeds it rows read straight from the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from json.encoder import encode_basestring

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor_id", "actor_label", "role", "action", "client_id", "client_code",
          "location_code", "subjects", "data_class", "purpose", "break_glass", "outcome",
          "detail", "ip", "user_agent", "request_id", "prev_hash")
# Positions in a stored row: FIELDS, then the event's own hash.
SEQ, PREV_HASH, HASH = 0, 18, 19

_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                         default=str)
_quote = encode_basestring  # json's own string encoder for ensure_ascii=False (C)
# The array, with the values of FIELDS in order. Strings are quoted by _quote; `at` is
# made of digits and separators only; seq and data_class are ints.
_FORMAT = '[%d,"%s",%s,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s,%s,%s,%s,%s,%s,%s]'


def _at(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value) -> str:
    """A JSON column (subjects, detail) in its canonical form."""
    if value == [] and type(value) is list:
        return "[]"
    if value == {} and type(value) is dict:
        return "{}"
    return _JSON.encode(value)


def canonical_stored(r) -> bytes:
    """The canonical bytes of a stored row: the values of FIELDS as the database holds them,
    with `at` as UTC text (`_at`), client_id as text and the two JSON columns as
    canonical JSON text (`canonical_json`). The verifier's hot loop: one format, C quoting."""
    q = _quote
    return (_FORMAT % (
        r[0], r[1], "null" if r[2] is None else int.__repr__(r[2]), q(r[3]), q(r[4]), q(r[5]),
        "null" if r[6] is None else '"' + r[6] + '"', q(r[7]), q(r[8]), r[9], r[10], q(r[11]),
        "true" if r[12] else "false", q(r[13]), r[14], "null" if r[15] is None else q(r[15]),
        q(r[16]), q(r[17]), q(r[18]))).encode()


def stored(row: dict) -> tuple:
    """An event's Python values (a dict of FIELDS) in the stored form canonical_stored takes."""
    client_id = row["client_id"]
    return (row["seq"], _at(row["at"]), row["actor_id"], row["actor_label"], row["role"],
            row["action"], None if client_id is None else str(client_id), row["client_code"],
            row["location_code"], canonical_json(row["subjects"]), row["data_class"],
            row["purpose"], row["break_glass"], row["outcome"], canonical_json(row["detail"]),
            row["ip"], row["user_agent"], row["request_id"], row["prev_hash"])


def canonical(row: dict) -> bytes:
    """The bytes an event's hash covers. Field order and JSON form are fixed forever."""
    return canonical_stored(stored(row))


def canonical_middle(row: dict) -> str:
    """The canonical form without its first value (seq) and last (prev_hash), which only
    the head of the chain knows: canonical = "[" seq "," middle "," quoted prev_hash "]"."""
    return canonical(row | {"seq": 0, "prev_hash": ""})[3:-4].decode()


def digest(row: dict) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    first_bad_seq: int | None
    message: str
    last_seq: int | None = None  # the last link verified, when ok
    last_hash: str | None = None
    checkpoints: int = 0  # signed checkpoints of the head the chain was found to hold


def verify_stored(rows, *, start_seq: int, start_hash: str) -> Verdict:
    """Check stored rows (tuples of FIELDS and the hash, in seq order, as canonical_stored
    takes them) link up from a trusted start (start_seq, start_hash)."""
    sha, form = hashlib.sha256, canonical_stored
    expected_seq, expected_prev, checked = start_seq + 1, start_hash, 0
    for r in rows:
        if r[0] != expected_seq:
            return Verdict(False, checked, expected_seq,
                           f"event #{expected_seq} is missing (next present is #{r[0]})")
        if r[18] != expected_prev:
            return Verdict(False, checked, r[0],
                           f"event #{r[0]} does not link to the event before it")
        if sha(form(r)).hexdigest() != r[19]:
            return Verdict(False, checked, r[0],
                           f"event #{r[0]} was altered after it was written")
        expected_seq, expected_prev, checked = r[0] + 1, r[19], checked + 1
    return Verdict(True, checked, None, f"{checked} events verified", expected_seq - 1,
                   expected_prev)


def verify_rows(rows, *, start_seq: int, start_hash: str) -> Verdict:
    """Check rows (dicts with FIELDS and `hash`, in seq order) link up from a trusted start."""
    return verify_stored(((*stored(row), row["hash"]) for row in rows), start_seq=start_seq,
                         start_hash=start_hash)
