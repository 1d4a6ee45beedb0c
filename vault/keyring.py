"""Key-encryption keys (KEKs), kept outside the database behind a small provider interface.

A keyring holds numbered KEK versions, exactly one of which is primary, and the blind
index key (which is never used to encrypt data). The embedded default is a JSON file
created by ``manage.py vault_init``; production can pass the same JSON through an
environment variable or a mounted secret (``SALON_VAULT_KEYRING=env:VARNAME``). A KMS or
HashiCorp Vault transit provider can be added by implementing ``KeyProvider``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from django.conf import settings

from .errors import KeyringError

KEY_BYTES = 32
FORMAT = 1
BACKUP_PARTS = ("data", "keystore")


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
    # KEK versions that no longer wrap new data keys, with when they stopped (ISO 8601, UTC):
    # kept until no data key and no backup inside the backup horizon needs them.
    retired: dict[int, str] = field(default_factory=dict, repr=False)
    # age identities (X25519) that backups are encrypted to: one for the data, another for
    # the key store, so that neither part opens the other (lifecycle/backups).
    backup_identities: dict[str, str] = field(default_factory=dict, repr=False)

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

    def with_new_primary(self) -> Keyring:
        """A copy with a fresh KEK version made primary; the old primary is marked retired
        now, and every version is kept (data keys are rewrapped after this is written)."""
        version = max(self.keks) + 1
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return Keyring(primary=version, keks={**self.keks, version: secrets.token_bytes(KEY_BYTES)},
                       index=self.index, signing=self.signing, source=self.source,
                       retired={**self.retired, self.primary: now},
                       backup_identities=self.backup_identities)

    def without(self, versions: list[int]) -> Keyring:
        """A copy with the given retired versions destroyed (never the primary)."""
        if self.primary in versions:
            raise KeyringError(f"KEK version {self.primary} is primary and cannot be destroyed")
        return Keyring(primary=self.primary,
                       keks={v: k for v, k in self.keks.items() if v not in versions},
                       index=self.index, signing=self.signing, source=self.source,
                       retired={v: at for v, at in self.retired.items() if v not in versions},
                       backup_identities=self.backup_identities)

    def retired_at(self, version: int) -> dt.datetime | None:
        at = self.retired.get(version)
        return dt.datetime.fromisoformat(at) if at else None

    def backup_identity(self, part: str) -> str:
        """The age identity (AGE-SECRET-KEY-...) backups' `part` ("data" or "keystore") is
        encrypted to."""
        try:
            return self.backup_identities[part]
        except KeyError:
            raise KeyringError(f"keyring at {self.source} holds no backup key; add one with "
                               "`manage.py vault_init --add-backup-keys`") from None

    @staticmethod
    def new_backup_identities() -> dict[str, str]:
        from pyrage import x25519

        return {part: str(x25519.Identity.generate()) for part in BACKUP_PARTS}

    @classmethod
    def generate(cls) -> Keyring:
        return cls(primary=1, keks={1: secrets.token_bytes(KEY_BYTES)},
                   index=secrets.token_bytes(KEY_BYTES), signing=secrets.token_bytes(KEY_BYTES),
                   backup_identities=cls.new_backup_identities())

    @classmethod
    def loads(cls, text: str, *, source: str) -> Keyring:
        try:
            data = json.loads(text)
            if data.get("format", FORMAT) != FORMAT:
                raise KeyringError(f"keyring at {source} has unknown format {data.get('format')!r}")
            keks = {int(v): base64.b64decode(k, validate=True) for v, k in data["keks"].items()}
            signing = data.get("audit_signing_key")
            retired = {int(v): str(at) for v, at in data.get("retired", {}).items()}
            backups = {str(k): str(v) for k, v in data.get("backup_identities", {}).items()}
            if any(not v.startswith("AGE-SECRET-KEY-") for v in backups.values()):
                raise ValueError("backup identity")
            for at in retired.values():
                dt.datetime.fromisoformat(at)
            ring = cls(primary=int(data["primary"]), keks=keks,
                       index=base64.b64decode(data["index_key"], validate=True),
                       signing=base64.b64decode(signing, validate=True) if signing else None,
                       source=source, retired=retired, backup_identities=backups)
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
            **({"retired": {str(v): at for v, at in sorted(self.retired.items())}}
               if self.retired else {}),
            **({"backup_identities": dict(sorted(self.backup_identities.items()))}
               if self.backup_identities else {}),
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


def file_path(source: str | None = None) -> Path | None:
    """The keyring file, or None when the keyring comes from the environment."""
    source = source or _source()
    return None if source.startswith("env:") else Path(source.removeprefix("file:"))


# The process-wide keyring. A file is looked at again (one stat) at most once a second, so
# that every process takes up a rotation's new primary version within a second of it being
# written; `holding()` reloads at once when a data key names a version not yet seen.
FRESHNESS_SECONDS = 1.0
_cache: dict[str, object] = {}
_lock = threading.Lock()


def _stamp(path: Path | None) -> tuple | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def provider() -> KeyProvider:
    """The process-wide key provider. ``reset()`` after the keyring changes."""
    ring = _cache.get("ring")
    now = time.monotonic()
    if ring is not None and now < _cache["checked"] + FRESHNESS_SECONDS:
        return ring
    with _lock:
        path = file_path()
        stamp = _stamp(path)
        if ring is None or stamp != _cache.get("stamp"):
            ring = load()
            _cache["ring"], _cache["stamp"] = ring, stamp
        _cache["checked"] = now
        return ring


def holding(version: int) -> KeyProvider:
    """The provider, read again from its source if it does not hold `version` (a rotation
    in another process has just made it); the caller's KeyringError stands if it still
    does not."""
    ring = provider()
    if version not in ring.versions():
        reset()
        ring = provider()
    return ring


def reset() -> None:
    _cache.clear()
