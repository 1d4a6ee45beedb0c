"""Undoing what a rolled-back transaction cannot: new data keys and sealed files.

A new subject's data key is written to the `vault` database, and a sealed file to the file
store, before the rows that use them are committed in `default`. When that transaction
rolls back, the key and the file would stay behind for nobody: key material and ciphertext
of personal data that no row points to, which neither shredding nor retention would ever
find.

Django has commit hooks but no rollback hooks. A callback given to ``on_commit`` is dropped
unrun when its transaction, or the savepoint it was registered in, rolls back; Django then
lets go of it. So the undo is attached to the callback's lifetime (``weakref.finalize``):
freed without having been called means rolled back, and CPython frees it at the moment
Django clears its list. Outside a transaction there is nothing to undo: the row's own write
follows at once, and the caller wraps the two in a transaction when both matter.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable

from django.db import DatabaseError, transaction

log = logging.getLogger(__name__)

RECORDS_DB = "default"  # the rows that use keys and files live here (vault.routers)


class _CommitMark:
    __slots__ = ("__weakref__", "state")

    def __init__(self, state: dict) -> None:
        self.state = state

    def __call__(self) -> None:
        self.state["committed"] = True


def _undo_unless_committed(state: dict, undo: Callable[[], None], what: str) -> None:
    if state["committed"]:
        return
    try:
        undo()
    except (DatabaseError, OSError) as exc:
        # A finalizer cannot raise: say so, without ids, and leave the rest to the caller.
        log.warning("could not remove the %s of a rolled-back write: %s", what,
                    type(exc).__name__)


def undo_on_rollback(undo: Callable[[], None], *, what: str) -> None:
    """Run `undo` if the current transaction in the records database rolls back."""
    if not transaction.get_connection(RECORDS_DB).in_atomic_block:
        return
    state = {"committed": False}
    mark = _CommitMark(state)
    weakref.finalize(mark, _undo_unless_committed, state, undo, what)
    transaction.on_commit(mark, using=RECORDS_DB)
