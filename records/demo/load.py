"""Loading the demo salon: `seed_demo` writes the rows through the vault in batches."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from access import door
from access import services as access_services
from access.models import Location
from audit import actions
from records.maintenance import LARGE_WRITE, refresh_statistics
from vault import scope as vault_scope

from .. import uploads
from ..models import (
    BeautyProfile,
    Client,
    ClientForm,
    HealthNote,
    PatchTest,
    Photo,
    Product,
    Treatment,
)
from ..services import next_client_codes
from .files import demo_jpeg, demo_pdf
from .products import demo_products_ensure
from .rows import ClientRow, TreatmentRow, demo_rows
from .staff import DemoLogin, _logins, demo_password, demo_staff_ensure
from .vocabulary import LOCATIONS

BATCH = 2000
PROGRESS_EVERY = 10_000
ACTOR, PURPOSE = "seed_demo", actions.LOAD_DEMO


@dataclass
class DemoResult:
    clients: int = 0
    treatments: int = 0
    photos: int = 0
    forms: int = 0
    seconds: float = 0.0
    logins: list[DemoLogin] = field(default_factory=list)


@dataclass
class _Context:
    seed: int
    users: dict[str, User]
    places: dict[str, Location]
    photos_left: int
    forms_left: int
    result: DemoResult
    tested: dict[str, Product] = field(default_factory=dict)  # products needing a patch test


def _say(stdout: IO[str] | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")
        stdout.flush()  # progress must show when the output goes to a file or a pipe


def _chunks(rows: Iterator[ClientRow], size: int) -> Iterator[list[ClientRow]]:
    while chunk := [row for _, row in zip(range(size), rows, strict=False)]:
        yield chunk


def seed_demo(*, clients: int, treatments: int | None = None, seed: int = 1, photos: int = 20,
              forms: int = 10, today: dt.date | None = None,
              stdout: IO[str] | None = None) -> DemoResult:
    """Load `clients` demo clients with `treatments` visits in all (default three each).

    The first `photos` clients with a visit get a before/after photo pair, the first
    `forms` a signed consent form. Adds to whatever is there; `salon_has_data` guards
    `--once`.
    """
    began = time.monotonic()
    password = demo_password()
    users = demo_staff_ensure(password=password.value)
    demo_products_ensure()
    ctx = _Context(seed=seed, users=users, places={p.code: p for p in Location.objects.all()},
                   photos_left=photos, forms_left=forms, result=DemoResult(logins=_logins(users)),
                   tested={p.name: p for p in Product.objects.filter(needs_patch_test=True)})
    total = 3 * clients if treatments is None else treatments
    rows = demo_rows(seed=seed, clients=clients, treatments=total,
                     today=today or timezone.localdate(), start=Client.objects.count())
    for batch in _chunks(rows, BATCH):
        _write_batch(batch, ctx)
        done = ctx.result.clients
        if done % PROGRESS_EVERY < len(batch) or done == clients:
            _say(stdout, f"  {done:>7} / {clients} clients, {ctx.result.treatments} treatments "
                         f"({time.monotonic() - began:.0f}s)")
    if clients >= LARGE_WRITE:
        refresh_statistics()
    ctx.result.seconds = time.monotonic() - began
    return ctx.result


def _write_batch(rows: list[ClientRow], ctx: _Context) -> None:
    # One scope per batch, naming its clients: each audit event says exactly whom it
    # opened, and the unwrapped keys are dropped after each batch, not held for 100,000.
    # The door writes its audit event before the transactions, so it stays even if the
    # batch fails. Keys are the inner transaction, committed just before the records: a
    # failure rolls back both, and no committed record is ever without its key.
    ids = [row.id for row in rows]
    with (door.open_for_system(actor=ACTOR, purpose=PURPOSE, subjects=ids, create=True),
          transaction.atomic(using="default"), transaction.atomic(using="vault")):
        vault_scope.current().create_keys(ids)
        clients = _insert_clients(rows, ctx)
        _insert_details(rows, ctx)
        _attach_files(rows, clients, ctx)
    ctx.result.clients += len(rows)
    ctx.result.treatments += sum(len(row.treatments) for row in rows)


def _insert_clients(rows: list[ClientRow], ctx: _Context) -> list[Client]:
    codes = {code: iter(next_client_codes(place, sum(r.location == code for r in rows)))
             for code, place in ctx.places.items() if code in LOCATIONS}
    clients = [
        Client(id=row.id, code=next(codes[row.location]), location=ctx.places[row.location],
               assigned_staff=ctx.users.get(row.staff),
               last_visit=max((t.performed_on for t in row.treatments), default=None),
               full_name=row.full_name, phone=row.phone, wechat_id=row.wechat_id or None,
               email=row.email or None, birthday=row.birthday)
        for row in rows
    ]
    created = Client.objects.bulk_create(clients)
    # Assignment is a grant: the assigned stylist may open the whole record.
    access_services.grants_for_assignments(
        pairs=[(c.assigned_staff, c) for c in created if c.assigned_staff is not None])
    return created


def _insert_details(rows: list[ClientRow], ctx: _Context) -> None:
    BeautyProfile.objects.bulk_create(
        BeautyProfile(client_id=row.id, **row.profile) for row in rows if row.profile)
    HealthNote.objects.bulk_create(
        HealthNote(client_id=row.id, **row.health) for row in rows if row.health)
    Treatment.objects.bulk_create(
        Treatment(id=t.id, client_id=row.id, performed_on=t.performed_on,
                  staff=ctx.users.get(t.staff), service=t.service, products=list(t.products),
                  colour_formula=t.colour_formula or None, notes=t.notes or None, price=t.price)
        for row in rows for t in row.treatments)
    PatchTest.objects.bulk_create(_patch_tests(rows, ctx))


def _patch_tests(rows: list[ClientRow], ctx: _Context) -> Iterator[PatchTest]:
    """A passed patch test two days before the latest visit that used each product needing
    one (older visits' tests have expired, so a new dye today is stopped until the client is
    tested again). A client whose recorded allergy names the dye's allergen gets none: the
    allergy stops the dye on its own."""
    for row in rows:
        if "PPD" in (row.health or {}).get("allergies", ""):
            continue
        latest: dict[str, TreatmentRow] = {}
        for t in row.treatments:  # newest first
            for name in t.products:
                if name in ctx.tested:
                    latest.setdefault(name, t)
        for name, t in latest.items():
            yield PatchTest(client_id=row.id, product=ctx.tested[name],
                            tested_on=t.performed_on - dt.timedelta(days=2),
                            recorded_by=ctx.users.get(t.staff), result=PatchTest.Result.PASSED)


def _attach_files(rows: list[ClientRow], clients: list[Client], ctx: _Context) -> None:
    for row, client in zip(rows, clients, strict=True):
        if not row.treatments or (ctx.photos_left <= 0 and ctx.forms_left <= 0):
            continue
        first = row.treatments[-1]  # treatments run newest first
        staff = ctx.users.get(first.staff)
        if ctx.photos_left > 0:
            ctx.photos_left -= 1
            for kind in (Photo.Kind.BEFORE, Photo.Kind.AFTER):
                _add_photo(client, first, staff, kind, ctx)
        if ctx.forms_left > 0:
            ctx.forms_left -= 1
            _add_form(client, first, staff, ctx)


def _add_photo(client: Client, first: TreatmentRow, staff: User | None, kind: str,
               ctx: _Context) -> None:
    data = demo_jpeg(seed=ctx.seed, index=ctx.result.photos // 2, kind=kind)
    # The thumbnail is made here rather than by the Celery task photo_add queues: the
    # demo must look complete even before a worker has started.
    Photo.objects.create(client=client, treatment_id=first.id, kind=kind,
                         taken_on=first.performed_on, uploaded_by=staff, image=data,
                         thumbnail=uploads.thumbnail(data), content_type="image/jpeg",
                         byte_size=len(data), width=320, height=320)
    ctx.result.photos += 1


def _add_form(client: Client, first: TreatmentRow, staff: User | None,
              ctx: _Context) -> None:
    data = demo_pdf(lines=("Salon Vault - consent form (demo)", f"Client code: {client.code}",
                           "Service: hair colour / skin treatment",
                           "Patch test 48 hours before: done",
                           f"Signed on: {first.performed_on.isoformat()}"))
    ClientForm.objects.create(client=client, kind=ClientForm.Kind.CONSENT,
                              signed_on=first.performed_on, uploaded_by=staff, document=data,
                              content_type="application/pdf", byte_size=len(data))
    ctx.result.forms += 1
