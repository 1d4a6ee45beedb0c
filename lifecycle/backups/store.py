"""Where backups are kept (Django's storage API) and the keys they are sealed with."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core.files.storage import storages
from pyrage import x25519

from audit import checkpoint_file as cpfile
from audit import checkpoints
from vault import keyring

from . import archive

ID_FORMAT = "%Y%m%dT%H%M%SZ"


def storage():
    return storages["backups"]


def new_id(now: dt.datetime) -> str:
    return f"{now.astimezone(dt.UTC):{ID_FORMAT}}-{secrets.token_hex(3)}"


def created_at(backup_id: str) -> dt.datetime:
    return dt.datetime.strptime(backup_id.split("-")[0], ID_FORMAT).replace(tzinfo=dt.UTC)


def path(backup_id: str, name: str) -> str:
    return f"{backup_id}/{name}"


def ids() -> list[str]:
    """Every backup with a manifest, oldest first (one half-written has none)."""
    try:
        folders, _files = storage().listdir("")
    except FileNotFoundError:
        return []
    return sorted(f for f in folders if storage().exists(path(f, archive.MANIFEST)))


def identity(part: str) -> x25519.Identity:
    return x25519.Identity.from_str(keyring.provider().backup_identity(part))


def recipient(part: str) -> x25519.Recipient:
    return identity(part).to_public()


@dataclass(frozen=True)
class Deployment:
    public_key: str
    fingerprint: str


def deployment() -> Deployment:
    key = checkpoints.public_key()
    return Deployment(cpfile.public_key_text(key), cpfile.fingerprint(key))
