"""The keyring must open the data keys the vault holds, or nothing starts.

A keyring that is missing, unreadable, lacks a version, or is a *different* keyring
(regenerated over existing data) would make every record unreadable. Every process — the
web server, Celery worker and beat, `vault_init` and management commands through a system
check — asks :func:`keyring_problem` first and refuses to start with its message, which
names the keyring, the versions the data needs and how to restore it. A new keyring is
only ever made for an empty vault.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connections, router

from . import keyring, keystore
from .errors import IntegrityError, KeyringError
from .models import DataKey

RESTORE_HINT = (
    "Restore the keyring from your key-store backup to {source} (or point "
    "SALON_VAULT_KEYRING at it) and start again. Do not create a new keyring: data keys "
    "can only be opened by the keyring that wrapped them.")


@dataclass(frozen=True)
class KeyringProblem:
    source: str
    needed: list[int]
    reason: str
    readable: bool = True

    def __str__(self) -> str:
        versions = ", ".join(str(v) for v in self.needed)
        return (f"Salon Vault refuses to start: {self.reason}. The vault holds data keys "
                f"wrapped by KEK version(s) {versions}. "
                + RESTORE_HINT.format(source=self.source))


class KeyringMismatch(KeyringError):
    """The keyring cannot open the data keys in the vault; the message says how to fix it."""


def _vault_holds_keys() -> bool:
    alias = router.db_for_read(DataKey)
    try:
        if DataKey._meta.db_table not in connections[alias].introspection.table_names():
            return False  # not migrated yet: an empty vault
        return DataKey.objects.exists()
    except DatabaseError:
        return False  # the database itself is down: the command fails on its own


def needed_versions() -> list[int]:
    return sorted(set(DataKey.objects.values_list("kek_version", flat=True).distinct()))


def _opens(ring: keyring.KeyProvider, version: int) -> bool:
    sample = DataKey.objects.filter(kek_version=version).order_by("pk").first()
    if sample is None:
        return True
    try:
        keystore.unwrap_with(ring, sample)
    except IntegrityError:
        return False
    return True


def _unreadable(source: str, exc: KeyringError) -> str:
    path = Path(source.removeprefix("file:"))
    if not source.startswith("env:") and not path.exists():
        return f"there is no keyring at {path}"
    return f"the keyring cannot be read ({exc})"


def keyring_problem() -> KeyringProblem | None:
    """Why the configured keyring cannot open the vault's data keys, or None when it can."""
    source = str(settings.SALON_VAULT_KEYRING)
    if not _vault_holds_keys():
        return None
    needed = needed_versions()
    try:
        ring = keyring.provider()
    except KeyringError as exc:
        return KeyringProblem(source, needed, _unreadable(source, exc), readable=False)
    where = getattr(ring, "source", "") or source
    missing = [v for v in needed if v not in ring.versions()]
    if missing:
        return KeyringProblem(source, needed, f"the keyring at {where} lacks KEK "
                                              f"version(s) {', '.join(map(str, missing))}")
    wrong = [v for v in needed if not _opens(ring, v)]
    if wrong:
        return KeyringProblem(source, needed, f"KEK version(s) {', '.join(map(str, wrong))} in "
                                              f"{where} do not open the data keys wrapped "
                                              "under them: this is not the keyring the data "
                                              "was sealed with")
    return None


def refuse_to_start_without_keys() -> None:
    """Raise KeyringMismatch with the whole story when the keyring cannot open the vault."""
    problem = keyring_problem()
    if problem is not None:
        raise KeyringMismatch(str(problem))
