"""What of each client goes into the package, as the open format's records
(docs/transfer-format.md): read through the vault in batches, each batch opened for the
packaging job and recorded, so the package is built with memory flat in the number of
clients."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence

from access import door
from audit import actions
from records.models import (
    BeautyProfile,
    Client,
    ClientForm,
    ConsentEvent,
    HealthNote,
    PatchTest,
    Photo,
    Treatment,
)
from vault.classes import DataClass

from .models import Part, TransferCase
from .scope import Plan

BATCH = 200
SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
          "application/pdf": ".pdf"}


def _iso(value):
    return value.isoformat() if value is not None else None


def _text(value):
    return None if value is None or value == "" else str(value)


def original_purposes(consents: list[ConsentEvent]) -> list[str]:
    """The purposes the client's record may be used for after the sale: service records,
    and each purpose they consented to (the transfer itself aside)."""
    latest: dict[str, str] = {}
    for event in sorted(consents, key=lambda e: e.at):
        latest[event.purpose] = event.action
    given = [p for p in ConsentEvent.Purpose.values
             if latest.get(p) == ConsentEvent.Action.GIVEN and p != ConsentEvent.Purpose.TRANSFER]
    return [ConsentEvent.Purpose.SERVICE, *(p for p in given if p != ConsentEvent.Purpose.SERVICE)]


def entries(case: TransferCase, plan: Plan, *, seller: str,
            done: callable | None = None) -> Iterator[tuple]:
    ids = plan.included
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        yield from _batch(case, plan, batch, seller=seller)
        if done:
            done(min(start + BATCH, len(ids)))


def _by_client(rows) -> dict[uuid.UUID, list]:
    grouped: dict[uuid.UUID, list] = defaultdict(list)
    for row in rows:
        grouped[row.client_id].append(row)
    return grouped


def _batch(case: TransferCase, plan: Plan, batch: Sequence[uuid.UUID], *, seller: str):
    parts = set(case.parts)
    with door.open_for_system(actor="transfer", purpose=actions.TRANSFER_BUSINESS,
                              subjects=list(batch), ceiling=DataClass.L4,
                              detail={"case": str(case.pk), "package": True}):
        clients = Client.objects.filter(pk__in=batch).select_related("location").order_by("code")
        by_client: dict[uuid.UUID, list] = {pk: [] for pk in batch}
        for event in ConsentEvent.objects.filter(client_id__in=batch).order_by("at"):
            by_client[event.client_id].append(event)
        # One query per model for the whole batch, not one per client; each client's rows
        # keep the order its own query gave them.
        health = [pk for pk in batch if pk in plan.with_health]
        photos = [pk for pk in batch if pk in plan.with_photos]
        none: dict = {}
        related = {
            "beauty": _by_client(BeautyProfile.objects.filter(client_id__in=batch))
            if Part.BEAUTY in parts else none,
            "treatments": _by_client(Treatment.objects.filter(client_id__in=batch)
                                     .order_by("performed_on", "pk"))
            if Part.TREATMENTS in parts else none,
            "health": _by_client(HealthNote.objects.filter(client_id__in=health)),
            "patch_tests": _by_client(PatchTest.objects.filter(client_id__in=health)
                                      .select_related("product")),
            "photos": _by_client(Photo.objects.filter(client_id__in=photos)
                                 .order_by("taken_on", "pk")),
            "forms": _by_client(ClientForm.objects.filter(client_id__in=batch)
                                .order_by("signed_on", "pk"))
            if Part.FORMS in parts else none,
        }
        for client in clients:
            rows = {name: found.get(client.pk, ()) for name, found in related.items()}
            yield from _client(case, plan, client, by_client[client.pk], parts, seller, rows)


def _client(case, plan, client: Client, consents, parts: set, seller: str,
            rows: dict) -> Iterator[tuple]:
    cid = str(client.pk)
    yield ("record", "client", {
        "id": cid, "code": client.code, "location": client.location.code,
        "full_name": _text(client.full_name), "phone": _text(client.phone),
        "wechat_id": _text(client.wechat_id), "email": _text(client.email),
        "birthday": _iso(client.birthday), "created_at": _iso(client.created_at),
        "last_visit": _iso(client.last_visit)})
    yield ("record", "provenance", {"client_id": cid, "seller": seller, "case_id": str(case.pk),
                                    "original_purposes": original_purposes(consents)})
    for event in consents:
        yield ("record", "consent", {
            "id": str(event.pk), "client_id": cid, "purpose": event.purpose,
            "action": event.action, "at": _iso(event.at), "channel": event.channel,
            "notice_version": event.notice_version})
    if Part.BEAUTY in parts:
        for profile in rows["beauty"][:1]:
            yield ("record", "beauty_profile", {
                "client_id": cid, "skin_type": _text(profile.skin_type),
                "hair": _text(profile.hair), "concerns": _text(profile.concerns)})
    if Part.TREATMENTS in parts:
        for t in rows["treatments"]:
            yield ("record", "treatment", {
                "id": str(t.pk), "client_id": cid, "performed_on": _iso(t.performed_on),
                "service": _text(t.service), "products": list(t.products or []),
                "colour_formula": _text(t.colour_formula), "notes": _text(t.notes),
                "price": _text(t.price)})
    if client.pk in plan.with_health:
        for note in rows["health"][:1]:
            yield ("record", "health_note", {
                "client_id": cid, **{name: _text(getattr(note, name)) for name in (
                    "allergies", "contraindications", "medication", "pregnancy", "conditions")}})
        for p in rows["patch_tests"]:
            yield ("record", "patch_test", {
                "id": str(p.pk), "client_id": cid, "product": p.product.name,
                "tested_on": _iso(p.tested_on), "result": _text(p.result),
                "reaction": _text(p.reaction)})
    if client.pk in plan.with_photos:
        for photo in rows["photos"]:
            data = photo.image.read()
            path = f"files/photos/{photo.pk}{SUFFIX.get(photo.content_type, '.bin')}"
            yield ("file", path, data)
            yield ("record", "photo", {
                "id": str(photo.pk), "client_id": cid,
                "treatment_id": str(photo.treatment_id) if photo.treatment_id else None,
                "kind": photo.kind, "taken_on": _iso(photo.taken_on),
                "content_type": photo.content_type, "width": photo.width,
                "height": photo.height, "file": path, "sha256": hashlib.sha256(data).hexdigest()})
    if Part.FORMS in parts:
        for form in rows["forms"]:
            data = form.document.read()
            path = f"files/forms/{form.pk}{SUFFIX.get(form.content_type, '.bin')}"
            yield ("file", path, data)
            yield ("record", "form", {
                "id": str(form.pk), "client_id": cid, "kind": form.kind,
                "signed_on": _iso(form.signed_on), "content_type": form.content_type,
                "file": path, "sha256": hashlib.sha256(data).hexdigest()})
