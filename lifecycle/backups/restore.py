"""Restoring a backup into this process's databases (`default` and `vault`).

The backup is verified first and nothing is touched if it fails. The databases must be
empty (a new server, a scratch copy), or be emptied first (`wipe`, the in-place restore
after `--confirm`): every table is dropped and migrated again. The schema must be the one
the backup was made with. Rows go back as they were stored — ciphertext stays ciphertext —
with the audit triggers lifted for the load only, the encrypted files go back into the
file store, and then, before anything serves, the shred ledger is replayed: the ledger in
the backup joined by the ledger the salon holds now (destructions after the backup), so a
client destroyed after the backup was taken stays unreadable. The restore is the last
event of the restored chain: it names the backup and the head it restored.
"""

from __future__ import annotations

import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyrage
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

import audit.services as audit
from audit import actions, checkpoints, triggers

from . import archive, store, verify

Progress = Callable[[int, int], None]
MUST_BE_EMPTY = ("records_client", "vault_datakey", "audit_accessevent")


class RestoreRefused(Exception):
    """Nothing was restored; the message says why."""


@dataclass
class Restored:
    backup_id: str
    rows: int = 0
    files: int = 0
    tables: int = 0
    shredded_since: list[str] = field(default_factory=list)  # clients destroyed after it
    keys_destroyed: int = 0
    audit_head: int = 0
    rolled_back_past: int | None = None  # the newest checkpoint past the restored head
    seconds: float = 0.0


def restore(backup_id: str, *, wipe: bool = False, ledger: Iterable[uuid.UUID] = (),
            progress: Progress | None = None) -> Restored:
    started = timezone.now()
    report = verify.verify(backup_id)
    if not report.ok:
        raise RestoreRefused(f"backup {backup_id} failed verification: {report.problems[0]}")
    manifest = report.manifest
    _same_schema(manifest)
    ledger = set(ledger) | _current_ledger()
    latest = checkpoints.checkpoint_latest()  # signed outside the database: it survives
    done = Restored(backup_id)
    if wipe:
        for alias in ("default", "vault"):
            _drop_everything(alias)
    for alias in ("default", "vault"):
        call_command("migrate", database=alias, interactive=False, verbosity=0)
    _refuse_unless_empty()
    tables = [p for p in manifest["parts"] if p["kind"] == "table"]
    done.rows = _load_all(backup_id, tables, progress)
    done.tables = len(tables)
    done.files = _unpack_files(backup_id, manifest)
    done.shredded_since, done.keys_destroyed = _replay(ledger)
    done.audit_head = manifest["audit"]["head_seq"]
    if latest is not None and latest.seq > done.audit_head:
        done.rolled_back_past = latest.seq
    done.seconds = (timezone.now() - started).total_seconds()
    _record(done, manifest)
    if wipe:
        # This is the salon now: its checkpoints start a new era from the restore's event.
        checkpoints.checkpoint_after_restore(done.audit_head)
    if progress:
        progress(len(tables) + 1, len(tables) + 1)
    return done


def _same_schema(manifest: dict) -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    leaves: dict[str, str] = {}
    for app, name in loader.graph.leaf_nodes():
        leaves[app] = max(leaves.get(app, ""), name)
    differs = sorted(app for app in set(leaves) | set(manifest["migrations"])
                     if leaves.get(app) != manifest["migrations"].get(app))
    if differs:
        raise RestoreRefused(
            f"backup {manifest['id']} was made with another version of the schema (apps "
            f"{', '.join(differs)}); restore it with the version of Salon Vault that made it, "
            "then upgrade")


def _current_ledger() -> set[uuid.UUID]:
    """The shred ledger the salon holds now, if its database can be read."""
    from vault.models import ShredRecord

    try:
        return set(ShredRecord.objects.values_list("subject_id", flat=True))
    except Exception:  # noqa: BLE001 - an empty or new database has no ledger yet
        return set()


def _drop_everything(alias: str) -> None:
    connection = connections[alias]
    with connection.cursor() as cursor:
        names = connection.introspection.table_names(cursor)
        if connection.vendor == "postgresql":
            for name in names:
                cursor.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for name in names:
                cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
            cursor.execute("PRAGMA foreign_keys = ON")


def _refuse_unless_empty() -> None:
    for table in MUST_BE_EMPTY:
        alias = "vault" if table == "vault_datakey" else "default"
        with connections[alias].cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608 - constant names
            if cursor.fetchone():
                raise RestoreRefused(
                    f"the database already holds data ({table} is not empty); restore into "
                    "an empty database, or in place with --confirm")


def _model_of(part: dict):
    return apps.get_model(*part["model"].split("."))


def _load_all(backup_id: str, parts: list[dict], progress: Progress | None) -> int:
    """Every table of the backup, one transaction per database: first the rows migrations
    seeded are cleared (in reverse order), then the backup's rows go in, and foreign keys
    are checked when each transaction commits."""
    rows, done = 0, 0
    for alias in ("default", "vault"):
        mine = [p for p in parts if p["alias"] == alias]
        connection = connections[alias]
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            triggers.remove(connection)
            for part in reversed(mine):
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(part['table'])}")  # noqa: S608 - rows the migrations seeded
            for part in mine:
                rows += _load(backup_id, part, cursor, connection)
                done += 1
                if progress:
                    progress(done, len(parts) + 1)
            triggers.install(connection)
            for statement in connection.ops.sequence_reset_sql(
                    no_style(), [_model_of(p) for p in mine]):
                cursor.execute(statement)
    return rows


def _load(backup_id: str, part: dict, cursor, connection) -> int:
    model = _model_of(part)
    by_column = {f.column: f for f in model._meta.concrete_fields}
    with tempfile.TemporaryFile() as plain:
        with store.storage().open(store.path(backup_id, part["name"]), "rb") as sealed:
            pyrage.decrypt_io(sealed, plain, [store.identity(part["part"])])
        plain.seek(0)
        header, rows = archive.read_table(plain)
        fields = [by_column[c] for c in header["columns"]]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {connection.ops.quote_name(part['table'])} ({columns}) VALUES ({marks})"  # noqa: S608
        count, batch = 0, []
        for row in rows:
            batch.append([_prep(f, v, connection) for f, v in zip(fields, row, strict=True)])
            if len(batch) == 2000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    if count != part["rows"]:
        raise RestoreRefused(f"{part['name']}: {count} rows read, the manifest says {part['rows']}")
    return count


def _prep(field, value, connection):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and field.get_internal_type() not in (
            "CharField", "TextField", "SlugField", "EmailField", "URLField",
            "GenericIPAddressField", "FilePathField"):
        value = field.to_python(value)
    return field.get_db_prep_save(value, connection)


def _unpack_files(backup_id: str, manifest: dict) -> int:
    part = next(p for p in manifest["parts"] if p["kind"] == "files")
    root = Path(settings.VAULT_FILES_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as plain:
        with store.storage().open(store.path(backup_id, part["name"]), "rb") as sealed:
            pyrage.decrypt_io(sealed, plain, [store.identity("data")])
        plain.seek(0)
        with tarfile.open(fileobj=plain, mode="r") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            tar.extractall(root, members=members, filter="data")
    return len(members)


def _replay(ledger: set[uuid.UUID]) -> tuple[list[str], int]:
    """Join the salon's ledger to the restored one and destroy the keys it names."""
    from records.models import Client
    from vault import keystore
    from vault.models import ShredRecord

    known = set(ShredRecord.objects.values_list("subject_id", flat=True))
    since = sorted(ledger - known)
    ShredRecord.objects.bulk_create([ShredRecord(subject_id=s, actor="system:restore",
                                                 reason="destroyed after the backup")
                                     for s in since])
    codes = dict(Client.objects.filter(pk__in=since).values_list("pk", "code"))
    destroyed = keystore.replay_shred_ledger()
    return [codes.get(s, str(s)) for s in since], destroyed


def _record(done: Restored, manifest: dict) -> None:
    audit.record(actor=None, actor_label="system:restore", role="system",
                 action=actions.BACKUP_RESTORE, outcome="allowed",
                 purpose=actions.RESTORE_BACKUP,
                 detail={"backup": done.backup_id, "restored_head": done.audit_head,
                         "rolled_back_past_checkpoint": done.rolled_back_past,
                         "shredded_since_backup": len(done.shredded_since),
                         "rows": done.rows, "files": done.files})
