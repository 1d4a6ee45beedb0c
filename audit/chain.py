"""The hash chain: canonical form, linking, verification and signed checkpoints."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor_id", "actor_label", "role", "action", "client_id", "client_code",
          "location_code", "subjects", "data_class", "purpose", "break_glass", "outcome",
          "detail", "ip", "user_agent", "request_id", "prev_hash")


def _at(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: dict) -> bytes:
    """The bytes an event's hash covers. Field order and JSON form are fixed forever."""
    values = [row[name] for name in FIELDS]
    values[1] = _at(values[1])
    values[6] = str(values[6]) if values[6] is not None else None
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def digest(row: dict) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    first_bad_seq: int | None
    message: str


def verify_rows(rows, *, start_seq: int, start_hash: str) -> Verdict:
    """Check rows (dicts with FIELDS and `hash`, in seq order) link up from a trusted start."""
    expected_seq, expected_prev, checked = start_seq + 1, start_hash, 0
    for row in rows:
        if row["seq"] != expected_seq:
            return Verdict(False, checked, expected_seq,
                           f"event #{expected_seq} is missing (next present is #{row['seq']})")
        if row["prev_hash"] != expected_prev:
            return Verdict(False, checked, row["seq"],
                           f"event #{row['seq']} does not link to the event before it")
        if digest(row) != row["hash"]:
            return Verdict(False, checked, row["seq"],
                           f"event #{row['seq']} was altered after it was written")
        expected_seq, expected_prev, checked = row["seq"] + 1, row["hash"], checked + 1
    return Verdict(True, checked, None, f"{checked} events verified")
