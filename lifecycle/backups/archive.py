"""What a backup is made of, and how each part is written and read.

A backup is a folder in the backup storage (Django's storage API: a directory under
var/backups by default, an S3 bucket through django-storages in production):

    <id>/manifest.json          what the backup holds: every part with rows, bytes, SHA-256
    <id>/manifest.sig           Ed25519 signature of manifest.json by the deployment
    <id>/data/<table>.jsonl.gz.age       the rows of one table of the records database
    <id>/data/files.tar.age              the encrypted photo and form files, as stored
    <id>/keystore/<table>.jsonl.gz.age   the wrapped data keys (the vault database)

Rows are copied as the database holds them: encrypted fields stay ciphertext, and nothing
is decrypted. Every part is encrypted with age (X25519) — the data parts to one identity
and the key store to another, both kept in the keyring — so that a stolen data backup
opens nothing, not even the client codes and the audit metadata beside the ciphertext.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import gzip
import hashlib
import io
import json
import uuid
from collections.abc import Iterable, Iterator

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FORMAT = 1


# -- values -------------------------------------------------------------------------------
def encode(value):
    """A column value as JSON: plain types as they are, the others tagged."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {"b": base64.b64encode(bytes(value)).decode()}
    if hasattr(value, "blob"):  # an encrypted field's stored ciphertext
        return {"b": base64.b64encode(value.blob).decode()}
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, dt.time):
        return {"t": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"td": value.total_seconds()}
    if isinstance(value, decimal.Decimal):
        return {"dec": str(value)}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, dict | list):
        return {"j": value}
    # Anything else (a time zone, say) as its text; the field reads it back on restore.
    return {"s": str(value)}


_DECODE = {
    "b": base64.b64decode, "dt": dt.datetime.fromisoformat, "d": dt.date.fromisoformat,
    "t": dt.time.fromisoformat, "td": lambda s: dt.timedelta(seconds=s),
    "dec": decimal.Decimal, "u": uuid.UUID, "j": lambda v: v, "s": str,
}


def decode(value):
    if isinstance(value, dict):
        ((tag, inner),) = value.items()
        return _DECODE[tag](inner)
    return value


# -- table parts ----------------------------------------------------------------------------
def table_lines(table: str, columns: list[str], rows: Iterable[tuple]) -> Iterator[bytes]:
    """The JSON Lines of one table: a header naming the table and columns, then one line
    per row."""
    yield json.dumps({"table": table, "columns": columns}).encode() + b"\n"
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for row in rows:
        yield dumps([encode(v) for v in row]).encode() + b"\n"


def read_table(stream) -> tuple[dict, Iterator[list]]:
    """(header, rows) of a decrypted, gunzipped table part."""
    lines = io.TextIOWrapper(gzip.GzipFile(fileobj=stream), encoding="utf-8")
    header = json.loads(lines.readline())
    return header, ([decode(v) for v in json.loads(line)] for line in lines)


# -- the manifest ---------------------------------------------------------------------------
def manifest_bytes(manifest: dict) -> bytes:
    return json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False).encode()


class HashingWriter(io.RawIOBase):
    """A writable file that hashes and counts what passes through it."""

    def __init__(self, target):
        self.target, self.sha256, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self.sha256.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)
