#!/usr/bin/env python
"""Benchmark of the encrypted client records, run by hand:

    .venv/bin/python bench/records.py [--clients 100000] [--quick] [--keep DIR]

It loads a demo salon with ``records.demo.seed_demo`` into a scratch directory
(SALON_VAULT_VAR; SQLite there, or PostgreSQL when DATABASE_URL / VAULT_DATABASE_URL are
set), makes a plaintext copy of it in twin models (``bench.plainapp``), and measures in
one run:

1. the client list and client detail pages through the real views (django.test.Client,
   logged in as the owner) against the same templates over the plaintext twins;
2. phone (full and last four digits) and name search through the blind indexes against
   decrypting and scanning every client;
3. field encryption and decryption (vault AES-GCM, raw and through the model field)
   against Fernet, per value and in bulk.

It prints a table; the figures of a 100,000-client run go to README.md ("Benchmark").
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import difflib
import gc
import io
import math
import os
import platform
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `python bench/records.py` puts bench/ first on sys.path, where this very file would
# shadow the `records` app: the project root goes there instead.
sys.path[:1] = [str(ROOT)]

from bench.common import (  # noqa: E402
    Result,
    ensure_seeded,
    median,
    ms,
    p95,
    prepare_databases,
    report,
    say,
    setup_django,
    us,
    verify_second_factor,
)

QUICK_CLIENTS = 5_000
BATCH = 2_000


RESULTS: list[Result] = []


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
    from django.db import connection, transaction

    from access import door
    from bench.plainapp import models as plain
    from records.models import BeautyProfile, Client, ClientForm, HealthNote, Photo, Treatment
    from vault import scope as vault_scope

    total = Client.objects.count()
    treatments = Treatment.objects.count()
    if (not fresh and plain.PlainClient._meta.db_table in connection.introspection.table_names()
            and plain.PlainClient.objects.count() == total
            and plain.PlainTreatment.objects.count() == treatments):
        say(f"reusing the plaintext copy ({total} clients)")
        return
    say(f"making the plaintext copy: decrypting {total} clients and {treatments} treatments "
        f"once, as system actor `bench` (a few minutes at 100,000)...")
    _fresh_twin_tables()
    order = list(Client.objects.order_by("created_at", "code").values_list("pk", flat=True))
    began, done = time.monotonic(), 0
    for start in range(0, len(order), BATCH):
        ids = order[start:start + BATCH]
        rank = {pk: i for i, pk in enumerate(ids)}

        def by_client(rows, rank=rank):
            return sorted(rows, key=lambda r: rank[r.client_id])

        # One scope per batch (like seed_demo): its keys are dropped after.
        with door.open_for_system(actor="bench", purpose="benchmark setup: plaintext copy",
                                  subjects=ids):
            vault_scope.current().prefetch(ids)
            chunk = sorted(Client.objects.filter(pk__in=ids), key=lambda c: rank[c.pk])
            clients = [plain.PlainClient(
                id=c.pk, code=c.code, location_id=c.location_id,
                assigned_staff_id=c.assigned_staff_id, last_visit=c.last_visit,
                created_at=c.created_at, updated_at=c.updated_at, full_name=c.full_name,
                phone=c.phone, wechat_id=c.wechat_id, email=c.email, birthday=c.birthday)
                for c in chunk]
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
        with transaction.atomic():
            for model, objs in ((plain.PlainClient, clients), (plain.PlainBeautyProfile, profiles),
                                (plain.PlainHealthNote, health), (plain.PlainTreatment, visits),
                                (plain.PlainPhoto, photos), (plain.PlainClientForm, forms)):
                model.objects.bulk_create(objs, batch_size=500)
        done += len(ids)
        if done % 10_000 < len(ids) or done == total:
            say(f"  copied {done:>7} / {total} clients ({time.monotonic() - began:.0f}s)")


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


# -- 1. pages --------------------------------------------------------------------------
_VOLATILE = re.compile(r'(name="csrfmiddlewaretoken" value=|name="next" type="hidden" value=)"[^"]*"')


def _normalised(html: bytes) -> str:
    return _VOLATILE.sub(r'\1""', html.decode())


def _get(http, url: str, cpu: list[float] | None = None) -> float:
    """Wall time of one request; its CPU time (this thread, SQLite included) goes to `cpu`."""
    began, began_cpu = time.perf_counter(), time.thread_time()
    response = http.get(url)
    elapsed = time.perf_counter() - began
    if cpu is not None:
        cpu.append(time.thread_time() - began_cpu)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return elapsed


def _search(http, q: str) -> float:
    """Wall time of one search: the term is posted, as the search box does."""
    began = time.perf_counter()
    response = http.post("/clients/", {"q": q})
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise SystemExit(f"POST /clients/ (a search) answered {response.status_code}")
    return elapsed


def measure_pages(http, owner, requests: int, rng: random.Random) -> dict:
    from records.models import Client

    codes = list(Client.objects.order_by("code").values_list("code", flat=True))
    pages = max(1, math.ceil(len(codes) / 50))
    # Any page: the list pages by code (?after=<the last code of the page before>).
    starts = [50 * (rng.randint(1, pages) - 1) for _ in range(requests)]
    after = [codes[start - 1] if start else "" for start in starts]
    del codes
    all_ids = list(Client.objects.values_list("pk", flat=True))
    detail_ids = rng.sample(all_ids, min(requests, len(all_ids)))
    del all_ids
    kinds = {
        # The page staff land on, and any page of the whole list.
        "client list, page 1 (50 rows)": [("/clients/", "/bench/plain/clients/")] * requests,
        f"client list, random page of {pages:,}": [
            (f"/clients/?after={a}", f"/bench/plain/clients/?after={a}") for a in after],
        "client detail page": [(f"/clients/{pk}/", f"/bench/plain/clients/{pk}/")
                               for pk in detail_ids],
    }
    # Sanity: the two variants render the same HTML (the plaintext twins hold the same data).
    for name, urls in kinds.items():
        sample = list(dict.fromkeys(urls))[:20]
        same = sum(_normalised(http.get(enc).content) == _normalised(http.get(plain).content)
                   for enc, plain in sample)
        say(f"{name}: {same} of {len(sample)} sampled pages render identical HTML "
            f"encrypted and plaintext")
        if same == 0:
            enc, plain = urls[0]
            diff = difflib.unified_diff(_normalised(http.get(enc).content).splitlines(),
                                        _normalised(http.get(plain).content).splitlines(),
                                        "encrypted", "plaintext", n=1, lineterm="")
            print("\n".join(list(diff)[:40]))
            raise SystemExit(f"{name}: encrypted and plaintext pages differ (above): the "
                             f"plaintext view or copy no longer matches the real one")
    timings = {}
    for name, urls in kinds.items():
        for enc, plain in urls[:10]:  # warm up: templates, connections, translation catalogs
            _get(http, enc)
            _get(http, plain)
        ours, base, ours_cpu, base_cpu = [], [], [], []
        gc.collect()
        for i, (enc, plain) in enumerate(urls):
            # Alternate the order so that drift and caches favour neither side.
            if i % 2:
                base.append(_get(http, plain, base_cpu))
                ours.append(_get(http, enc, ours_cpu))
            else:
                ours.append(_get(http, enc, ours_cpu))
                base.append(_get(http, plain, base_cpu))
        timings[name] = (ours, base, urls)
        for label, pick in (("median", median), ("p95", p95)):
            o, b = pick(ours), pick(base)
            RESULTS.append(Result(f"{name}, {label} of {len(ours)}", ms(o), ms(b),
                                  f"{o / b:.2f}× plaintext", "≤ 1.30× plaintext",
                                  o / b <= 1.3 if label == "median" else None))
        # CPU time leaves out waiting (for the disk, or for other processes on a busy
        # machine): information only, the target is on wall time.
        o, b = median(ours_cpu), median(base_cpu)
        RESULTS.append(Result(f"{name}, median CPU time", ms(o), ms(b), f"{o / b:.2f}× plaintext",
                              "(information)", None))
        say(f"{name}: median {ms(median(ours))} encrypted vs {ms(median(base))} plaintext "
            f"(CPU {ms(o)} vs {ms(b)})")
    return timings


def profile_pages(http, timings: dict, requests: int) -> None:
    """Where the time of the encrypted pages goes, against the plaintext ones (cProfile)."""
    for name, (_ours, _base, urls) in timings.items():
        for variant, index in (("encrypted", 0), ("plaintext", 1)):
            sample = [pair[index] for pair in urls[:requests]]
            profiler = cProfile.Profile()
            profiler.enable()
            for url in sample:
                http.get(url)
            profiler.disable()
            stats = pstats.Stats(profiler)
            total = stats.total_tt
            print(f"\n--- cProfile, {name}, {variant}: {len(sample)} requests, "
                  f"{total / len(sample) * 1e3:.1f} ms per request under the profiler ---")
            rows = []
            for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
                if path.startswith(str(ROOT)) and "/.venv/" not in path:
                    short = path.replace(str(ROOT) + "/", "")
                    rows.append((cumtime, tottime, ncalls, f"{short}:{line}({func})"))
            rows.sort(reverse=True)
            print(f"{'cum ms/req':>10} {'own ms/req':>10} {'calls/req':>9}  function (project code)")
            for cumtime, tottime, ncalls, where in rows[:18]:
                print(f"{cumtime / len(sample) * 1e3:10.2f} {tottime / len(sample) * 1e3:10.2f} "
                      f"{ncalls / len(sample):9.1f}  {where}")
            if variant == "encrypted":
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
                lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
                start = next((i for i, ln in enumerate(lines) if "ncalls" in ln), 0)
                print("top functions by own time (all code):")
                print("\n".join(lines[start:start + 13]))


# -- 2. search -------------------------------------------------------------------------
def _scan(field: str, predicates: dict, limit: int) -> tuple[float, int, dict]:
    """Decrypt `field` of up to `limit` clients as a system job and test each predicate."""
    from access import door
    from records.models import Client
    from vault import scope as vault_scope
    from vault.classes import DataClass

    hits: dict[str, list] = {name: [] for name in predicates}
    began = time.perf_counter()
    scanned, last = 0, None
    with door.open_for_system(actor="bench", purpose="benchmark: decrypt-and-scan baseline",
                              ceiling=DataClass.L2):
        scope = vault_scope.current()
        while scanned < limit:
            query = Client.objects.order_by("pk").only("id", field)
            chunk = list((query.filter(pk__gt=last) if last else query)[:min(BATCH, limit - scanned)])
            if not chunk:
                break
            scope.prefetch(c.pk for c in chunk)
            for client in chunk:
                value = getattr(client, field)
                if value is None:
                    continue
                for name, test in predicates.items():
                    if test(value):
                        hits[name].append(client.pk)
            scanned += len(chunk)
            last = chunk[-1].pk
    return time.perf_counter() - began, scanned, hits


def measure_search(http, owner, rng: random.Random, queries: int, scan_limit: int) -> None:
    from access import door
    from records import selectors
    from records.models import Client
    from vault import blind
    from vault.classes import DataClass

    total = Client.objects.count()
    ids = rng.sample(list(Client.objects.values_list("pk", flat=True)), queries)
    with door.open_for_system(actor="bench", purpose="benchmark setup: pick search terms",
                              subjects=ids, ceiling=DataClass.L2):
        people = [(c.pk, str(c.phone), str(c.full_name))
                  for c in Client.objects.filter(pk__in=ids).only("id", "phone", "full_name")]
    searches = {
        "phone (full number)": [(phone, pk) for pk, phone, _ in people],
        "phone (last 4 digits)": [(phone[-4:], pk) for pk, phone, _ in people],
        "name (full name)": [(name, pk) for pk, _, name in people],
    }
    blind_times: dict[str, tuple[list[float], list[float]]] = {}
    found: dict[str, set] = {}
    for label, terms in searches.items():
        for q, _pk in terms[:5]:  # warm up
            list(selectors.client_search(owner, q)[1][:50])
            _search(http, q)
        selector, view, missing = [], [], 0
        for q, pk in terms:
            began = time.perf_counter()
            _kind, clients = selectors.client_search(owner, q)
            rows = list(clients.select_related("location", "assigned_staff")[:50])
            selector.append(time.perf_counter() - began)
            matched = {c.pk for c in rows}
            missing += pk not in matched and len(rows) < 50
            if q == terms[0][0]:
                found[label] = set(clients.values_list("pk", flat=True))
            view.append(_search(http, q))
        if missing:
            raise SystemExit(f"search by {label}: {missing} clients not found by their own terms")
        blind_times[label] = (selector, view)
        say(f"search by {label}: blind index median {ms(median(selector))}, list view with a posted term "
            f"{ms(median(view))}")

    # The baseline: decrypt every client's phone (one scan serves both phone searches) and
    # every name (a second scan), comparing normalised values as the blind index does.
    limit = total if scan_limit <= 0 else min(scan_limit, total)
    phone_q, last4_q = searches["phone (full number)"][0][0], searches["phone (last 4 digits)"][0][0]
    name_q = searches["name (full name)"][0][0]
    target_phone, target_name = blind.normalise_phone(phone_q), blind.normalise_name(name_q)
    # As records.selectors.classify_query: an entry of two characters or fewer may also be
    # a surname alone, so it matches clients of that surname too.
    target_surname = blind.surname_of(name_q) if len(target_name) <= 2 else None

    def name_matches(value: str) -> bool:
        return (blind.normalise_name(value) == target_name
                or (target_surname is not None and blind.surname_of(value) == target_surname))

    say(f"decrypt-and-scan baseline over {limit} of {total} clients: phones...")
    phone_secs, scanned, phone_hits = _scan("phone", {
        "phone (full number)": lambda v: blind.normalise_phone(v) == target_phone,
        "phone (last 4 digits)": lambda v: blind.normalise_phone(v)[-4:] == last4_q,
    }, limit)
    say(f"  {scanned} phones in {phone_secs:.2f}s; names...")
    name_secs, _, name_hits = _scan("full_name", {
        "name (full name)": name_matches,
    }, limit)
    say(f"  {scanned} names in {name_secs:.2f}s")
    scale = total / scanned
    if scanned == total:
        for label, hits in (phone_hits | name_hits).items():
            agree = set(hits) == found[label]
            say(f"  scan and blind index agree on {label} {'✓' if agree else '✗ MISMATCH'} "
                f"({len(hits)} matches)")
    note = "" if scanned == total else f" (scan of {scanned:,} ×{scale:.1f}, linear)"
    for label in searches:
        secs = (name_secs if label.startswith("name") else phone_secs) * scale
        selector, view = blind_times[label]
        m = median(selector)
        RESULTS.append(Result(
            f"search {label}, blind index (client_search), median of {len(selector)}", ms(m),
            f"{ms(secs)} scan{note}", f"{secs / m:,.0f}× faster", "≥ 100× faster and < 20 ms",
            secs / m >= 100 and m < 0.020))
        # The whole page: search, door, audit event, decrypting and rendering up to 50 rows.
        m = median(view)
        RESULTS.append(Result(
            f"search {label}, list page POST /clients/, median of {len(view)}", ms(m),
            f"{ms(secs)} scan{note}", f"{secs / m:,.0f}× faster", "≥ 100× faster",
            secs / m >= 100))


# -- 3. fields -------------------------------------------------------------------------
def _each(fn, items) -> list[float]:
    """Time fn(item) for each item on its own."""
    clock, times = time.perf_counter, []
    for item in items:
        began = clock()
        fn(item)
        times.append(clock() - began)
    return times


def _bulk(fn, items, repeat: int = 5) -> float:
    """CPU time of one loop over all items, best of `repeat` runs.

    A loop of half a second is always interrupted on a busy machine, so bulk runs are
    timed in this thread's CPU time (pure computation either way); single values, timed
    on their own, use the wall clock.
    """
    runs = []
    for _ in range(repeat):
        gc.collect()
        began = time.thread_time()
        for item in items:
            fn(item)
        runs.append(time.thread_time() - began)
    return min(runs)


def measure_fields(bulk: int) -> None:
    from cryptography.fernet import Fernet

    from access import door
    from records.models import Client
    from vault import aead
    from vault import scope as vault_scope
    from vault.classes import DataClass
    from vault.scope import Sealed

    # Real values: the L2 text fields of the first clients (name, phone, WeChat ID, email).
    names = ("full_name", "phone", "wechat_id", "email")
    values: list[tuple] = []
    clients = list(Client.objects.order_by("pk").only("id", *names)[:bulk])
    with door.open_for_system(actor="bench", purpose="benchmark setup: field values",
                              subjects=[c.pk for c in clients], ceiling=DataClass.L2):
        scope = vault_scope.current()
        scope.prefetch(c.pk for c in clients)
        for client in clients:
            for name in names:
                value = getattr(client, name)
                if value is not None:
                    values.append((client.pk, name, str(value)))
    values = values[:bulk]
    subjects = sorted({pk for pk, _, _ in values})
    say(f"field values: {len(values)} values of {len(subjects)} clients, "
        f"{statistics.mean(len(v.encode()) for _, _, v in values):.1f} bytes on average")

    fernet = Fernet(Fernet.generate_key())
    with door.open_for_system(actor="bench", purpose="benchmark: field encryption",
                              subjects=subjects, ceiling=DataClass.L2):
        scope = vault_scope.current()
        scope.prefetch(subjects)  # keys unwrapped before timing, as a page does up front
        ciphers = {s: scope.sealing_cipher(s) for s in subjects}
        # The header is built once per key, as the scope does for every seal it makes.
        headers = {s: aead.header(aead.KeyId(s, gen)) for s, (gen, _) in ciphers.items()}
        raw = [(ciphers[pk][1], headers[pk], v.encode(),
                aead.context("records.client", name, pk, pk)) for pk, name, v in values]
        sealed = [aead.seal_under(c, head, data, ctx) for c, head, data, ctx in raw]
        opened = list(zip([c for c, _, _, _ in raw], sealed, [ctx for _, _, _, ctx in raw],
                          strict=True))
        plain_bytes = [v.encode() for _, _, v in values]
        tokens = [fernet.encrypt(b) for b in plain_bytes]

        def vault_seal(item):
            return aead.seal_under(item[0], item[1], item[2], item[3])

        def vault_open(item):
            return aead.open_(item[0], item[1], item[2]).decode()

        def fernet_encrypt(data):
            return fernet.encrypt(data)

        def fernet_decrypt(token):
            return fernet.decrypt(token).decode()

        fields = {name: Client._meta.get_field(name) for name in names}
        # The field path: assignment and pre_save (what Model.save runs) seal a value; a
        # stored value (Sealed, as from_db_value makes it) unseals on attribute access. A
        # client's fields share one instance, as on a page or in a save.
        shells = {pk: Client(id=pk) for pk in subjects}
        writers = [(shells[pk], fields[name], name, v) for pk, name, v in values]
        # The same path in a generic encrypted-field library: Fernet in the field's
        # get_db_prep_value and from_db_value (what django-fernet-fields does).
        fernet_field = FernetTextField(fernet)
        fernet_writers = [(fernet_field, v) for _, _, v in values]

        def fernet_field_seal(item):
            return item[0].get_db_prep_save(item[1], connection=None)

        def fernet_field_open(token):
            return fernet_field.from_db_value(token, None, None)

        def field_seal(item):
            instance, field, name, value = item
            setattr(instance, name, value)
            return field.pre_save(instance, True)

        blobs = [field_seal(item) for item in writers]

        def readers():
            out, rows = [], {}
            for (pk, name, _), blob in zip(values, blobs, strict=True):
                instance = rows.get(pk) or rows.setdefault(pk, Client(id=pk))
                instance.__dict__[name] = Sealed(blob)
                out.append((instance, name))
            return out

        def field_open(item):
            return getattr(item[0], item[1])

        # Check the paths round-trip before timing them.
        assert [vault_open(o) for o in opened[:50]] == [v for _, _, v in values[:50]]
        assert [field_open(r) for r in readers()[:50]] == [v for _, _, v in values[:50]]
        scope.close()  # keys are unwrapped again below
        scope.prefetch(subjects)

        single = {
            "encrypt": {
                "vault AES-GCM (aead.seal_under)": _each(vault_seal, raw),
                "Fernet": _each(fernet_encrypt, plain_bytes),
                "vault field (assign + pre_save)": _each(field_seal, writers),
                "Fernet field": _each(fernet_field_seal, fernet_writers),
            },
            "decrypt": {
                "vault AES-GCM (aead.open_)": _each(vault_open, opened),
                "Fernet": _each(fernet_decrypt, tokens),
                "vault field (attribute read in scope)": _each(field_open, readers()),
                "Fernet field": _each(fernet_field_open, tokens),
            },
        }
        def field_open_bulk() -> float:
            # Fresh instances for each run; the keys stay unwrapped, as on a page after the
            # door's prefetch.
            runs = []
            for _ in range(5):
                scope.close()
                scope.prefetch(subjects)
                items = readers()
                gc.collect()
                began = time.thread_time()
                for item in items:
                    field_open(item)
                runs.append(time.thread_time() - began)
            return min(runs)

        bulk_times = {
            "encrypt": {
                "vault AES-GCM (aead.seal_under)": _bulk(vault_seal, raw),
                "Fernet": _bulk(fernet_encrypt, plain_bytes),
                "vault field (assign + pre_save)": _bulk(field_seal, writers),
                "Fernet field": _bulk(fernet_field_seal, fernet_writers),
            },
            "decrypt": {
                "vault AES-GCM (aead.open_)": _bulk(vault_open, opened),
                "Fernet": _bulk(fernet_decrypt, tokens),
                "vault field (attribute read in scope)": field_open_bulk(),
                "Fernet field": _bulk(fernet_field_open, tokens),
            },
        }
    n = len(values)
    # The target is the field crypto: our ciphertext (header, nonce, binding) against a
    # Fernet token. The whole field paths are compared too, each with its own Django
    # plumbing, and against bare Fernet, for information.
    cipher = {"encrypt": "vault AES-GCM (aead.seal_under)", "decrypt": "vault AES-GCM (aead.open_)"}
    path = {"encrypt": "vault field (assign + pre_save)",
            "decrypt": "vault field (attribute read in scope)"}
    for op in ("encrypt", "decrypt"):
        for ours, theirs, target in ((cipher[op], "Fernet", True),
                                     (path[op], "Fernet field", False),
                                     (path[op], "Fernet", False)):
            base_one, one = median(single[op][theirs]), median(single[op][ours])
            base_all, total = bulk_times[op][theirs], bulk_times[op][ours]
            goal = "≥ 5× faster than Fernet" if target else "(information)"
            RESULTS.append(Result(f"{op} one field value, {ours}, median of {n}", us(one),
                                  f"{us(base_one)} {theirs}", f"{base_one / one:.1f}× faster",
                                  goal, base_one / one >= 5 if target else None))
            RESULTS.append(Result(f"{op} {n:,} values in bulk (CPU time), {ours}", ms(total),
                                  f"{ms(base_all)} {theirs}", f"{base_all / total:.1f}× faster",
                                  goal, base_all / total >= 5 if target else None))
    say("field encryption measured")


class FernetTextField:
    """The field path of a generic encrypted-field library, reduced to what it runs per
    value: Fernet in get_db_prep_save and in from_db_value, with the text encoding."""

    def __init__(self, fernet) -> None:
        self.fernet = fernet

    def get_db_prep_save(self, value, connection):
        if value is None:
            return None
        return self.fernet.encrypt(str(value).encode())

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return self.fernet.decrypt(bytes(value)).decode()


# -- main ------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(
        "Salon Vault records benchmark: the client pages against a plaintext copy, "
        "blind-index search against decrypt-and-scan, and vault AES-GCM against Fernet."))
    parser.add_argument("--clients", type=int, default=100_000,
                        help="clients in the salon (default 100,000)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a fast check: {QUICK_CLIENTS:,} clients and fewer requests")
    parser.add_argument("--keep", metavar="DIR", type=Path,
                        help="use DIR as SALON_VAULT_VAR and keep it: a second run reuses the "
                             "seeded salon and its plaintext copy (default: a temp dir, removed)")
    parser.add_argument("--fresh-copy", action="store_true",
                        help="rebuild the plaintext copy even if --keep DIR holds one")
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per page and variant (default 200, --quick 60)")
    parser.add_argument("--queries", type=int, default=None,
                        help="search terms per kind of search (default 50, --quick 20)")
    parser.add_argument("--scan-limit", type=int, default=0,
                        help="decrypt-and-scan at most this many clients and extrapolate "
                             "linearly (default 0: scan all of them)")
    parser.add_argument("--bulk", type=int, default=10_000,
                        help="field values encrypted and decrypted in bulk (default 10,000)")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="cProfile the pages: when a page misses its target (auto), "
                             "always, or never")
    parser.add_argument("--markdown", action="store_true",
                        help="also print the table as Markdown")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients = QUICK_CLIENTS
    args.requests = args.requests or (60 if args.quick else 200)
    args.queries = args.queries or (20 if args.quick else 50)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.keep:
        var_dir = args.keep.resolve()
        var_dir.mkdir(parents=True, exist_ok=True)
    else:
        var_dir = Path(tempfile.mkdtemp(prefix="salon-vault-bench-"))
    setup_django(var_dir, database=os.environ.get("DATABASE_URL"),
                 vault_database=os.environ.get("VAULT_DATABASE_URL"))

    import cryptography
    import django
    from django.contrib.auth.models import User
    from django.db import connections
    from django.test import Client as HttpClient

    engines = {alias: connections[alias].vendor for alias in ("default", "vault")}
    say(f"Salon Vault records benchmark: {args.clients:,} clients, SALON_VAULT_VAR={var_dir}, "
        f"databases {engines}")
    try:
        fresh = prepare_databases()
        clients = ensure_seeded(args.clients, fresh)
        ensure_plain_copy(fresh=args.fresh_copy)
        refresh_statistics()
        owner = User.objects.get(username="owner")
        http = HttpClient()
        http.force_login(owner)
        verify_second_factor(http, owner)
        rng = random.Random(20240601)
        say(f"measuring pages: {args.requests} requests per page and variant...")
        timings = measure_pages(http, owner, args.requests, rng)
        missed = [r for r in RESULTS if r.passed is False]
        say(f"measuring search: {args.queries} terms per kind...")
        measure_search(http, owner, rng, args.queries, args.scan_limit)
        say(f"measuring field encryption: {args.bulk:,} values...")
        measure_fields(args.bulk)
        if args.profile == "always" or (args.profile == "auto" and missed):
            profile_pages(http, timings, min(30, args.requests))
    finally:
        connections.close_all()
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)

    print()
    print(f"Salon Vault records benchmark — {dt.date.today().isoformat()}, {clients:,} clients, "
          f"databases {engines['default']}/{engines['vault']}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, Django {django.get_version()}, "
          f"cryptography {cryptography.__version__}")
    print("pages: median/p95 of the same requests to both variants, alternating; ratio = "
          "encrypted / plaintext. search and fields: ratio = baseline / ours.")
    print()
    report(RESULTS, markdown=args.markdown,
           headers=("measure", "encrypted / ours", "baseline", "ratio", "target", "result"))

if __name__ == "__main__":
    main()
