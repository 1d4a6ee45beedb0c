"""The recipient's receipt for a transfer package, and its check on the seller's side.

`transfer_import` signs it with the receiving deployment's Ed25519 key once the package is
in. It names the package and the SHA-256 of its manifest (which only someone who opened
the package can know) and what was imported. The seller uploads it to the case: it must
name the package the seller handed over, with the same manifest and the same counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import package

FORMAT = "salon-vault-transfer-receipt-1"


class InvalidReceipt(Exception):
    """Not a receipt for this package, or its signature does not verify."""


def manifest_sha256(manifest: dict) -> str:
    return hashlib.sha256(package.canonical(manifest)).hexdigest()


def make(manifest: dict, *, counts: dict, signer: Ed25519PrivateKey, recipient: str) -> dict:
    public = signer.public_key()
    statement = {
        "format": FORMAT, "package_id": manifest["package_id"],
        "manifest_sha256": manifest_sha256(manifest),
        "case_id": manifest["header"].get("case_id"), "counts": dict(sorted(counts.items())),
        "recipient": recipient,
        "imported_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "receiver_key": package.public_key_text(public),
        "receiver_fingerprint": package.fingerprint(public),
    }
    return statement | {"signature": signer.sign(package.canonical(statement)).hex()}


def dumps(signed: dict) -> bytes:
    return json.dumps(signed, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"


def check(data: bytes, *, manifest: dict) -> dict:
    """The receipt, if it is signed and names this package, manifest and counts."""
    try:
        signed = json.loads(data)
        statement = {k: v for k, v in signed.items() if k != "signature"}
        key = package.parse_public_key(signed["receiver_key"])
        key.verify(bytes.fromhex(signed["signature"]), package.canonical(statement))
    except (ValueError, KeyError, TypeError, AttributeError, InvalidSignature,
            package.InvalidKey):
        raise InvalidReceipt("not a signed transfer receipt") from None
    if statement.get("format") != FORMAT:
        raise InvalidReceipt("not a transfer receipt")
    if statement.get("package_id") != manifest.get("package_id"):
        raise InvalidReceipt("the receipt is for another package")
    if statement.get("manifest_sha256") != manifest.get("manifest_sha256"):
        raise InvalidReceipt("the receipt names another manifest")
    if statement.get("counts") != dict(sorted(manifest.get("counts", {}).items())):
        raise InvalidReceipt("the receipt's counts differ from the package's")
    return signed
