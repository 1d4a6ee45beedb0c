"""Where signed checkpoints of the chain head are kept: an append-only place outside the
database, so that whoever can rewrite the database cannot rewrite them too.

The default is a directory (AUDIT_CHECKPOINT_DIR) with one file per checkpoint, created
once and never overwritten. Another place (an S3 bucket with object lock, a WORM share)
is a class with the same three methods, named by AUDIT_CHECKPOINT_STORE.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

_NAME = re.compile(r"^checkpoint-(?:e(\d{4})-)?(\d{16})\.json$")


class CheckpointExists(Exception):
    """A checkpoint of that name is already kept; it is never replaced."""


class CheckpointStore(Protocol):
    location: str

    def add(self, name: str, data: bytes) -> str:
        """Keep `data` under `name`, or raise CheckpointExists. Returns where it went."""

    def names(self) -> list[str]:
        """Every kept name, oldest (lowest seq) first."""

    def read(self, name: str) -> bytes: ...


def name_for(seq: int, era: int = 0) -> str:
    # Zero-padded, and after a restore in place prefixed by the era: name order is
    # (era, seq) order ("checkpoint-0..." sorts before "checkpoint-e...").
    if era:
        return f"checkpoint-e{era:04d}-{seq:016d}.json"
    return f"checkpoint-{seq:016d}.json"


def seq_of(name: str) -> int | None:
    found = _NAME.match(name)
    return int(found.group(2)) if found else None


def era_of(name: str) -> int:
    found = _NAME.match(name)
    return int(found.group(1) or 0) if found else 0


class DirectoryStore:
    """One file per checkpoint, created with O_EXCL and left read-only (0400).

    On Linux, `chattr +a` on the directory (by root) also stops the service's own user from
    deleting or renaming what it wrote."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.location = str(self.path)

    def add(self, name: str, data: bytes) -> str:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.path / name
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CheckpointExists(name) from None
        try:
            os.write(fd, data)
            os.fsync(fd)
            os.fchmod(fd, 0o400)
        finally:
            os.close(fd)
        self._sync_directory()
        return str(target)

    def _sync_directory(self) -> None:
        # The new name must survive a crash as well as the file's bytes.
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def names(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return sorted(n for n in os.listdir(self.path) if seq_of(n) is not None)

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()


def store() -> CheckpointStore:
    """The configured store (read at each call, so a test or a command may point it away)."""
    dotted = getattr(settings, "AUDIT_CHECKPOINT_STORE", "")
    if dotted:
        return import_string(dotted)()
    return DirectoryStore(settings.AUDIT_CHECKPOINT_DIR)
