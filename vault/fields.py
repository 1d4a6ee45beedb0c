"""Encrypted model fields.

Each field stores AES-GCM ciphertext sealed with the data key of the row's *subject*
(the client it belongs to) and bound to model, field, row and subject. Reading the
attribute yields plaintext only inside an unsealing scope that allows the subject and the
field's data class; elsewhere it yields ``Sealed``, which prints ``‹sealed›``.

A model with encrypted fields names its subject with ``VAULT_SUBJECT_FIELD`` ("pk" for
the client itself, "client_id" for its treatments, photos and forms).

Encrypted fields cannot be used in lookups other than ``isnull``: search goes through
``BlindIndexField``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.utils.functional import cached_property

from . import aead, blind, rollback
from .classes import DataClass
from .errors import IntegrityError, SealedError
from .scope import SEALED_TEXT, Damaged, DamageNote, Sealed, _scope, current, note_damage


def _subject(instance: models.Model) -> uuid.UUID:
    subject = getattr(instance, instance.VAULT_SUBJECT_FIELD)
    if subject is None:
        raise SealedError(f"{type(instance).__name__} has no subject to seal its fields with")
    return subject if isinstance(subject, uuid.UUID) else uuid.UUID(str(subject))


class Pending(Sealed):
    """A value assigned in code. It prints ``‹sealed›`` like a stored one and reads back only
    inside a scope that allows it, so an instance handed back by a service does not keep
    plaintext readable after its scope has closed. Once sealed it also keeps its blob and
    the context the blob is bound to, so a second save does not encrypt again."""

    __slots__ = ("value", "context", "dirty")

    def __init__(self, value) -> None:
        self.blob = b""
        self.value = value
        self.context = b""
        self.dirty = True  # assigned and not yet saved

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


_BINDING = "_vault_binding"
_PREFIX, _OVERHEAD = aead._PREFIX, aead.OVERHEAD
_HEADER = aead.HEADER_BYTES


class SealedAttribute(DeferredAttribute):
    """Data descriptor: the stored value is unsealed on read when the scope allows it."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        field = self.field
        data = instance.__dict__
        try:
            raw = data[field.attname]
        except KeyError:  # deferred: Django loads it
            raw = super().__get__(instance, cls)
        kind = type(raw)
        if kind is not Sealed and kind is not Pending:
            return raw
        scope = _scope.get()
        if scope is None:
            return raw
        # This runs for every value a page shows, so the steps of _binding and of finding
        # the key and decrypting are written out here, once.
        pk_name, subject_name, prefix = field._binding_names
        ids = data.get(_BINDING)
        if ids is None or ids[0] is not data.get(pk_name) or ids[1] is not data.get(subject_name):
            field._binding(instance)
            ids = data[_BINDING]
        if scope._ceilings.get(ids[3], scope._default) < field._level:
            return raw
        if kind is Pending:
            return raw.value
        # Every read decrypts (1 µs): cheaper than a memo of plaintext, and nothing
        # decrypted outlives the read in the scope.
        blob = raw.blob
        context = prefix + ids[2]
        try:
            if blob[:3] != _PREFIX or len(blob) < _OVERHEAD:
                raise IntegrityError("ciphertext has an unknown header or is too short")
            if blob[3:19] != ids[4]:
                raise IntegrityError("ciphertext belongs to another subject")
            cipher = scope._by_header.get(blob[3:_HEADER])
            if cipher is None:
                cipher = scope.cipher(ids[3], int.from_bytes(blob[19:_HEADER], "big"))
            plain = aead.open_(cipher, blob, context)
        except IntegrityError:
            if note_damage(DamageNote(instance._meta.label_lower, field.name, ids[0], ids[3])):
                return Damaged(blob)
            raise
        return plain.decode() if field._text else field.decode(plain)

    def __set__(self, instance, value):
        if value is not None and not isinstance(value, Sealed):
            value = None if value == "" else Pending(value)
        instance.__dict__[self.field.attname] = value


class EncryptedField(models.BinaryField):
    descriptor_class = SealedAttribute

    def __init__(self, *args, data_class: int, **kwargs):
        if data_class not in (DataClass.L2, DataClass.L3, DataClass.L4):
            raise ValueError("encrypted fields hold L2, L3 or L4 data")
        self.data_class = DataClass(data_class)
        self._level = int(data_class)
        self._text = False  # stored as UTF-8 text and read back as str
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["data_class"] = int(self.data_class)
        for default in ("null", "blank"):
            kwargs.pop(default, None)
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    # -- encoding of plaintext, per type --------------------------------------------
    def encode(self, value) -> bytes:
        return str(value).encode()

    def decode(self, data: bytes):
        return data.decode()

    def typed(self, value, encoded: bytes):
        """The value as it reads back once stored (a date, a Decimal)."""
        return self.decode(encoded)

    # -- binding ----------------------------------------------------------------------
    @cached_property
    def _binding_names(self) -> tuple[str, str, bytes]:
        meta = self.model._meta
        subject = self.model.VAULT_SUBJECT_FIELD
        return (meta.pk.attname, meta.pk.attname if subject == "pk" else subject,
                f"{meta.label_lower}|{self.name}|".encode())

    def _binding(self, instance) -> tuple[bytes, uuid.UUID, bytes]:
        """The binding context "model|field|row|subject", the subject and its bytes.

        The row and subject part is kept on the instance while its ids stay the same
        objects, so the fields of one row format their UUIDs once."""
        pk_name, subject_name, prefix = self._binding_names
        data = instance.__dict__
        pk, subject = data.get(pk_name), data.get(subject_name)
        ids = data.get(_BINDING)
        if ids is None or ids[0] is not pk or ids[1] is not subject:
            if subject is None:
                raise SealedError(f"{type(instance).__name__} has no subject to seal its fields with")
            as_uuid = subject if isinstance(subject, uuid.UUID) else uuid.UUID(str(subject))
            subject_text = str(as_uuid)
            row_text = subject_text if pk is subject else str(pk)
            ids = (pk, subject, f"{row_text}|{subject_text}".encode(), as_uuid, as_uuid.bytes)
            data[_BINDING] = ids
        return prefix + ids[2], ids[3], ids[4]

    # -- sealing ----------------------------------------------------------------------
    def seal(self, instance, value: Pending, context: bytes | None = None,
             subject: uuid.UUID | None = None) -> bytes:
        if context is None:
            context, subject, _ = self._binding(instance)
        scope = _scope.get()
        if scope is None or scope._ceilings.get(subject, scope._default) < self.data_class:
            raise SealedError(
                f"{instance._meta.label}.{self.name} cannot be written outside a scope that allows it"
            )
        head, cipher = scope.sealing_key(subject)
        encoded = self.encode(value.value)
        value.blob = aead.seal_under(cipher, head, encoded, context)
        value.context = context
        value.value = self.typed(value.value, encoded)
        return value.blob

    # -- Django plumbing --------------------------------------------------------------
    def from_db_value(self, value, expression, connection):
        return None if value is None else Sealed(bytes(value))

    def to_python(self, value):
        return value

    def pre_save(self, model_instance, add):
        raw = model_instance.__dict__.get(self.attname)
        if raw is None:
            return None
        kind = type(raw)
        if kind is Pending:
            context, subject, _ = self._binding(model_instance)
            if raw.blob and raw.context == context:
                return raw.blob
            return self.seal(model_instance, raw, context, subject)
        if kind is Sealed or kind is Damaged:  # a damaged value keeps its bytes, never the mark
            return raw.blob
        # Assigned by Django itself (e.g. __init__ of a deferred instance) as plaintext.
        pending = Pending(raw)
        model_instance.__dict__[self.attname] = pending
        return self.seal(model_instance, pending)

    def get_prep_value(self, value):
        if isinstance(value, Pending):
            raise SealedError(f"{self.name}: a value assigned in code cannot be used in a query")
        if isinstance(value, Sealed):
            return value.blob
        if value is None or isinstance(value, bytes | memoryview):
            return value
        raise SealedError(f"{self.name} is encrypted and cannot be compared with plaintext")

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(f"{self.name} is encrypted; search it through a blind index instead")

    def get_transform(self, lookup_name):
        return None

    def value_from_object(self, obj):
        return obj.__dict__.get(self.attname)

    def value_to_string(self, obj):
        return SEALED_TEXT


class EncryptedTextField(EncryptedField):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._text = True

    def typed(self, value, encoded: bytes):
        return value if type(value) is str else encoded.decode()


class EncryptedDateField(EncryptedField):
    def encode(self, value) -> bytes:
        if isinstance(value, dt.datetime):
            value = value.date()
        elif not isinstance(value, dt.date):
            value = dt.date.fromisoformat(str(value))
        return value.isoformat().encode()

    def decode(self, data: bytes):
        return dt.date.fromisoformat(data.decode())


class EncryptedDecimalField(EncryptedField):
    def encode(self, value) -> bytes:
        return str(Decimal(value)).encode()

    def decode(self, data: bytes):
        return Decimal(data.decode())


class EncryptedJSONField(EncryptedField):
    def encode(self, value) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()

    def decode(self, data: bytes):
        return json.loads(data)


class BlindIndexField(models.CharField):
    """A keyed-HMAC index of another (encrypted) field, kept in step on save.

    It recomputes itself whenever its source holds plaintext, i.e. was assigned since the
    row was loaded; a row loaded from the database keeps its stored index.
    """

    def __init__(self, *args, source: str, kind: str, **kwargs):
        if kind not in blind.NORMALISERS:
            raise ValueError(f"unknown blind index kind {kind!r}")
        self.source, self.kind = source, kind
        kwargs.setdefault("max_length", blind.DIGEST_CHARS)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, kind=self.kind)
        for key in ("max_length", "blank", "default", "editable", "db_index"):
            kwargs.pop(key, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        if self.source not in model_instance.__dict__:  # deferred: keep the stored index
            return getattr(model_instance, self.attname)
        raw = model_instance.__dict__[self.source]
        if raw is None or isinstance(raw, Pending):
            plain = raw.value if raw is not None else None
            setattr(model_instance, self.attname, blind.terms(self.kind, plain and str(plain)))
        return getattr(model_instance, self.attname)


# -- encrypted files -------------------------------------------------------------------
def _files_root() -> Path:
    return Path(settings.VAULT_FILES_ROOT)


class VaultFile:
    """A sealed file: prints ``‹sealed›``; ``read()`` decrypts inside an allowing scope."""

    __slots__ = ("field", "instance", "name")

    def __init__(self, field: EncryptedFileField, instance, name: str) -> None:
        self.field, self.instance, self.name = field, instance, name

    def __repr__(self) -> str:
        return SEALED_TEXT

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("sealed files cannot be pickled or sent to a task")

    def read(self) -> bytes | None:
        """The plaintext; None only where damage is shown (``vault.scope.damage_shown``)."""
        return self.field.read(self.instance, self.name)


class PendingFile(bytes):
    """Plaintext bytes assigned to a file field and not yet written."""


class SealedFileAttribute(DeferredAttribute):
    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        raw = super().__get__(instance, cls)
        if raw is None or raw == "" or isinstance(raw, PendingFile):
            return raw or None
        return VaultFile(self.field, instance, raw)

    def __set__(self, instance, value):
        if isinstance(value, VaultFile):
            value = value.name
        elif isinstance(value, bytes) and not isinstance(value, PendingFile):
            value = PendingFile(value)
        elif hasattr(value, "read"):
            value.seek(0)
            value = PendingFile(value.read())
        instance.__dict__[self.field.attname] = value


class EncryptedFileField(models.CharField):
    """Stores the file's ciphertext in the vault file store under a random name."""

    descriptor_class = SealedFileAttribute

    def __init__(self, *args, data_class: int, **kwargs):
        self.data_class = DataClass(data_class)
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["data_class"] = int(self.data_class)
        for key in ("max_length", "blank", "default", "editable"):
            kwargs.pop(key, None)
        return name, path, args, kwargs

    def _context(self, instance, subject: uuid.UUID, name: str) -> bytes:
        return aead.context(instance._meta.label_lower, self.name, instance.pk, subject) + (
            b"|" + name.encode())

    def pre_save(self, model_instance, add):
        raw = model_instance.__dict__.get(self.attname)
        if not isinstance(raw, PendingFile):
            return raw or ""
        scope = current()
        subject = _subject(model_instance)
        if scope is None or not scope.allows(subject, self.data_class):
            raise SealedError(f"{model_instance._meta.label}.{self.name} cannot be written here")
        name = f"{uuid.uuid4().hex}.sv"
        generation, cipher = scope.sealing_cipher(subject)
        blob = aead.seal(cipher, aead.KeyId(subject, generation), bytes(raw),
                         self._context(model_instance, subject, name))
        path = _files_root() / name[:2] / name
        _write_atomically(path, blob)
        rollback.undo_on_rollback(lambda: path.unlink(missing_ok=True), what="sealed file")
        model_instance.__dict__[self.attname] = name
        model_instance.__dict__.setdefault("_vault_file_written", {})[self.attname] = True
        return name

    def read(self, instance, name: str) -> bytes | None:
        scope = current()
        subject = _subject(instance)
        if scope is None or not scope.allows(subject, self.data_class):
            raise SealedError(f"{instance._meta.label}.{self.name} is sealed here")
        try:
            return self._open(scope, instance, subject, name)
        except (IntegrityError, FileNotFoundError):
            if note_damage(DamageNote(instance._meta.label_lower, self.name, instance.pk, subject)):
                return None
            raise

    def _open(self, scope, instance, subject: uuid.UUID, name: str) -> bytes:
        blob = (_files_root() / name[:2] / name).read_bytes()
        kid = aead.key_id(blob)
        if kid.subject != subject:
            raise IntegrityError("file belongs to another subject")
        return aead.open_(scope.cipher(kid.subject, kid.generation), blob,
                          self._context(instance, subject, name))

    def get_lookup(self, lookup_name):
        if lookup_name in ("isnull", "exact"):
            return super().get_lookup(lookup_name)
        raise FieldError(f"{self.name} is an encrypted file and cannot be searched")

    def value_to_string(self, obj):
        return SEALED_TEXT


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def changed_personal_fields(instance) -> list[str]:
    """Names of the encrypted fields assigned since the row was loaded; never their values.

    The change log records these names only (django-auditlog excludes the fields themselves).
    """
    written = instance.__dict__.get("_vault_file_written", {})
    return [field.name for field in instance._meta.concrete_fields
            if (isinstance(field, EncryptedField)
                and isinstance(raw := instance.__dict__.get(field.attname), Pending) and raw.dirty)
            or (isinstance(field, EncryptedFileField) and written.get(field.attname))]


def mark_saved(instance) -> None:
    """After a save, what was assigned is stored: nothing counts as changed any more."""
    for value in instance.__dict__.values():
        if isinstance(value, Pending):
            value.dirty = False
    instance.__dict__.pop("_vault_file_written", None)


def data_classes(model, names) -> dict[str, DataClass]:
    """The data class each named encrypted field of `model` declares, in the given order
    (a name that is not an encrypted field raises: the declaration is the one source)."""
    return {name: model._meta.get_field(name).data_class for name in names}


def personal_field_names(model) -> list[str]:
    """Fields django-auditlog must never diff: encrypted values and their blind indexes."""
    return [f.name for f in model._meta.concrete_fields
            if isinstance(f, EncryptedField | EncryptedFileField | BlindIndexField)]
