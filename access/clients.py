"""What access needs of clients, answered by the app that keeps them.

Access decides about clients but does not own their model: records registers a
directory at start-up (records.apps), so access never reads or writes records' tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol


class ClientDirectory(Protocol):
    def codes(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Client codes (L1, no personal content) of the given ids."""

    def by_code(self, code: str):
        """The client with this code, or None."""

    def unassign_all(self, user) -> int:
        """Take every client off the user's list of assigned clients."""


_directory: ClientDirectory | None = None


def register(directory: ClientDirectory) -> None:
    global _directory  # set once, at start-up
    _directory = directory


def directory() -> ClientDirectory:
    if _directory is None:
        raise LookupError("no client directory registered (records is not installed)")
    return _directory
