"""Re-keying one client (suspected compromise): every encrypted value and file of the client
sealed again under a new data key, then the old key destroyed.

It converges after a crash: the new generation is made once (vault.keystore.
rekey_generation finishes a re-key under way), each row is re-sealed in its own save and
only if something in it is still under an older generation, and the old key goes only once
nothing is left under it. Blind indexes use the index key, not the data key, and stay.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.apps import apps
from django.db import transaction

from access import door
from audit import actions
from vault import aead, keystore
from vault.fields import EncryptedField, EncryptedFileField, _files_root
from vault.scope import Damaged, Sealed, damage_shown


def sealed_models() -> list:
    """Every installed model that seals values under a subject's data key (records' own, and
    those of the apps above: consents, patch tests, rights requests, complaints...), found
    by what it declares rather than listed here, so a new one cannot be forgotten."""
    return [model for model in apps.get_models()
            if getattr(model, "VAULT_SUBJECT_FIELD", None) and not model._meta.proxy
            and any(isinstance(field, (EncryptedField, EncryptedFileField))
                    for field in model._meta.concrete_fields)]


def client_rekey(client_id: uuid.UUID) -> dict:
    """Re-seal the client under a new data key; returns counts (values, files, rows)."""
    generation = keystore.rekey_generation(client_id)
    counts = {"generation": generation, "rows": 0, "values": 0, "files": 0, "damaged": 0}
    with door.open_for_system(actor="rekey", purpose=actions.REKEY_CLIENT,
                              subjects=[client_id]), \
            damage_shown():
        for model in sealed_models():
            subject = model.VAULT_SUBJECT_FIELD
            for row in model.objects.filter(**{subject: client_id}).order_by("pk"):
                _reseal(row, generation, counts)
    counts["retired_generations"] = keystore.retire_generations(client_id, below=generation)
    return counts


def _generation(blob: bytes) -> int:
    return aead.key_id(blob).generation


def _reseal(row, generation: int, counts: dict) -> None:
    changed, old_files = [], []
    for field in row._meta.concrete_fields:
        raw = row.__dict__.get(field.attname)
        if isinstance(field, EncryptedField) and type(raw) is Sealed:
            if _generation(raw.blob) != generation:
                value = getattr(row, field.name)
                if isinstance(value, Damaged):  # unreadable already: left as it is
                    counts["damaged"] += 1
                    continue
                setattr(row, field.name, value)
                changed.append(field.name)
                counts["values"] += 1
        elif isinstance(field, EncryptedFileField) and raw:
            path = _files_root() / raw[:2] / raw
            if _generation(_head(path)) != generation:
                content = field.read(row, raw)
                if content is None:  # damaged or missing: left as it is
                    counts["damaged"] += 1
                    continue
                setattr(row, field.name, content)
                changed.append(field.name)
                old_files.append(path)
                counts["files"] += 1
    if not changed:
        return
    with transaction.atomic():
        row.save(update_fields=changed)
        transaction.on_commit(lambda: [_unlink(p) for p in old_files])
    counts["rows"] += 1


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(aead.OVERHEAD)
