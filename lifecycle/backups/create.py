"""Making a backup: every table of both databases and every encrypted file, streamed as
stored (nothing decrypted), each part encrypted with age and hashed, then a manifest
signed by the deployment. The manifest is written last: a backup stopped half-way has
none, is not listed, and is removed by the next run (`sweep`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyrage
from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.db import connections, router, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from audit import checkpoints
from audit.models import ChainHead

from . import archive, store

Progress = Callable[[int, int], None]
# Tables never backed up: sessions (a restore must not sign anyone in) and spreadsheets
# staged between preview and import (sealed under a key only the importer's page held).
SKIPPED = {"django_session", "records_importstaging"}


def tables(alias: str) -> list:
    """The models whose rows live in `alias`, each table once, in dependency order."""
    from django.core import serializers

    chosen, seen = [], set()
    models = [m for m in apps.get_models(include_auto_created=True)
              if m._meta.managed and not m._meta.proxy
              and router.allow_migrate_model(alias, m)]
    for model in serializers.sort_dependencies([(None, models)], allow_cycles=True):
        table = model._meta.db_table
        if table in seen or table in SKIPPED:
            continue
        seen.add(table)
        chosen.append(model)
    return chosen


@dataclass(frozen=True)
class Made:
    id: str
    parts: int
    rows: int
    files: int
    bytes: int
    seconds: float


def create(*, progress: Progress | None = None) -> Made:
    started = timezone.now()
    backup_id = store.new_id(started)
    plan = [("data", m) for m in tables("default")] + [("keystore", m) for m in tables("vault")]
    total = len(plan) + 1
    parts: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="backup-", dir=scratch_root()) as scratch:
        with _snapshot("default") as records, _snapshot("vault") as keys:
            readers = {"data": records, "keystore": keys}
            head = _audit_head(records)
            for done, (kind, model) in enumerate(plan):
                parts.append(_table_part(backup_id, kind, model, Path(scratch), readers[kind]))
                if progress:
                    progress(done + 1, total)
            migrations = _migrations(records)
            versions = _kek_versions(keys)
        parts.append(_files_part(backup_id, Path(scratch)))
        if progress:
            progress(total, total)
    manifest = _manifest(backup_id, started, parts, head, migrations, versions)
    _write_manifest(backup_id, manifest)
    return Made(backup_id, len(parts), sum(p.get("rows", 0) for p in parts),
                sum(p.get("files", 0) for p in parts), sum(p["bytes"] for p in parts),
                (timezone.now() - started).total_seconds())


@contextlib.contextmanager
def _snapshot(alias: str) -> Iterator[str]:
    """One consistent view of a database while its tables are read: a connection of its
    own in a repeatable-read transaction (the job's progress is written on the usual one
    meanwhile). Inside a caller's transaction, that transaction is the view."""
    if connections[alias].in_atomic_block:
        with transaction.atomic(using=alias):
            yield alias
        return
    reader = f"{alias}_backup_reader"
    config = {**connections.settings[alias]}
    if connections[alias].vendor == "sqlite":  # a reader: take no write lock (WAL snapshot)
        config["OPTIONS"] = {**config.get("OPTIONS", {}), "transaction_mode": "DEFERRED"}
    connections.settings[reader] = config
    try:
        with transaction.atomic(using=reader):
            if connections[reader].vendor == "postgresql":
                with connections[reader].cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield reader
    finally:
        connections[reader].close()
        del connections[reader]
        del connections.settings[reader]


def _table_part(backup_id: str, kind: str, model, scratch: Path, reader: str) -> dict:
    alias = "default" if kind == "data" else "vault"
    fields = list(model._meta.concrete_fields)
    rows = model._base_manager.using(reader).order_by("pk").values_list(
        *[f.attname for f in fields]).iterator(chunk_size=2000)
    counted = _Counter(rows)
    name = f"{kind}/{model._meta.db_table}.jsonl.gz.age"
    raw = scratch / "part"
    with raw.open("wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=3,
                                               mtime=0) as gz:
        for line in archive.table_lines(model._meta.db_table, [f.column for f in fields],
                                        counted):
            gz.write(line)
    part = _seal(backup_id, name, raw, kind, scratch)
    return part | {"kind": "table", "part": kind, "alias": alias,
                   "table": model._meta.db_table, "model": model._meta.label_lower,
                   "rows": counted.count}


class _Counter:
    def __init__(self, rows):
        self.rows, self.count = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


def _files_part(backup_id: str, scratch: Path) -> dict:
    root = Path(settings.VAULT_FILES_ROOT)
    raw = scratch / "files.tar"
    count = 0
    with tarfile.open(raw, "w") as tar:
        for path in sorted(root.rglob("*.sv")) if root.exists() else []:
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
            count += 1
    return _seal(backup_id, "data/files.tar.age", raw, "data", scratch) | {
        "kind": "files", "part": "data", "files": count}


def _seal(backup_id: str, name: str, raw: Path, kind: str, scratch: Path) -> dict:
    """Encrypt `raw` to the part's age recipient, store it, and return its size and hash."""
    sealed = scratch / "sealed"
    with raw.open("rb") as src, sealed.open("wb") as out:
        hashing = archive.HashingWriter(out)
        pyrage.encrypt_io(src, hashing, [store.recipient(kind)])
    with sealed.open("rb") as fh:
        store.storage().save(store.path(backup_id, name), File(fh))
    raw.unlink()
    sealed.unlink()
    return {"name": name, "bytes": hashing.size, "sha256": hashing.sha256.hexdigest()}


def _audit_head(reader: str) -> dict:
    head = ChainHead.objects.using(reader).filter(pk=1).values("seq", "hash").first() or {"seq": 0, "hash": ""}
    latest = checkpoints.checkpoint_latest()
    return {"head_seq": head["seq"], "head_hash": head["hash"],
            "checkpoint_seq": latest.seq if latest is not None else None}


def _migrations(reader: str) -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connections[reader]).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def _manifest(backup_id, started, parts, head, migrations, versions) -> dict:
    deployment = store.deployment()
    return {
        "format": archive.FORMAT, "id": backup_id,
        "created_at": started.astimezone(dt.UTC).isoformat(),
        "deployment": {"public_key": deployment.public_key,
                       "fingerprint": deployment.fingerprint},
        "engines": {alias: connections[alias].vendor for alias in ("default", "vault")},
        "migrations": migrations, "audit": head,
        "recipients": {kind: str(store.recipient(kind)) for kind in ("data", "keystore")},
        "kek_versions": sorted(versions),
        "parts": parts,
    }


def _kek_versions(reader: str) -> set[int]:
    from vault.models import DataKey

    return set(DataKey.objects.using(reader).values_list("kek_version", flat=True).distinct())


def _write_manifest(backup_id: str, manifest: dict) -> None:
    import base64
    import io

    body = archive.manifest_bytes(manifest)
    signature = checkpoints.signer().sign(body)
    storage = store.storage()
    storage.save(store.path(backup_id, archive.SIGNATURE),
                 File(io.BytesIO(base64.b64encode(signature) + b"\n")))
    storage.save(store.path(backup_id, archive.MANIFEST), File(io.BytesIO(body)))


def scratch_root() -> Path:
    """Where a backup's parts wait to be encrypted: under VAR_DIR, owner-only, and emptied
    by the next run when a killed one left something there (`sweep`)."""
    root = Path(settings.VAR_DIR) / "backup-scratch"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def sweep() -> list[str]:
    """Remove backups stopped before their manifest was written (a killed run), and what
    such a run left in the scratch folder."""
    import shutil

    for leftover in scratch_root().iterdir():
        shutil.rmtree(leftover, ignore_errors=True)
    storage = store.storage()
    try:
        folders, _files = storage.listdir("")
    except FileNotFoundError:
        return []
    removed = []
    for folder in folders:
        if not storage.exists(store.path(folder, archive.MANIFEST)):
            _delete_tree(storage, folder)
            removed.append(folder)
    return removed


def _delete_tree(storage, folder: str) -> None:
    dirs, files = storage.listdir(folder)
    for name in files:
        storage.delete(f"{folder}/{name}")
    for sub in dirs:
        _delete_tree(storage, f"{folder}/{sub}")
    with contextlib.suppress(NotImplementedError, OSError):
        os.rmdir(storage.path(folder))  # a folder left behind on a file system
