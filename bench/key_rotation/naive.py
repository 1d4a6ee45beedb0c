"""The baseline: re-encrypting every field, as a generic encrypted-field library must to
rotate its key. Runs on the copy of `default` that bench/key_rotation/snapshot.py makes.

Clients are taken in batches of --naive-batch in id order. For each batch, in one
transaction: the clients' data keys are unwrapped (``vault.keystore.load``, one query), a
fresh key is made per client, and for each table with encrypted fields the rows of those
clients are read as raw ciphertext, every value is opened (``aead.open_``, with the binding
context "model|field|row|client") and sealed again under the fresh key
(``aead.seal_under``), and the rows are written back: one ``executemany`` on SQLite, one
UPDATE ... FROM unnest(arrays) on PostgreSQL. Encrypted files (photos, forms) are read,
opened, sealed again under a new name and written (fsync, then rename) into a scratch
directory, and their rows point at the new names.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.common import say
from bench.key_rotation.tables import (
    Table,
    db_ids,
    encrypted_tables,
    select_params,
    select_sql,
    write_rows,
)
from vault import aead  # no Django in it
from vault.errors import IntegrityError

_open, _seal, _HEADER = aead.open_, aead.seal_under, aead.HEADER_BYTES

PHASES = ("read", "keys", "crypto", "files", "write")


@dataclass
class NaiveRun:
    arrays: bool = True  # PostgreSQL: one UPDATE from arrays per table and batch
    writes: str = ""  # how rows were written, for the report
    clients: int = 0
    values: int = 0
    rows: int = 0
    files: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    phases: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _text(value) -> str:
    """A row id as the binding context writes it (str of its UUID), from the column's value
    (a UUID on PostgreSQL, 32 hex digits on SQLite) without making a UUID of it."""
    if isinstance(value, uuid.UUID):
        return str(value)
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


class Resealer:
    """The old keys of a batch of clients and a fresh key for each of them."""

    def __init__(self, keys: dict) -> None:
        # By the part of a ciphertext's header that names its key (subject, generation),
        # as the field's reads find theirs (vault.scope).
        self.keys = {aead.header(aead.KeyId(s, g))[3:]: cipher for (s, g), cipher in keys.items()}
        latest: dict[uuid.UUID, int] = {}
        for subject, generation in keys:
            latest[subject] = max(latest.get(subject, 0), generation)
        self.fresh = {s: (aead.header(aead.KeyId(s, g + 1)), AESGCM(AESGCM.generate_key(256)))
                      for s, g in latest.items()}

    def old(self, subject: uuid.UUID, blob: bytes) -> AESGCM:
        """The data key the header of `blob` names (it must be this subject's)."""
        if blob[3:19] != subject.bytes:
            raise IntegrityError("ciphertext belongs to another subject")
        return self.keys[blob[3:_HEADER]]

    def row(self, prefixes: list[bytes], tail: bytes, subject: uuid.UUID,
            blobs: list) -> tuple[list, int]:
        """One row's values sealed again; and how many values it held. (The steps of
        ``old`` are written out here: this runs for every value.)"""
        head, new = self.fresh[subject]
        keys, subject_bytes = self.keys, subject.bytes
        out, count = [], 0
        for prefix, blob in zip(prefixes, blobs, strict=True):
            if blob is None:
                out.append(None)
                continue
            blob = bytes(blob)
            if blob[3:19] != subject_bytes:
                raise IntegrityError("ciphertext belongs to another subject")
            context = prefix + tail
            out.append(_seal(new, head, _open(keys[blob[3:_HEADER]], blob, context), context))
            count += 1
        return out, count


def reencrypt(limit: int, batch: int, files_dir: Path, *, arrays: bool = True) -> NaiveRun:
    """The whole pass (or its first `limit` clients) on the `default` database; `arrays`
    False writes with ``executemany`` on PostgreSQL too."""
    from django.db import connections

    from records.models import Client

    connection, tables = connections["default"], encrypted_tables()
    say(f"naive pass over {', '.join(t.table for t in tables)}, {batch:,} clients per "
        "transaction...")
    run = NaiveRun(arrays=arrays, writes="one UPDATE from arrays per table and batch"
                   if arrays and connection.vendor == "postgresql" else "executemany")
    began, began_cpu = time.perf_counter(), time.process_time()
    ids = list(Client.objects.order_by("pk").values_list("pk", flat=True))
    if limit:
        ids = ids[:limit]
    run.phases["read"] += time.perf_counter() - began
    for start in range(0, len(ids), batch):
        _batch(connection, tables, ids[start:start + batch], run, files_dir)
        if (start // batch) % 20 == 19:
            say(f"  {run.clients:>7,} / {len(ids):,} clients, {run.values:,} values "
                f"({time.perf_counter() - began:.0f}s)")
    run.wall, run.cpu = time.perf_counter() - began, time.process_time() - began_cpu
    return run


def _batch(connection, tables: list[Table], ids: list, run: NaiveRun, files_dir: Path) -> None:
    from django.db import transaction

    from vault import keystore

    began = time.perf_counter()
    resealer = Resealer(keystore.load(ids))
    run.phases["keys"] += time.perf_counter() - began
    params = select_params(connection, db_ids(connection, ids))
    with transaction.atomic(using="default"):
        with connection.cursor() as cursor:
            for table in tables:
                _table(cursor, connection, table, params, len(ids), resealer, run, files_dir)
        committing = time.perf_counter()
    run.phases["write"] += time.perf_counter() - committing
    run.clients += len(ids)


def _table(cursor, connection, table: Table, params: list, count: int, resealer: Resealer,
           run: NaiveRun, files_dir: Path) -> None:
    began = time.perf_counter()
    cursor.execute(select_sql(connection, table, count), params)
    rows = cursor.fetchall()
    read = time.perf_counter()
    run.phases["read"] += read - began
    if table.files:
        updates = _files(table, rows, resealer, run, files_dir)
        run.phases["files"] += time.perf_counter() - read
    else:
        updates = _values(table, rows, resealer, run)
        run.phases["crypto"] += time.perf_counter() - read
    writing = time.perf_counter()
    if updates:
        write_rows(cursor, connection, table, updates, arrays=run.arrays)
    run.phases["write"] += time.perf_counter() - writing
    run.rows += len(updates)


def _values(table: Table, rows: list, resealer: Resealer, run: NaiveRun) -> list:
    prefixes, updates = table.prefixes(), []
    for pk, subject_value, *blobs in rows:
        subject = _uuid(subject_value)
        # "row|subject" of the binding context (aead.context), formatted once per row
        tail = f"{_text(pk)}|{subject}".encode()
        values, count = resealer.row(prefixes, tail, subject, blobs)
        run.values += count
        updates.append((*values, pk))
    return updates


def _files(table: Table, rows: list, resealer: Resealer, run: NaiveRun,
           files_dir: Path) -> list:
    from django.conf import settings

    root, updates = Path(settings.VAULT_FILES_ROOT), []
    for pk, subject_value, *names in rows:
        subject, new_names = _uuid(subject_value), []
        head, new = resealer.fresh[subject]
        for name_of_field, name in zip(table.fields, names, strict=True):
            if not name:
                new_names.append(name)
                continue
            blob = (root / name[:2] / name).read_bytes()
            base = aead.context(table.label, name_of_field, _uuid(pk), subject)
            plain = aead.open_(resealer.old(subject, blob), blob, base + b"|" + name.encode())
            fresh_name = f"{uuid.uuid4().hex}.sv"
            _write(files_dir / fresh_name[:2] / fresh_name,
                   aead.seal_under(new, head, plain, base + b"|" + fresh_name.encode()))
            new_names.append(fresh_name)
            run.values += 1
            run.files += 1
        updates.append((*new_names, pk))
    return updates


def _write(path: Path, data: bytes) -> None:
    """As the file store writes: a temporary file, fsync, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:  # noqa: PTH123
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
