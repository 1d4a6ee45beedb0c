"""A destruction certificate, as a file anyone can verify offline.

Like audit/checkpoint_file.py, this module needs only the standard library and
`cryptography`, so it can be copied out of the project and run on its own with the
deployment's public key (printed by `manage.py vault_status`):

    python certificate_file.py CERTIFICATE.json --public-key KEY

The certificate says what was destroyed (the client's code and id, the data key
generations shredded, how many records and files were deleted), when, why and on whose
request and approval; it holds no personal data. It is signed with the deployment's
Ed25519 key over its canonical JSON.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "salon-vault-destruction-certificate-1"


class InvalidCertificate(Exception):
    """Not a certificate, or its signature does not verify under the key."""


def canonical(statement: dict) -> bytes:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def fingerprint(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def sign(statement: dict, private: Ed25519PrivateKey) -> dict:
    statement = {**statement, "format": FORMAT, "key_id": fingerprint(private.public_key())}
    return {"certificate": statement,
            "signature": private.sign(canonical(statement)).hex()}


def dumps(signed: dict) -> bytes:
    return (json.dumps(signed, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error):
        raise InvalidCertificate("not an Ed25519 public key (base64 or hex)") from None


def from_pdf(data: bytes) -> dict:
    """The signed certificate a certificate PDF carries as its attachment (stored
    uncompressed, so no PDF library is needed to find it)."""
    start = data.find(b'{\n "certificate"')
    if start < 0:
        raise InvalidCertificate("this PDF carries no signed certificate")
    try:
        signed, _ = json.JSONDecoder().raw_decode(data[start:].decode("utf-8", "replace"))
    except ValueError:
        raise InvalidCertificate("the certificate attached to this PDF is damaged") from None
    return signed


def verify(data: bytes, public: Ed25519PublicKey) -> dict:
    """The certificate's statement (from the JSON file or the PDF), or InvalidCertificate."""
    try:
        signed = from_pdf(data) if data.startswith(b"%PDF") else json.loads(data)
        statement, signature = signed["certificate"], bytes.fromhex(signed["signature"])
        if statement.get("format") != FORMAT:
            raise InvalidCertificate("not a destruction certificate")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidCertificate("not a destruction certificate") from None
    if statement.get("key_id") != fingerprint(public):
        raise InvalidCertificate(f"signed by key {statement.get('key_id')}, "
                                 f"not {fingerprint(public)}")
    try:
        public.verify(signature, canonical(statement))
    except InvalidSignature:
        raise InvalidCertificate("the signature does not verify: the certificate was "
                                 "changed after it was signed") from None
    return statement


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a destruction certificate file.")
    parser.add_argument("file")
    parser.add_argument("--public-key", required=True, help="base64 or hex Ed25519 key")
    args = parser.parse_args(argv)
    try:
        with open(args.file, "rb") as fh:
            statement = verify(fh.read(), parse_public_key(args.public_key))
    except (OSError, InvalidCertificate) as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(f"valid: client {statement['client_code']} destroyed at {statement['destroyed_at']}, "
          f"{len(statement['key_ids'])} data keys shredded, key {statement['key_id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
