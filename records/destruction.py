"""Destroying a client: the one path that retention, a deletion request, a withdrawn consent
and the seller's copies after a sale all end in (DESIGN.md).

A Destruction row is a state machine that converges after a crash; `run` takes it from
wherever it stopped:

    approved → the data key shredded (every copy of the client's data, backups included,
    becomes unreadable; the shred ledger remembers it for restores) → the encrypted files
    deleted → the rows deleted (grants revoked) → a certificate signed and written.

Audit events are kept: they hold ids and metadata, no plaintext.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import audit.services as audit
from access import services as access_services
from audit import actions, checkpoints
from vault import keystore
from vault.fields import _files_root
from vault.models import DataKey

from . import certificate_file
from .models import (
    BeautyProfile,
    Client,
    ClientForm,
    ConsentEvent,
    Destruction,
    HealthNote,
    LegalHold,
    Photo,
    Treatment,
)

log = logging.getLogger(__name__)
State = Destruction.State
FILE_FIELDS = ((Photo, ("image", "thumbnail")), (ClientForm, ("document",)),
               (ConsentEvent, ("signature",)))


class NotDestroyable(Exception):
    """The destruction was refused (held, or already done); the message says why."""


def certificates_dir() -> Path:
    return Path(settings.DESTRUCTION_CERTIFICATE_DIR)


def request(client: Client, *, actor, basis: str, reason: str,
            scope: str = Destruction.Scope.CLIENT) -> Destruction:
    reason = " ".join(reason.split())
    if not reason:
        raise NotDestroyable("a destruction needs a reason")
    hold = LegalHold.objects.filter(client_id=client.pk, lifted_at__isnull=True,
                                    until__gte=timezone.localdate()).order_by("-until").first()
    if hold is not None:
        raise NotDestroyable(f"{client.code} is under a legal hold until {hold.until:%Y-%m-%d} "
                             f"({hold.reason}); lift it first")
    running = unfinished().filter(client_id=client.pk, scope=scope).first()
    if running is not None:
        raise NotDestroyable(f"{client.code} is already being destroyed ({running.state})")
    destruction = Destruction.objects.create(
        client_id=client.pk, client_code=client.code, location_code=client.location.code,
        scope=scope, basis=basis, reason=reason[:500], requested_by=actor)
    _event(actor, actions.CLIENT_DESTROY_REQUEST, destruction)
    return destruction


def approve(destruction: Destruction, *, actor) -> Destruction:
    if destruction.state != State.REQUESTED:
        return destruction
    destruction.state, destruction.approved_by = State.APPROVED, actor
    destruction.approved_at = timezone.now()
    destruction.save(update_fields=["state", "approved_by", "approved_at"])
    _event(actor, actions.CLIENT_DESTROY_APPROVE, destruction)
    return destruction


def destroy_now(client: Client, *, actor, basis: str, reason: str,
                scope: str = Destruction.Scope.CLIENT) -> Destruction:
    """Destroy at once: an owner's one client (e.g. after a deletion request), or what a
    retention proposal was approved for. A destruction of the same client that a crash
    stopped half-way is finished instead of refused."""
    stopped = unfinished().filter(client_id=client.pk, scope=scope).first()
    if stopped is not None:
        return run(stopped)
    with transaction.atomic():  # never a request left behind without its approval
        destruction = approve(request(client, actor=actor, basis=basis, reason=reason,
                                      scope=scope), actor=actor)
    return run(destruction)


def unfinished():
    """Destructions approved and begun but not certified: a crash stopped them."""
    return Destruction.objects.exclude(state__in=[State.REQUESTED, State.CERTIFIED])


def finish_unfinished() -> list[Destruction]:
    """Finish every destruction a crash stopped (the retention job does this first)."""
    return [run(d) for d in unfinished().order_by("requested_at")]


def run(destruction: Destruction) -> Destruction:
    """Take an approved destruction to its end from wherever it stopped."""
    if destruction.state == State.REQUESTED:
        raise NotDestroyable("the destruction has not been approved")
    steps = {State.APPROVED: _shred, State.KEYS_SHREDDED: _delete_files,
             State.FILES_DELETED: _delete_rows, State.ROWS_DELETED: _certify}
    while destruction.state in steps:
        steps[destruction.state](destruction)
    return destruction


def _advance(destruction: Destruction, state: str, **fields) -> None:
    for name, value in fields.items():
        setattr(destruction, name, value)
    destruction.state = state
    destruction.save(update_fields=["state", *fields])
    log.info("destruction %s of %s: %s", destruction.pk, destruction.client_code, state)


def _shred(d: Destruction) -> None:
    if d.scope != Destruction.Scope.CLIENT:
        # Photos or health notes only: the client's data key stays (it seals what is
        # kept); their ciphertext is deleted below.
        _advance(d, State.KEYS_SHREDDED)
        return
    if not d.key_ids:  # named before they go, for the certificate
        held = sorted(DataKey.objects.filter(subject_id=d.client_id)
                      .values_list("generation", flat=True))
        _advance(d, State.APPROVED, key_ids=[f"{d.client_id}:{g}" for g in held])
    keystore.shred(d.client_id, actor=_label(d.approved_by), reason=f"destruction {d.pk}")
    _advance(d, State.KEYS_SHREDDED)


def _delete_files(d: Destruction) -> None:
    root, deleted = _files_root(), 0
    kept = {Destruction.Scope.HEALTH: FILE_FIELDS[:0], Destruction.Scope.PHOTOS: FILE_FIELDS[:1]}
    for model, names in kept.get(d.scope, FILE_FIELDS):
        for row in model.objects.filter(client_id=d.client_id).values(*names):
            for name in filter(None, row.values()):
                path = root / name[:2] / name
                if path.exists():
                    path.unlink()
                    deleted += 1
    _advance(d, State.FILES_DELETED, counts={**d.counts, "files": deleted})


def _delete_rows(d: Destruction) -> None:
    counts = dict(d.counts)
    if d.scope != Destruction.Scope.CLIENT:
        model = Photo if d.scope == Destruction.Scope.PHOTOS else HealthNote
        with transaction.atomic():
            counts[model._meta.model_name] = model.objects.filter(
                client_id=d.client_id).delete()[0]
            _advance(d, State.ROWS_DELETED, counts=counts, destroyed_at=timezone.now())
        return
    with transaction.atomic():
        for model in (Treatment, Photo, ClientForm, BeautyProfile, HealthNote, ConsentEvent):
            counts[model._meta.model_name] = model.objects.filter(client_id=d.client_id).count()
        counts["grants_revoked"] = access_services.client_forgotten(d.client_id)
        counts["client"] = Client.objects.filter(pk=d.client_id).delete()[1].get(
            Client._meta.label, 0)
        _advance(d, State.ROWS_DELETED, counts=counts, destroyed_at=timezone.now())


def _certify(d: Destruction) -> None:
    statement = {
        "id": str(d.pk), "client_code": d.client_code, "client_id": str(d.client_id),
        "location": d.location_code, "scope": d.scope, "basis": d.basis, "reason": d.reason,
        "requested_by": _label(d.requested_by), "approved_by": _label(d.approved_by),
        "requested_at": d.requested_at.isoformat(),
        "approved_at": d.approved_at.isoformat() if d.approved_at else None,
        "destroyed_at": d.destroyed_at.isoformat(), "key_ids": d.key_ids, "counts": d.counts,
    }
    signed = certificate_file.sign(statement, checkpoints.signer())
    folder = certificates_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{d.client_code}-{d.pk}.json"
    path.write_bytes(certificate_file.dumps(signed))
    _advance(d, State.CERTIFIED, certificate=signed)
    audit.record(actor=None, actor_label="system:destruction", role="system",
                 action=actions.CLIENT_DESTROY, outcome="allowed", client_id=d.client_id,
                 client_code=d.client_code, location_code=d.location_code,
                 purpose=actions.DESTROY_CLIENT,
                 detail={"destruction": str(d.pk), "scope": d.scope, "basis": d.basis,
                         "keys": len(d.key_ids), "counts": d.counts})


def certificate_path(d: Destruction) -> Path:
    return certificates_dir() / f"{d.client_code}-{d.pk}.json"



def _label(user) -> str:
    return user.get_username() if user is not None else "system"


def _event(actor, action: str, d: Destruction) -> None:
    audit.record(actor=actor, actor_label=_label(actor) if actor else "system:command",
                 role="owner" if actor else "system", action=action,
                 outcome="allowed", client_id=d.client_id, client_code=d.client_code,
                 location_code=d.location_code, purpose=actions.DESTROY_CLIENT,
                 detail={"destruction": str(d.pk), "basis": d.basis})


def find_client(ref: str) -> Client:
    """A client by code or id (the command's argument)."""
    found = Client.objects.filter(code=ref).select_related("location").first()
    if found is None:
        try:
            found = Client.objects.filter(pk=uuid.UUID(ref)).select_related("location").first()
        except ValueError:
            found = None
    if found is None:
        raise NotDestroyable(f"no client with code or id {ref!r}")
    return found
