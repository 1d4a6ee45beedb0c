"""Key-encryption keys (KEKs), kept outside the database behind a small provider interface.

A keyring holds numbered KEK versions, exactly one of which is primary, and the blind
index key (which is never used to encrypt data). The embedded default is a JSON file
created by ``manage.py vault_init``; production can pass the same JSON through an
environment variable or a mounted secret (``SALON_VAULT_KEYRING=env:VARNAME``). A KMS or
HashiCorp Vault transit provider can be added by implementing ``KeyProvider``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from django.conf import settings

from .errors import KeyringError

KEY_BYTES = 32
FORMAT = 1


class KeyProvider(Protocol):
    def primary_version(self) -> int: ...

    def versions(self) -> list[int]: ...

    def kek(self, version: int) -> bytes: ...

    def index_key(self) -> bytes: ...

    def signing_key(self) -> bytes: ...


@dataclass
class Keyring:
    """The parsed contents of a keyring; the file and env providers share it."""

    primary: int
    keks: dict[int, bytes]
    index: bytes
    signing: bytes | None = field(default=None, repr=False)
    source: str = field(default="", repr=False)

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(primary={self.primary}, versions={sorted(self.keks)}, source={self.source!r})"

    def primary_version(self) -> int:
        return self.primary

    def versions(self) -> list[int]:
        return sorted(self.keks)

    def kek(self, version: int) -> bytes:
        try:
            return self.keks[version]
        except KeyError:
            raise KeyringError(f"KEK version {version} is not in the keyring") from None

    def index_key(self) -> bytes:
        return self.index

    def signing_key(self) -> bytes:
        """The Ed25519 seed that signs audit checkpoints (not a data key)."""
        if self.signing is None:
            raise KeyringError(f"keyring at {self.source} holds no signing key; "
                               "add one with `manage.py vault_init --add-signing-key`")
        return self.signing

    @classmethod
    def generate(cls) -> Keyring:
        return cls(primary=1, keks={1: secrets.token_bytes(KEY_BYTES)},
                   index=secrets.token_bytes(KEY_BYTES), signing=secrets.token_bytes(KEY_BYTES))

    @classmethod
    def loads(cls, text: str, *, source: str) -> Keyring:
        try:
            data = json.loads(text)
            if data.get("format", FORMAT) != FORMAT:
                raise KeyringError(f"keyring at {source} has unknown format {data.get('format')!r}")
            keks = {int(v): base64.b64decode(k, validate=True) for v, k in data["keks"].items()}
            signing = data.get("audit_signing_key")
            ring = cls(primary=int(data["primary"]), keks=keks,
                       index=base64.b64decode(data["index_key"], validate=True),
                       signing=base64.b64decode(signing, validate=True) if signing else None,
                       source=source)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(f"keyring at {source} is malformed ({type(exc).__name__})") from None
        if ring.primary not in ring.keks:
            raise KeyringError(f"keyring at {source} names primary {ring.primary} it does not hold")
        held = [*ring.keks.values(), ring.index, *([ring.signing] if ring.signing else [])]
        if any(len(k) != KEY_BYTES for k in held):
            raise KeyringError(f"keyring at {source} holds a key that is not {KEY_BYTES} bytes")
        return ring

    def dumps(self) -> str:
        return json.dumps({
            "format": FORMAT,
            "primary": self.primary,
            "keks": {str(v): base64.b64encode(k).decode() for v, k in sorted(self.keks.items())},
            "index_key": base64.b64encode(self.index).decode(),
            **({"audit_signing_key": base64.b64encode(self.signing).decode()}
               if self.signing else {}),
        }, indent=2)


def _source() -> str:
    return str(settings.SALON_VAULT_KEYRING)


def load(source: str | None = None) -> Keyring:
    source = source or _source()
    if source.startswith("env:"):
        name = source[4:]
        text = os.environ.get(name)
        if not text:
            raise KeyringError(f"environment variable {name} holds no keyring")
        return Keyring.loads(text, source=source)
    path = Path(source.removeprefix("file:"))
    if not path.exists():
        raise KeyringError(f"no keyring at {path}; run `manage.py vault_init` to create one")
    return Keyring.loads(path.read_text(), source=str(path))


def write_file(ring: Keyring, path: Path) -> None:
    """Write the keyring atomically with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a stale temp file may have had looser permissions
    with os.fdopen(fd, "w") as fh:
        fh.write(ring.dumps())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@lru_cache(maxsize=1)
def provider() -> KeyProvider:
    """The process-wide key provider. ``reset()`` after the keyring changes."""
    return load()


def reset() -> None:
    provider.cache_clear()
