"""A signed checkpoint of the audit chain's head, as a file anyone can verify offline.

This module needs only the standard library and `cryptography`, so it can be copied out of
the project and run on its own, with the deployment's public key and nothing else:

    python checkpoint_file.py CHECKPOINT.json --public-key KEY

KEY is the base64 (or hex) public key that `manage.py audit_checkpoint --public-key` and
`manage.py vault_status` print. The exit status is 0 when the file's signature verifies.

A checkpoint says: at time `at`, the chain's head was event `seq` with hash `hash`, and the
database kept `count` events of the chain. After a backup was restored in place, the
checkpoints carry an `era` (one more per restore) and the first of an era names the
`restored_head`: the event the restored chain ended at. Checkpoints of earlier eras past
that event describe a chain the restore rolled back, and bind no more. It is signed with the deployment's Ed25519 key,
which lives with the keyring, never in the database, so whoever can rewrite the database
cannot make a checkpoint that agrees with their rewrite.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from dataclasses import asdict, dataclass, replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "salon-vault-audit-checkpoint-1"
# Distinct from the retention checkpoint's statement, so no signature serves as the other.
_PREFIX = "salon-vault-audit-head"


class InvalidCheckpoint(Exception):
    """The file is not a checkpoint, or its signature does not verify under the key."""


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    at: str  # UTC, ISO 8601 with microseconds and "Z"
    count: int
    key_id: str = ""
    signature: str = ""
    era: int = 0
    restored_head: int | None = None  # on the first checkpoint after a restore

    def statement(self) -> bytes:
        base = f"{_PREFIX}|{self.seq}|{self.hash}|{self.at}|{self.count}"
        if self.era or self.restored_head is not None:
            base += f"|era={self.era}|restored={self.restored_head}"
        return base.encode()


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """The key's id: the first 16 hex digits of SHA-256 over the raw public key."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public(key)).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key as printed (base64), or as 64 hex digits."""
    text = text.strip()
    try:
        raw = (bytes.fromhex(text) if len(text) == 64
               else base64.b64decode(text, validate=True))
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error):
        raise InvalidCheckpoint("not an Ed25519 public key (base64 or hex)") from None


def sign(head: Head, private: Ed25519PrivateKey) -> Head:
    return replace(head, key_id=fingerprint(private.public_key()),
                   signature=private.sign(head.statement()).hex())


def dumps(head: Head) -> bytes:
    fields = asdict(head)
    if not head.era and head.restored_head is None:  # as every checkpoint before restores
        del fields["era"], fields["restored_head"]
    return (json.dumps({"format": FORMAT, **fields}, indent=1) + "\n").encode()


def loads(data: bytes) -> Head:
    try:
        fields = json.loads(data)
        if fields.pop("format") != FORMAT:
            raise InvalidCheckpoint("not an audit checkpoint file")
        head = Head(**fields)
        if type(head.seq) is not int or type(head.count) is not int or type(head.era) is not int:
            raise InvalidCheckpoint("seq, count and era must be integers")
        return head
    except (ValueError, TypeError, KeyError, AttributeError):
        raise InvalidCheckpoint("not an audit checkpoint file") from None


def verify(data: bytes, public: Ed25519PublicKey) -> Head:
    """The checkpoint in `data`, or InvalidCheckpoint when it is not signed by `public`."""
    head = loads(data)
    if head.key_id != fingerprint(public):
        raise InvalidCheckpoint(f"signed by key {head.key_id}, not {fingerprint(public)}")
    try:
        public.verify(bytes.fromhex(head.signature), head.statement())
    except (InvalidSignature, ValueError):
        raise InvalidCheckpoint("the signature does not verify") from None
    return head


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a signed audit checkpoint file.")
    parser.add_argument("file")
    parser.add_argument("--public-key", required=True, help="base64 or hex Ed25519 key")
    args = parser.parse_args(argv)
    try:
        with open(args.file, "rb") as f:
            head = verify(f.read(), parse_public_key(args.public_key))
    except (OSError, InvalidCheckpoint) as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    era = (f", era {head.era}" + (f" (restored to #{head.restored_head})"
                                  if head.restored_head is not None else "")) if head.era else ""
    print(f"valid: head #{head.seq} {head.hash} at {head.at}, {head.count} events, "
          f"key {head.key_id}{era}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
