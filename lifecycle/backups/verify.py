"""Checking a backup without opening it: the manifest's signature by this deployment (or a
public key given), then every part's size and SHA-256 against the manifest."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature

from audit import checkpoint_file as cpfile
from audit import checkpoints

from . import archive, store


@dataclass
class Report:
    backup_id: str
    problems: list[str] = field(default_factory=list)
    parts: int = 0
    manifest: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _read(name: str) -> bytes | None:
    storage = store.storage()
    if not storage.exists(name):
        return None
    with storage.open(name, "rb") as fh:
        return fh.read()


def verify(backup_id: str, *, public_key: str | None = None) -> Report:
    report = Report(backup_id)
    body = _read(store.path(backup_id, archive.MANIFEST))
    signature = _read(store.path(backup_id, archive.SIGNATURE))
    if body is None:
        report.problems.append(f"{archive.MANIFEST}: missing (no such backup, or it was "
                               "stopped before it was finished)")
        return report
    if not _signed(report, body, signature, public_key):
        return report
    manifest = report.manifest = json.loads(body)
    for part in manifest["parts"]:
        report.parts += 1
        if problem := _check_part(backup_id, part):
            report.problems.append(f"{part['name']}: {problem}")
    return report


def _signed(report: Report, body: bytes, signature: bytes | None, public_key: str | None) -> bool:
    key = cpfile.parse_public_key(public_key) if public_key else checkpoints.public_key()
    if signature is None:
        report.problems.append(f"{archive.SIGNATURE}: missing")
        return False
    try:
        key.verify(base64.b64decode(signature.strip()), body)
    except (InvalidSignature, ValueError):
        try:
            named = json.loads(body).get("deployment", {}).get("fingerprint", "?")
        except ValueError:
            named = "?"
        ours = cpfile.fingerprint(key)
        if named != ours:
            report.problems.append(
                f"{archive.MANIFEST}: signed by another deployment (fingerprint {named}; "
                f"this key is {ours})")
        else:
            report.problems.append(f"{archive.MANIFEST}: the signature does not match: the "
                                   "manifest was changed after it was signed")
        return False
    return True


def _check_part(backup_id: str, part: dict) -> str | None:
    storage = store.storage()
    name = store.path(backup_id, part["name"])
    if not storage.exists(name):
        return "missing"
    digest, size = hashlib.sha256(), 0
    with storage.open(name, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    if size != part["bytes"]:
        return f"{size} bytes, the manifest says {part['bytes']} (truncated or changed)"
    if digest.hexdigest() != part["sha256"]:
        return "its SHA-256 differs from the manifest's (changed)"
    return None
