"""The unsealing scope: the only place where encrypted attributes turn into plaintext.

A scope names the subjects it may unseal and the highest data class for each. Outside a
scope (or beyond its ceiling) an encrypted attribute is a ``Sealed`` value that prints
``‹sealed›``. Scopes are opened only by the door in ``access/`` after the audit event has
been written; nothing else in the project calls ``_open``.

The scope also holds the unwrapped data keys, so they live exactly as long as the request
or job that opened it. It keeps no plaintext: every read decrypts again.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.utils.html import format_html
from django.utils.translation import gettext

from . import aead, keystore
from .classes import DataClass
from .errors import IntegrityError, SealedError, ShreddedError

SEALED_TEXT = "‹sealed›"


class Sealed:
    """A stored ciphertext standing in for its value outside a scope."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        self.blob = blob

    def __repr__(self) -> str:
        return SEALED_TEXT

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return SEALED_TEXT

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.blob == self.blob

    def __hash__(self) -> int:
        return hash(self.blob)

    def __reduce__(self):
        raise TypeError("sealed values cannot be pickled or sent to a task")


DAMAGED_TEXT = "‹damaged›"


class Damaged(Sealed):
    """A stored value that failed authentication, read where pages show a mark instead.

    It keeps the damaged blob, so a row saved with it (or with it assigned back) stores the
    same bytes again and the damage stays there to be examined: the mark is never data.
    """

    __slots__ = ()
    damaged = True  # what a template asks before formatting a value (a date, a number)

    def __repr__(self) -> str:
        return DAMAGED_TEXT

    def __str__(self) -> str:
        return gettext("⚠ damaged value")

    def __format__(self, spec: str) -> str:
        return str(self)

    def __html__(self) -> str:
        return format_html('<mark class="damaged">{}</mark>', str(self))


class DamageNote(NamedTuple):
    """Where a damaged value was met: ids only, never a value."""

    model: str  # app_label.model_name
    field: str
    row: uuid.UUID | str
    subject: uuid.UUID


_damage: contextvars.ContextVar[list[DamageNote] | None] = contextvars.ContextVar(
    "salon_vault_damage_notes", default=None)


@contextmanager
def damage_shown() -> Iterator[list[DamageNote]]:
    """Inside, a value that fails authentication reads as ``Damaged`` (and a damaged file
    as None) and is noted in the list yielded; outside, it raises IntegrityError.

    Pages use it so that one damaged value does not take the page down; jobs (backups,
    exports, re-keying) do not, so they stop rather than carry a placeholder on."""
    notes: list[DamageNote] = []
    token = _damage.set(notes)
    try:
        yield notes
    finally:
        _damage.reset(token)


def note_damage(note: DamageNote) -> bool:
    """Note a damaged value if damage is being shown here; False when it must raise."""
    notes = _damage.get()
    if notes is None:
        return False
    if note not in notes:
        notes.append(note)
    return True


class UnsealingScope:
    def __init__(self, *, ceilings: Mapping[uuid.UUID, int], default_ceiling: int,
                 actor: str, purpose: str, may_create_keys: bool,
                 confirm: Callable[[], object] | None = None) -> None:
        self._ceilings = dict(ceilings)
        # The door's check that the opening's event is committed (write-behind): no data
        # key enters the scope before it has returned; if it raises, none ever does.
        self._confirm = confirm
        self._default = int(default_ceiling)
        self.actor = actor
        self.purpose = purpose
        self._may_create = may_create_keys
        self._keys: dict[tuple[uuid.UUID, int], AESGCM] = {}
        self._current: dict[uuid.UUID, int] = {}
        # The same keys for the hot paths: by the header bytes that name them (subject and
        # generation), and each subject's current key with its header built once.
        self._by_header: dict[bytes, AESGCM] = {}
        self._sealing: dict[uuid.UUID, tuple[bytes, AESGCM]] = {}

    def __repr__(self) -> str:
        return f"<UnsealingScope actor={self.actor!r} purpose={self.purpose!r}>"

    def ceiling(self, subject: uuid.UUID) -> int:
        return self._ceilings.get(subject, self._default)

    def allows(self, subject: uuid.UUID, data_class: int) -> bool:
        return data_class <= self.ceiling(subject)

    def _confirmed(self) -> None:
        if self._confirm is not None:
            self._confirm()
            self._confirm = None

    def prefetch(self, subjects: Iterable[uuid.UUID]) -> None:
        """Unwrap the keys of many subjects in one query (list pages, jobs)."""
        self._confirmed()
        missing = {s for s in subjects if s not in self._current}
        if not missing:
            return
        for (subject, gen), cipher in keystore.load(missing).items():
            self._add_key(subject, gen, cipher)

    def create_keys(self, subjects: Iterable[uuid.UUID]) -> None:
        """Create data keys for new subjects in one write (bulk imports, demo data)."""
        if not self._may_create:
            raise SealedError("this scope may not create data keys")
        self._confirmed()
        for subject, (gen, cipher) in keystore.create(subjects).items():
            self._add_key(subject, gen, cipher)

    def _add_key(self, subject: uuid.UUID, generation: int, cipher: AESGCM) -> None:
        self._keys[(subject, generation)] = cipher
        head = aead.header(aead.KeyId(subject, generation))
        self._by_header[head[3:aead.HEADER_BYTES]] = cipher
        if generation >= self._current.get(subject, 0):
            self._current[subject] = generation
            self._sealing[subject] = (head, cipher)

    def cipher(self, subject: uuid.UUID, generation: int) -> AESGCM:
        if (subject, generation) not in self._keys:
            self.prefetch([subject])
        try:
            return self._keys[(subject, generation)]
        except KeyError:
            if subject in self._current:
                raise IntegrityError("ciphertext names a key generation that never existed") from None
            raise ShreddedError("no data key for this value: it has been shredded") from None

    def sealing_cipher(self, subject: uuid.UUID) -> tuple[int, AESGCM]:
        if subject not in self._current:
            self.prefetch([subject])
        if subject not in self._current:
            self.create_keys([subject])
        gen = self._current[subject]
        return gen, self._keys[(subject, gen)]

    def sealing_key(self, subject: uuid.UUID) -> tuple[bytes, AESGCM]:
        """The header and cipher that new values of `subject` are sealed with."""
        found = self._sealing.get(subject)
        if found is None:
            self.sealing_cipher(subject)
            found = self._sealing[subject]
        return found

    def close(self) -> None:
        self._keys.clear()
        self._current.clear()
        self._by_header.clear()
        self._sealing.clear()


_scope: contextvars.ContextVar[UnsealingScope | None] = contextvars.ContextVar(
    "salon_vault_unsealing_scope", default=None)


def current() -> UnsealingScope | None:
    return _scope.get()


@contextmanager
def _open(*, ceilings: Mapping[uuid.UUID, int] | None = None,
          default_ceiling: int = DataClass.NONE, actor: str, purpose: str,
          may_create_keys: bool = False,
          confirm: Callable[[], object] | None = None) -> Iterator[UnsealingScope]:
    """Open a scope. Only ``access.door`` calls this, after audit has recorded the access,
    or with `confirm`, which returns once it has (and raises if it could not be)."""
    scope = UnsealingScope(ceilings=ceilings or {}, default_ceiling=default_ceiling,
                           actor=actor, purpose=purpose, may_create_keys=may_create_keys,
                           confirm=confirm)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)
        scope.close()
