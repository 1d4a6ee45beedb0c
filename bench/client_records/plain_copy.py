"""The plaintext twin of the seeded salon (bench.plainapp), decrypted once as a system
job, and the planner statistics of both sides."""

from __future__ import annotations

import time

from bench.client_records import BATCH
from bench.common import say


# -- setup -----------------------------------------------------------------------------
def _fresh_twin_tables() -> None:
    from django.db import connection

    from bench.plainapp.models import TWINS

    existing = set(connection.introspection.table_names())
    with connection.schema_editor() as editor:
        for model in reversed(TWINS):
            if model._meta.db_table in existing:
                editor.delete_model(model)
        for model in TWINS:
            editor.create_model(model)


def ensure_plain_copy(fresh: bool = False) -> None:
    """Decrypt every record once, as a system job, into the plaintext twins.

    Rows go into the twins in the order they went into the encrypted tables (creation
    time, then code; a client's treatments together), so both sides have the same physical
    layout: with SQLite a page in code order costs up to twice as much on a table whose
    rows lie in another order, which would favour the encrypted side.
    """
    from django.db import transaction

    from records.models import Client, Treatment

    total, treatments = Client.objects.count(), Treatment.objects.count()
    if not fresh and _copy_is_whole(total, treatments):
        say(f"reusing the plaintext copy ({total} clients)")
        return
    say(f"making the plaintext copy: decrypting {total} clients and {treatments} treatments "
        f"once, as system actor `bench` (a few minutes at 100,000)...")
    _fresh_twin_tables()
    order = list(Client.objects.order_by("created_at", "code").values_list("pk", flat=True))
    began, done = time.monotonic(), 0
    for start in range(0, len(order), BATCH):
        ids = order[start:start + BATCH]
        twins = _twins(ids)
        with transaction.atomic():
            for model, objs in twins:
                model.objects.bulk_create(objs, batch_size=500)
        done += len(ids)
        if done % 10_000 < len(ids) or done == total:
            say(f"  copied {done:>7} / {total} clients ({time.monotonic() - began:.0f}s)")


def _copy_is_whole(total: int, treatments: int) -> bool:
    from django.db import connection

    from bench.plainapp import models as plain

    return (plain.PlainClient._meta.db_table in connection.introspection.table_names()
            and plain.PlainClient.objects.count() == total
            and plain.PlainTreatment.objects.count() == treatments)


def _twins(ids: list) -> list[tuple[type, list]]:
    """The plaintext twins of these clients and their records, in the encrypted tables'
    order, decrypted in one scope (like seed_demo: its keys are dropped after)."""
    from access import door
    from bench.plainapp import models as plain
    from records.models import BeautyProfile, Client, ClientForm, HealthNote, Photo, Treatment
    from vault import scope as vault_scope

    rank = {pk: i for i, pk in enumerate(ids)}

    def by_client(rows):
        return sorted(rows, key=lambda r: rank[r.client_id])

    with door.open_for_system(actor="bench", purpose="benchmark setup: plaintext copy",
                              subjects=ids):
        vault_scope.current().prefetch(ids)
        clients = [plain.PlainClient(
            id=c.pk, code=c.code, location_id=c.location_id,
            assigned_staff_id=c.assigned_staff_id, last_visit=c.last_visit,
            created_at=c.created_at, updated_at=c.updated_at, full_name=c.full_name,
            phone=c.phone, wechat_id=c.wechat_id, email=c.email, birthday=c.birthday)
            for c in sorted(Client.objects.filter(pk__in=ids), key=lambda c: rank[c.pk])]
        profiles = [plain.PlainBeautyProfile(
            id=p.pk, client_id=p.client_id, skin_type=p.skin_type, hair=p.hair,
            concerns=p.concerns)
            for p in by_client(BeautyProfile.objects.filter(client_id__in=ids))]
        health = [plain.PlainHealthNote(
            id=h.pk, client_id=h.client_id, allergies=h.allergies,
            contraindications=h.contraindications, medication=h.medication,
            pregnancy=h.pregnancy, conditions=h.conditions)
            for h in by_client(HealthNote.objects.filter(client_id__in=ids))]
        visits = [plain.PlainTreatment(
            id=t.pk, client_id=t.client_id, performed_on=t.performed_on,
            staff_id=t.staff_id, created_at=t.created_at, service=t.service,
            products=t.products, colour_formula=t.colour_formula, notes=t.notes,
            price=t.price)
            for t in Treatment.objects.filter(client_id__in=ids).order_by("created_at")]
        # Photos and forms: metadata only; pages link to the files, never read them.
        photos = [plain.PlainPhoto(
            id=p.pk, client_id=p.client_id, treatment_id=p.treatment_id, kind=p.kind,
            taken_on=p.taken_on, uploaded_by_id=p.uploaded_by_id,
            image=p.__dict__["image"] or "", thumbnail=p.__dict__["thumbnail"] or "",
            content_type=p.content_type, byte_size=p.byte_size, width=p.width,
            height=p.height) for p in by_client(Photo.objects.filter(client_id__in=ids))]
        forms = [plain.PlainClientForm(
            id=f.pk, client_id=f.client_id, kind=f.kind, signed_on=f.signed_on,
            uploaded_by_id=f.uploaded_by_id, document=f.__dict__["document"] or "",
            content_type=f.content_type, byte_size=f.byte_size)
            for f in by_client(ClientForm.objects.filter(client_id__in=ids))]
    return [(plain.PlainClient, clients), (plain.PlainBeautyProfile, profiles),
            (plain.PlainHealthNote, health), (plain.PlainTreatment, visits),
            (plain.PlainPhoto, photos), (plain.PlainClientForm, forms)]


def refresh_statistics() -> None:
    """Planner statistics for both sides, as seeding and the daily job give the real tables
    (a salon kept from an earlier run may predate them)."""
    from django.db import connection

    from bench.plainapp.models import TWINS
    from records import maintenance

    maintenance.refresh_statistics()
    with connection.cursor() as cursor:
        for model in TWINS:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    say("planner statistics refreshed (encrypted tables and plaintext twins)")
