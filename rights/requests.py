"""Rights requests (PIPL Arts. 44–48): received, identity checked, answered in time.

A request is due RIGHTS_DUE_DAYS (15) days after it arrives; an extension or a refusal
needs a reason. Each kind ends in its own act:

- access / copy: an encrypted archive (AES-256 ZIP: the record as JSON, a readable PDF in
  the client's language, the photos and signed forms), sealed with a passphrase that staff
  give the client separately; downloadable once;
- correction: the record is changed through the normal path (so the change log names the
  fields), and the old values are kept sealed on the request;
- deletion: the one destruction path, which ends in a signed certificate;
- restriction: nothing new is recorded until it is lifted;
- explanation: a written answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import secrets
import uuid
from decimal import Decimal
from pathlib import Path

import pyzipper
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import audit.services as audit
from access import door
from audit import actions
from records import consent, destruction, services
from records.models import (
    BeautyProfile,
    Client,
    ClientForm,
    ConsentEvent,
    Destruction,
    HealthNote,
    PatchTest,
    Photo,
    Restriction,
    Treatment,
)
from records.pdf import Document
from vault.classes import DataClass

from .models import AccessCopy, RightsRequest

Kind, State = RightsRequest.Kind, RightsRequest.State
MAX_EXTENSION_DAYS = 30  # beyond the first deadline, at most
COPY_LIFETIME = dt.timedelta(days=14)
REMIND_DAYS_BEFORE = 3


class RequestError(ValueError):
    """The step is refused; the message says why."""


def due_days() -> int:
    return getattr(settings, "RIGHTS_DUE_DAYS", 15)


def _label(actor, client_code: str) -> tuple[str, str]:
    if actor is None:
        return f"client:{client_code}", "client"
    from access import policy

    return actor.get_username(), policy.role_of(actor)


def _event(req: RightsRequest, actor, action: str, **detail) -> None:
    label, role = _label(actor, req.client_code)
    audit.record(actor=actor, actor_label=label, role=role, action=action, outcome="allowed",
                 client_id=req.client_id, client_code=req.client_code,
                 purpose=actions.HANDLE_RIGHTS_REQUEST,
                 detail={"request": str(req.pk), "kind": req.kind, **detail})


def open_request(*, client: Client, kind: str, channel: str, details: str = "",
                 actor=None) -> RightsRequest:
    """Record a request (the caller has opened a scope on the client, to seal the text).
    Made on the client's own signed link, the identity counts as checked."""
    if kind not in Kind.values:
        raise RequestError(_("Choose what the request is for."))
    now = timezone.now()
    from .models import Channel

    by_link = channel == Channel.CLIENT_PAGE
    with transaction.atomic():
        req = RightsRequest.objects.create(
            client_id=client.pk, client_code=client.code, kind=kind, channel=channel,
            received_at=now, received_by=actor, details=(details or "").strip()[:4000] or None,
            due_on=timezone.localdate(now) + dt.timedelta(days=due_days()),
            state=State.IN_PROGRESS if by_link else State.RECEIVED,
            identity=RightsRequest.Identity.CLIENT_LINK if by_link else "",
            identity_checked_at=now if by_link else None)
        _event(req, actor, actions.RIGHTS_REQUEST_OPEN, channel=channel)
    return req


def _open(req: RightsRequest) -> None:
    if not req.is_open:
        raise RequestError(_("This request is already closed."))


def check_identity(req: RightsRequest, *, method: str, note: str, actor) -> RightsRequest:
    _open(req)
    if method not in RightsRequest.Identity.values or method == RightsRequest.Identity.CLIENT_LINK:
        raise RequestError(_("Choose how the client's identity was checked."))
    if method == RightsRequest.Identity.OTHER and not note.strip():
        raise RequestError(_("Say how the identity was checked."))
    req.identity, req.identity_note = method, note.strip()[:300]
    req.identity_checked_by, req.identity_checked_at = actor, timezone.now()
    req.state = State.IN_PROGRESS
    req.save(update_fields=["identity", "identity_note", "identity_checked_by",
                            "identity_checked_at", "state"])
    _event(req, actor, actions.RIGHTS_REQUEST_STEP, step="identity", method=method)
    return req


def _needs_identity(req: RightsRequest) -> None:
    _open(req)
    if req.state != State.IN_PROGRESS:
        raise RequestError(_("Check the client's identity first."))


def extend(req: RightsRequest, *, to: dt.date, reason: str, actor) -> RightsRequest:
    _open(req)
    reason = " ".join((reason or "").split())
    if not reason:
        raise RequestError(_("An extension needs a reason, which the client is told."))
    if to <= req.deadline:
        raise RequestError(_("The new date must be after the current deadline."))
    if to > req.due_on + dt.timedelta(days=MAX_EXTENSION_DAYS):
        raise RequestError(_("A request may be extended by at most %(days)d days.")
                           % {"days": MAX_EXTENSION_DAYS})
    req.extended_to, req.extension_reason = to, reason[:500]
    req.save(update_fields=["extended_to", "extension_reason"])
    _event(req, actor, actions.RIGHTS_REQUEST_STEP, step="extend", to=to.isoformat())
    return req


def refuse(req: RightsRequest, *, reason: str, actor) -> RightsRequest:
    _open(req)
    reason = " ".join((reason or "").split())
    if not reason:
        raise RequestError(_("A refusal needs a reason, which the client is told."))
    req.refusal_reason = reason[:500]
    _close(req, State.REFUSED, actor, step="refuse")
    return req


def _close(req: RightsRequest, state: str, actor, **detail) -> None:
    req.state, req.resolved_at, req.resolved_by = state, timezone.now(), actor
    req.save()
    _event(req, actor, actions.RIGHTS_REQUEST_STEP, **detail)


def _client(req: RightsRequest) -> Client:
    client = Client.objects.select_related("location").filter(pk=req.client_id).first()
    if client is None:
        raise RequestError(_("The client's record no longer exists."))
    return client


def answer(req: RightsRequest, *, response: str, actor) -> RightsRequest:
    """An explanation (or any request answered in words): the answer is sealed."""
    _needs_identity(req)
    response = (response or "").strip()
    if not response:
        raise RequestError(_("Write the answer to the client."))
    client = _client(req)
    with door.open_client(user=actor, client=client, purpose=actions.HANDLE_RIGHTS_REQUEST,
                          action=actions.RIGHTS_REQUEST_STEP, want=DataClass.L3):
        req.response = response[:8000]
        _close(req, State.DONE, actor, step="answer")
    return req


def delete(req: RightsRequest, *, actor) -> Destruction:
    """A deletion request: the client goes through the one destruction path."""
    _needs_identity(req)
    client = _client(req)
    try:
        done = destruction.destroy_now(client, actor=actor, basis=Destruction.Basis.REQUEST,
                                       reason=f"deletion request {req.pk}")
    except destruction.NotDestroyable as exc:
        raise RequestError(str(exc)) from None
    req.destruction = done
    _close(req, State.DONE, actor, step="delete", destruction=str(done.pk))
    return done


def restrict(req: RightsRequest, *, actor) -> Restriction:
    _needs_identity(req)
    client = _client(req)
    with transaction.atomic():
        placed = Restriction.objects.create(client=client, placed_by=actor,
                                            reason=f"restriction request {req.pk}")
        _close(req, State.DONE, actor, step="restrict")
    return placed


def lift_restriction(restriction: Restriction, *, actor) -> None:
    Restriction.objects.filter(pk=restriction.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=actor)


CORRECTABLE = services.ALL_FIELDS


def correct(req: RightsRequest, *, changes: dict, actor) -> RightsRequest:
    """Correct fields of the record through the normal path; the old values are kept
    sealed on the request (and the change log names the fields)."""
    _needs_identity(req)
    changes = {k: v for k, v in changes.items() if k in CORRECTABLE}
    if not changes:
        raise RequestError(_("Enter at least one corrected value."))
    client = _client(req)
    with door.open_client(user=actor, client=client, purpose=actions.HANDLE_RIGHTS_REQUEST,
                          action=actions.RIGHTS_REQUEST_STEP, want=DataClass.L4):
        before = current_values(client, changes)
        services.client_update(actor=actor, client=client, data=changes)
        req.corrections = {k: [_plain(before.get(k)), _plain(v)] for k, v in changes.items()}
        _close(req, State.DONE, actor, step="correct", fields=sorted(changes))
    return req


def current_values(client: Client, names) -> dict:
    values = {}
    for name in names:
        owner = (client if name in services.CLIENT_FIELDS else
                 getattr(client, "profile", None) if name in services.PROFILE_FIELDS else
                 getattr(client, "health", None))
        values[name] = getattr(owner, name, None) if owner is not None else None
    return values


def _plain(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# -- the copy --------------------------------------------------------------------------------

def copies_dir() -> Path:
    return Path(settings.RIGHTS_COPY_DIR)


def make_copy(req: RightsRequest, *, actor, language: str) -> tuple[AccessCopy, str]:
    """The client's data as an AES-256 ZIP sealed with a new passphrase (returned once)."""
    if req.kind != Kind.ACCESS:
        raise RequestError(_("Only an access request gets a copy."))
    _needs_identity(req)
    client = _client(req)
    passphrase = "-".join(secrets.token_hex(3) for _ in range(4))
    with door.open_client(user=actor, client=client, purpose=actions.HANDLE_RIGHTS_REQUEST,
                          action=actions.RIGHTS_COPY_MAKE, want=DataClass.L4):
        record = export(client)
        with translation.override(language):
            pdf = readable_pdf(client, record)
        files = [(f"photos/{p.taken_on:%Y-%m-%d}-{p.kind}-{str(p.pk)[:8]}"
                  f"{_suffix(p.content_type)}", p.image.read())
                 for p in Photo.objects.filter(client=client)]
        files += [(f"forms/{f.signed_on:%Y-%m-%d}-{f.kind}-{str(f.pk)[:8]}"
                   f"{_suffix(f.content_type)}", f.document.read())
                  for f in ClientForm.objects.filter(client=client)]
        files += [(f"signatures/{c.at:%Y-%m-%d}-{c.purpose}-{str(c.pk)[:8]}.png",
                   c.signature.read())
                  for c in ConsentEvent.objects.filter(client=client).exclude(signature="")]
        files = [(path, data) for path, data in files if data is not None]  # unreadable: left out
    folder = copies_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{client.code}-{req.pk.hex[:8]}.zip"
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED,
                             encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(passphrase.encode())
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        archive.writestr("record.json", json.dumps(record, ensure_ascii=False, indent=1))
        archive.writestr(f"record-{language}.pdf", pdf)
        for path, data in files:
            archive.writestr(path, data)
    data = buffer.getvalue()
    (folder / name).write_bytes(data)
    (folder / name).chmod(0o600)
    with transaction.atomic():
        AccessCopy.objects.filter(request=req).delete()
        copy = AccessCopy.objects.create(
            request=req, file_name=name, sha256=hashlib.sha256(data).hexdigest(),
            byte_size=len(data), expires_at=timezone.now() + COPY_LIFETIME)
        _close(req, State.DONE, actor, step="copy", files=len(files), bytes=len(data))
    return copy, passphrase


def copy_path(copy: AccessCopy) -> Path:
    return copies_dir() / copy.file_name


def take_copy(copy: AccessCopy, *, actor=None) -> bytes:
    """The archive's bytes, once: the file is deleted as it is handed over."""
    with transaction.atomic():
        taken = AccessCopy.objects.filter(pk=copy.pk, downloaded_at__isnull=True,
                                          expires_at__gt=timezone.now()).update(
            downloaded_at=timezone.now())
        if not taken:
            raise RequestError(_("This copy has already been downloaded or has expired."))
        data = copy_path(copy).read_bytes()
        _event(copy.request, actor, actions.RIGHTS_COPY_DOWNLOAD)
    copy_path(copy).unlink(missing_ok=True)
    return data


def sweep_copies() -> int:
    """Delete copies downloaded or expired."""
    gone = 0
    for copy in AccessCopy.objects.filter(downloaded_at__isnull=True,
                                          expires_at__lte=timezone.now()):
        copy_path(copy).unlink(missing_ok=True)
        gone += 1
    return gone


def _suffix(content_type: str) -> str:
    return {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
            "application/pdf": ".pdf"}.get(content_type, ".bin")


def _fields(row, skip=()) -> dict:
    out = {}
    for field in row._meta.concrete_fields:
        name = field.name
        if (name in skip or name.endswith("_bidx") or field.is_relation
                or type(field).__name__ == "EncryptedFileField"):
            continue
        out[name] = _plain(getattr(row, name))
    return out


def export(client: Client) -> dict:
    """Everything kept about the client, as plain JSON (inside an open scope)."""
    record = {"format": "salon-vault-client-copy-1", "made_at": timezone.now().isoformat(),
              "client": _fields(client) | {"location": client.location.code}}
    for related, label in (("profile", "beauty_profile"), ("health", "health_notes")):
        row = getattr(client, related, None) if hasattr(client, related) else None
        record[label] = _fields(row, skip=("id",)) if row is not None else None
    record["treatments"] = [_fields(t, skip=("client",)) for t in
                            Treatment.objects.filter(client=client).order_by("performed_on")]
    record["photos"] = [_fields(p) for p in Photo.objects.filter(client=client)]
    record["signed_forms"] = [_fields(f) for f in ClientForm.objects.filter(client=client)]
    record["consents"] = [_fields(c) | {"signed": bool(c.signature)} for c in
                          ConsentEvent.objects.filter(client=client).order_by("at")]
    record["patch_tests"] = [_fields(t) | {"product": t.product.name} for t in
                             PatchTest.objects.filter(client=client).select_related("product")
                             .order_by("tested_on")]
    return record


def readable_pdf(client: Client, record: dict) -> bytes:
    """The record for the client to read, in the active language."""
    doc = Document(title=_("Your data kept by the salon"),
                   footer=_("Copy of the record of %(code)s") % {"code": client.code})
    doc.paragraph(_("This is everything the salon keeps about you, made on %(date)s at your "
                    "request. The file record.json holds the same in a machine-readable "
                    "form; your photos and signed forms are in the folders beside it.")
                  % {"date": timezone.localdate().isoformat()})
    labels = {f.name: str(f.verbose_name) for model in (Client, BeautyProfile, HealthNote)
              for f in model._meta.concrete_fields}
    doc.heading(_("Contact details"))
    doc.rows([(labels.get(k, k), v) for k, v in record["client"].items()
              if k not in ("id", "created_at", "updated_at")])
    for key, title in (("beauty_profile", _("Beauty profile")),
                       ("health_notes", _("Health notes"))):
        if record[key]:
            doc.heading(title)
            doc.rows([(labels.get(k, k), v) for k, v in record[key].items()])
    doc.heading(_("Treatments"))
    if not record["treatments"]:
        doc.paragraph(_("None."))
    for t in record["treatments"]:
        products = ", ".join(t.get("products") or [])
        doc.rows([(t["performed_on"], "; ".join(
            str(v) for v in (t.get("service"), products, t.get("colour_formula"),
                             t.get("notes"), t.get("price")) if v))])
    doc.heading(_("Consents"))
    purposes = dict(ConsentEvent.Purpose.choices)
    current = consent.current(client.pk)
    doc.rows([(str(purposes[p]), _("given") if e and e.action == "given" else
               _("withdrawn") if e else _("not asked")) for p, e in current.items()])
    doc.heading(_("Patch tests"))
    if not record["patch_tests"]:
        doc.paragraph(_("None."))
    results = dict(PatchTest.Result.choices)
    for t in record["patch_tests"]:
        doc.rows([(t["tested_on"], "; ".join(str(v) for v in (
            t["product"], results.get(t.get("result"), t.get("result")), t.get("reaction")) if v))])
    doc.paragraph(_("Photos: %(photos)d; signed forms: %(forms)d; consent signatures: "
                    "%(signatures)d (in the archive).")
                  % {"photos": len(record["photos"]), "forms": len(record["signed_forms"]),
                     "signatures": sum(c["signed"] for c in record["consents"])})
    return doc.render()


# -- deadlines -------------------------------------------------------------------------------

def open_requests():
    return RightsRequest.objects.filter(state__in=RightsRequest.OPEN)


def overdue(today: dt.date | None = None):
    today = today or timezone.localdate()
    from django.db.models import Q

    return open_requests().filter(Q(extended_to__isnull=True, due_on__lt=today)
                                  | Q(extended_to__lt=today))


def remind(today: dt.date | None = None) -> dict:
    """The daily reminder: each open request due within three days or overdue is
    reminded once a day to the owners (mail when it is set up; always on their home page)."""
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail

    from access.models import Role

    today = today or timezone.localdate()
    soon = today + dt.timedelta(days=REMIND_DAYS_BEFORE)
    due = [r for r in open_requests().exclude(last_reminded_on=today) if r.deadline <= soon]
    if not due:
        return {"reminded": 0, "overdue": overdue(today).count()}
    late = [r for r in due if r.deadline < today]
    lines = [f"{r.client_code} · {r.get_kind_display()} · {r.deadline:%Y-%m-%d}"
             + (" · OVERDUE" if r in late else "") for r in due]
    owners = list(get_user_model().objects.filter(is_active=True, staff__role=Role.OWNER)
                  .exclude(email="").values_list("email", flat=True))
    if owners and settings.EMAIL_HOST:
        send_mail(subject=f"Salon Vault: {len(due)} rights requests due, {len(late)} overdue",
                  message="\n".join(lines), from_email=None, recipient_list=owners,
                  fail_silently=True)
    RightsRequest.objects.filter(pk__in=[r.pk for r in due]).update(last_reminded_on=today)
    return {"reminded": len(due), "overdue": len(late)}
