"""Writes to client records. Each opens the client through the door for its purpose."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from access import door, policy
from access import services as access_services
from access.models import Location
from audit import actions
from vault import blind
from vault.classes import DataClass
from vault.errors import IntegrityError
from vault.fields import data_classes

from . import consent, contraindications, tasks, uploads
from .models import BeautyProfile, Client, ClientForm, HealthNote, Photo, Treatment

# The fields staff write, each with the data class its model field declares.
CLIENT_FIELDS = data_classes(Client, ("full_name", "phone", "wechat_id", "email", "birthday"))
PROFILE_FIELDS = data_classes(BeautyProfile, ("skin_type", "hair", "concerns"))
HEALTH_FIELDS = data_classes(HealthNote, ("allergies", "contraindications", "medication",
                                          "pregnancy", "conditions"))
ALL_FIELDS = CLIENT_FIELDS | PROFILE_FIELDS | HEALTH_FIELDS


def _needed_class(data: dict) -> int:
    return max((ALL_FIELDS[name] for name in data), default=DataClass.L2)


def next_client_codes(location: Location, count: int = 1) -> list[str]:
    """Take the next `count` codes of a location, e.g. BJ-000042. Codes are L1.

    The counter advances with one atomic UPDATE, so concurrent creators never collide;
    inside a transaction that rolls back, the numbers are given back too.
    """
    with transaction.atomic():
        Location.objects.filter(pk=location.pk).update(client_seq=F("client_seq") + count)
        last = Location.objects.values_list("client_seq", flat=True).get(pk=location.pk)
    prefix = f"{location.code.upper()}-"
    return [f"{prefix}{n:06d}" for n in range(last - count + 1, last + 1)]


def _apply(client: Client, data: dict) -> None:
    """Assign fields of a client and its profile and health notes (inside a scope)."""
    for name in CLIENT_FIELDS.keys() & data.keys():
        setattr(client, name, data[name] or None)
    client.save()
    for model, fields, related in ((BeautyProfile, PROFILE_FIELDS, "profile"),
                                   (HealthNote, HEALTH_FIELDS, "health")):
        names = fields.keys() & data.keys()
        if not names:
            continue
        try:
            row = getattr(client, related)
        except model.DoesNotExist:
            row = model(client=client)
        if (model is HealthNote and any(data[name] for name in names)
                and any(_differs(row, name, data[name]) for name in names)):
            # New health data after the client withdrew consent to it: refused.
            consent.check_allowed(client.pk, consent.Purpose.HEALTH)
        for name in names:
            setattr(row, name, data[name] or None)
        row.save()


def _differs(row, name: str, value) -> bool:
    if not value:
        return False
    try:
        return getattr(row, name) != value
    except IntegrityError:  # a damaged stored value: the new one would replace it
        return True


def client_create(*, actor, location: Location, data: dict, assigned_staff=None) -> Client:
    unknown = data.keys() - ALL_FIELDS.keys()
    if unknown:
        raise ValueError(f"unknown client fields: {sorted(unknown)}")
    client = Client(id=uuid.uuid4(), location=location, assigned_staff=assigned_staff)
    with transaction.atomic():
        # The code comes first, so the event of the creation names it.
        client.code = next_client_codes(location)[0]
        with door.open_client(user=actor, client=client, purpose=actions.CREATE_CLIENT,
                              action=actions.CLIENT_CREATE, want=_needed_class(data), create=True):
            _apply(client, data)
            if assigned_staff is not None:
                access_services.client_assignment_changed(actor=actor, client=client,
                                                          old_user=None, new_user=assigned_staff)
    return client


def client_namesakes(*, location: Location, full_name: str, phone: str) -> list[str]:
    """Codes of the location's clients with this name and phone, found by blind index:
    a new client like them is most likely the same person typed in twice."""
    if not (full_name and phone):
        return []
    return list(Client.objects.filter(location=location,
                                      name_bidx=blind.terms(blind.NAME, full_name),
                                      phone_bidx=blind.terms(blind.PHONE, phone))
                .order_by("code").values_list("code", flat=True)[:5])


def assignable_staff(client: Client):
    from django.contrib.auth import get_user_model

    return (get_user_model().objects.filter(
        is_active=True, staff__role__in=policy.ASSIGNED_ROLES, staff__location_id=client.location_id)
        .select_related("staff").order_by("username"))


@transaction.atomic
def client_assign(*, actor, client: Client, staff_user, expires_at=None,
                  decider: policy.Decider | None = None) -> Client:
    """Assign a client to a stylist: it grants them access, and unassigning revokes it."""
    if not (decider or policy.Decider(actor)).may_assign(client):
        raise door.AccessDenied()
    if staff_user is not None and not assignable_staff(client).filter(pk=staff_user.pk).exists():
        raise ValueError("only active stylists and beauticians of the client's location")
    old = client.assigned_staff
    Client.objects.filter(pk=client.pk).update(assigned_staff=staff_user)
    client.assigned_staff = staff_user
    access_services.client_assignment_changed(actor=actor, client=client, old_user=old,
                                              new_user=staff_user, expires_at=expires_at)
    return client


def client_update(*, actor, client: Client, data: dict,
                  decider: policy.Decider | None = None) -> Client:
    unknown = data.keys() - ALL_FIELDS.keys()
    if unknown:
        raise ValueError(f"unknown client fields: {sorted(unknown)}")
    with door.open_client(user=actor, client=client, purpose=actions.UPDATE_CLIENT,
                          action=actions.CLIENT_UPDATE, want=_needed_class(data),
                          decider=decider), transaction.atomic():
        _apply(client, data)
    return client


def treatment_add(*, actor, client: Client, performed_on: dt.date, service: str,
                  products: list[str] | None = None, colour_formula: str = "", notes: str = "",
                  price: Decimal | None = None, override_reason: str = "",
                  decider: policy.Decider | None = None) -> Treatment:
    """Record a treatment, unless the contraindication check stops it: then
    contraindications.Stopped is raised and nothing is written. `actor` overrides the stops
    by giving `override_reason`, which only owners and managers may do; the reason is
    sealed beside the treatment and the override audited."""
    consent.check_allowed(client.pk, consent.Purpose.SERVICE)
    decider = decider or policy.Decider(actor)
    if decider.ceiling(client) < DataClass.L3:  # before the check reads anything for them
        door.record_denied(user=actor, action=actions.TREATMENT_CREATE, client_id=client.pk)
        raise door.AccessDenied()
    overridden = contraindications.stops_to_override(
        actor=actor, role=decider.role, client=client, products=products or [],
        on=performed_on, override_reason=override_reason)
    with door.open_client(user=actor, client=client, purpose=actions.RECORD_TREATMENT,
                          action=actions.TREATMENT_CREATE, want=DataClass.L3,
                          decider=decider), transaction.atomic():
        treatment = Treatment.objects.create(
            client=client, performed_on=performed_on, staff=actor, service=service,
            products=products or [], colour_formula=colour_formula or None,
            notes=notes or None, price=price,
        )
        if overridden:
            contraindications.override_record(actor=actor, role=decider.role, client=client,
                                              treatment=treatment, stops=overridden,
                                              reason=override_reason)
        if client.last_visit is None or performed_on > client.last_visit:
            Client.objects.filter(pk=client.pk).update(last_visit=performed_on)
            client.last_visit = performed_on
    return treatment


def photo_add(*, actor, client: Client, upload, kind: str, taken_on: dt.date,
              treatment: Treatment | None = None,
              decider: policy.Decider | None = None) -> Photo:
    consent.check_allowed(client.pk, consent.Purpose.PHOTOS)
    clean = uploads.clean_photo(upload)
    # In a transaction, so that a failed insert takes the sealed file it wrote with it.
    with door.open_client(user=actor, client=client, purpose=actions.ADD_PHOTO,
                          action=actions.PHOTO_CREATE, want=DataClass.L4,
                          decider=decider), transaction.atomic():
        photo = Photo.objects.create(
            client=client, treatment=treatment, kind=kind, taken_on=taken_on, uploaded_by=actor,
            image=clean.data, content_type=clean.content_type, byte_size=len(clean.data),
            width=clean.width, height=clean.height,
        )
    # The task gets the id only; it opens the photo itself as a named system actor.
    transaction.on_commit(lambda: tasks.make_photo_thumbnail.delay(str(photo.pk)))
    return photo


def photo_make_thumbnail(*, photo_id: uuid.UUID | str) -> bool:
    """Make the encrypted thumbnail of a photo. Safe to run twice: a second run does nothing."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None or photo.thumbnail:
        return False
    with door.open_for_system(actor="thumbnailer", purpose=actions.MAKE_THUMBNAIL,
                              subjects=[photo.client_id], ceiling=DataClass.L4):
        photo.thumbnail = uploads.thumbnail(photo.image.read())
        with transaction.atomic():
            photo.save(update_fields=["thumbnail"])
    return True


def form_add(*, actor, client: Client, upload, kind: str, signed_on: dt.date,
             decider: policy.Decider | None = None) -> ClientForm:
    if consent.is_restricted(client.pk):
        raise consent.Restricted()
    clean = uploads.clean_form_document(upload)
    with door.open_client(user=actor, client=client, purpose=actions.ADD_FORM,
                          action=actions.FORM_CREATE, want=DataClass.L4,
                          decider=decider), transaction.atomic():
        return ClientForm.objects.create(
            client=client, kind=kind, signed_on=signed_on, uploaded_by=actor,
            document=clean.data, content_type=clean.content_type, byte_size=len(clean.data),
        )
