"""Consent per purpose (PIPL Arts. 14, 15, 29, 31): given with evidence, withdrawn in one
step, taking effect at once.

Every change is a new ConsentEvent; a purpose's current state is its latest event. What a
withdrawal does:

- record photos: the photos are hidden from staff at once, and their destruction (through
  the one destruction path, with a certificate) is queued;
- health data: no new health notes are written; the notes already kept stay readable
  (they may be needed to keep the client safe) until the client asks for their deletion;
- service records: no new treatments are recorded;
- portfolio, marketing, transfer: the salon may no longer use the record that way (the sale
  of the business reads the transfer consent).

A purpose never given counts as not given: photos and health notes then show as missing
consent on the client's page, and the client's own page asks for it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

import audit.services as audit
from access import door
from audit import actions
from vault.classes import DataClass

from . import notices
from .models import Client, ConsentEvent, Destruction, Photo, Provenance, Restriction

Purpose = ConsentEvent.Purpose
Action = ConsentEvent.Action
Channel = ConsentEvent.Channel
GUARDIAN_BELOW_AGE = 14  # PIPL Art. 31: a guardian consents for a child under 14
SIGNATURE_MAX_BYTES = 400_000
# What a withdrawal stops, by purpose: the record types no longer written.
STOPS = {Purpose.SERVICE: "treatment", Purpose.HEALTH: "health", Purpose.PHOTOS: "photo"}


class ConsentError(ValueError):
    """The consent cannot be recorded as asked (the message says why, for the person)."""


class NotAllowed(PermissionError):
    """What the client's choices do not allow now (the message says why, for staff)."""


class ConsentWithdrawn(NotAllowed):
    """The client withdrew consent to this purpose: the action is refused."""

    def __init__(self, purpose: str):
        self.purpose = purpose
        super().__init__(_("The client has withdrawn consent to “%(purpose)s”; this is no "
                           "longer recorded.") % {"purpose": Purpose(purpose).label})


def current(client_id) -> dict[str, ConsentEvent | None]:
    """Each purpose's latest event (None: never asked)."""
    latest: dict[str, ConsentEvent | None] = dict.fromkeys(Purpose.values)
    for event in ConsentEvent.objects.filter(client_id=client_id).order_by("at"):
        latest[event.purpose] = event
    return latest


def is_given(client_id, purpose: str) -> bool:
    event = (ConsentEvent.objects.filter(client_id=client_id, purpose=purpose)
             .order_by("-at").only("action").first())
    return event is not None and event.action == Action.GIVEN


def is_withdrawn(client_id, purpose: str) -> bool:
    event = (ConsentEvent.objects.filter(client_id=client_id, purpose=purpose)
             .order_by("-at").only("action").first())
    return event is not None and event.action == Action.WITHDRAWN


def withdrawn_ids(purpose: str, client_ids) -> set:
    """Of these clients, those whose latest event for the purpose is a withdrawal."""
    latest: dict = {}
    for client_id, action in (ConsentEvent.objects.filter(client_id__in=client_ids,
                                                          purpose=purpose)
                              .order_by("at").values_list("client_id", "action")):
        latest[client_id] = action
    return {cid for cid, action in latest.items() if action == Action.WITHDRAWN}


class Restricted(NotAllowed):
    """The client asked for processing to be restricted: nothing new is recorded."""

    def __init__(self):
        super().__init__(_("The client asked for the use of their data to be restricted: "
                           "nothing new is recorded until the restriction is lifted."))


def is_restricted(client_id) -> bool:
    return Restriction.objects.filter(client_id=client_id, lifted_at__isnull=True).exists()


class PurposeLocked(NotAllowed):
    """A record bought with another salon's business is used here only for the purposes
    it was kept for there; a new one needs the client's consent given here."""

    def __init__(self, purpose: str):
        self.purpose = purpose
        super().__init__(_("This client's record came with the purchase of another salon: "
                           "“%(purpose)s” was not one of its purposes there. Ask the client "
                           "for their consent first.") % {"purpose": Purpose(purpose).label})


def purpose_locked(client_id, purpose: str) -> bool:
    """Whether an imported client's record may not (yet) be used for this purpose."""
    origin = Provenance.objects.filter(client_id=client_id).first()
    if origin is None or purpose in origin.original_purposes:
        return False
    latest = (ConsentEvent.objects.filter(client_id=client_id, purpose=purpose,
                                          at__gt=origin.imported_at)
              .order_by("-at").only("action").first())
    return latest is None or latest.action != Action.GIVEN


def check_allowed(client_id, purpose: str) -> None:
    """Raise Restricted if the client restricted processing, ConsentWithdrawn if they
    withdrew consent to the purpose, PurposeLocked if their record was bought with another
    salon and this purpose is new to it."""
    if is_restricted(client_id):
        raise Restricted()
    if is_withdrawn(client_id, purpose):
        raise ConsentWithdrawn(purpose)
    if purpose_locked(client_id, purpose):
        raise PurposeLocked(purpose)


def age_on(birthday: dt.date | None, day: dt.date) -> int | None:
    if birthday is None:
        return None
    return day.year - birthday.year - ((day.month, day.day) < (birthday.month, birthday.day))


def needs_guardian(birthday: dt.date | None, day: dt.date | None = None) -> bool:
    age = age_on(birthday, day or timezone.localdate())
    return age is not None and age < GUARDIAN_BELOW_AGE


def signature_png(data_url: str) -> bytes:
    """The signature drawn on the canvas (a PNG data URL), checked and re-encoded, so that
    nothing but the picture is kept."""
    prefix = "data:image/png;base64,"
    if not data_url or not data_url.startswith(prefix):
        raise ConsentError(_("Sign in the box: the signature is missing."))
    try:
        raw = base64.b64decode(data_url[len(prefix):], validate=True)
    except (binascii.Error, ValueError):
        raise ConsentError(_("The signature could not be read; sign again.")) from None
    if len(raw) > SIGNATURE_MAX_BYTES:
        raise ConsentError(_("The signature is too large; clear the box and sign again."))
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format != "PNG" or image.width * image.height > 4_000_000:
                raise ConsentError(_("The signature could not be read; sign again."))
            image = image.convert("LA")
            if image.getextrema()[1][1] == 0:  # fully transparent: nothing drawn
                raise ConsentError(_("Sign in the box: the signature is missing."))
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ConsentError(_("The signature could not be read; sign again.")) from None
    return out.getvalue()


def record(*, client: Client, purpose: str, action: str, channel: str, actor=None,
           signature: bytes | None = None, guardian_name: str = "",
           notice_version: int | None = None) -> ConsentEvent:
    """Record a consent given or withdrawn, and make a withdrawal take effect.

    `actor` is the staff member recording it (in person or from a paper form), or None
    when the client does it on their own page (the caller has opened the client's scope).
    Giving consent in person needs the signature; a child under 14 needs a guardian's.
    """
    if purpose not in Purpose.values or action not in Action.values:
        raise ConsentError(_("Unknown purpose or action."))
    guardian_name = " ".join((guardian_name or "").split())[:200]
    if action == Action.GIVEN:
        if channel == Channel.IN_PERSON and not signature:
            raise ConsentError(_("Consent given in person needs the client's signature."))
        if needs_guardian(client.birthday) and not guardian_name:
            raise ConsentError(_("The client is under 14: a parent or guardian gives consent. "
                                 "Enter the guardian's name, and have the guardian sign."))
    if notice_version is None:
        notice_version = notices.current_version()
    with transaction.atomic():
        event = ConsentEvent.objects.create(
            client=client, purpose=purpose, action=action, at=timezone.now(),
            channel=channel, notice_version=notice_version, recorded_by=actor,
            signature=signature or "", guardian_name=guardian_name or None)
        audit.record(actor=actor, actor_label=(actor.get_username() if actor is not None
                                               else f"client:{client.code}"),
                     role="" if actor is not None else "client",
                     action=(actions.CONSENT_GIVE if action == Action.GIVEN
                             else actions.CONSENT_WITHDRAW),
                     outcome="allowed", client_id=client.pk, client_code=client.code,
                     location_code=client.location.code, purpose=actions.RECORD_CONSENT,
                     detail={"purpose": purpose, "channel": channel,
                             "notice_version": notice_version,
                             "guardian": bool(guardian_name)})
        if action == Action.WITHDRAWN and purpose == Purpose.PHOTOS:
            _queue_photo_destruction(client, actor)
    return event


def _queue_photo_destruction(client: Client, actor) -> None:
    """The photos go through the destruction path, after this transaction commits."""
    from . import destruction, tasks

    if not Photo.objects.filter(client_id=client.pk).exists():
        return
    stopped = destruction.unfinished().filter(client_id=client.pk,
                                              scope=Destruction.Scope.PHOTOS).first()
    queued = stopped or destruction.approve(destruction.request(
        client, actor=actor, basis=Destruction.Basis.CONSENT, scope=Destruction.Scope.PHOTOS,
        reason="the client withdrew consent to record photos"), actor=actor)
    transaction.on_commit(lambda: tasks.run_destruction.delay(str(queued.pk)))


def record_by_staff(*, actor, client: Client, purpose: str, action: str, channel: str,
                    signature_data_url: str = "", guardian_name: str = "") -> ConsentEvent:
    """Staff record a consent (in person on the tablet, or from a paper form): the door
    decides and records the opening; the client's birthday is read for the guardian rule."""
    with door.open_client(user=actor, client=client, purpose=actions.RECORD_CONSENT,
                          action=actions.CLIENT_OPEN_FOR_EDIT, want=DataClass.L2):
        signature = (signature_png(signature_data_url)
                     if action == Action.GIVEN and channel == Channel.IN_PERSON else None)
        return record(client=client, purpose=purpose, action=action, channel=channel,
                      actor=actor, signature=signature, guardian_name=guardian_name)
