#!/usr/bin/env python
"""Benchmark of the sale of the business: the package built from the vault for the buyer,
then verified and imported into a second, empty salon. See bench/README.md ("Transfer").

    .venv/bin/python bench/transfer.py [--clients 10000] [--quick] [--keep DIR] [--db postgresql]

The seller's salon is seeded (10 treatments per client, a before/after photo pair for the
first clients, health notes as the demo seeder makes them), every client is given the
health and photos consents in bulk, and a case for every part of the record is opened,
told, ticked and approved by two other owners. Then, each step in a child process of its
own (so that its peak memory is its own):

- build: `transfer.packaging.build()` (the task's body: plan, vault reads, tar, age,
  signature), against the naive export: the same rows read through the vault with one
  query per model per batch, the records `json.dumps`-ed at once into a plain tar beside
  the files (no sealing, no signature, no manifest);
- import: `transfer.importer.import_package()` (verify pass, then one transaction on both
  databases, every value sealed under the buyer's own new data keys) into a second salon
  with its own keyring and empty databases, against the naive import: the naive tar's rows
  bulk-inserted into the plaintext twin tables (bench/plainapp) of the same databases, the
  files written as they are (no decryption, no verification, no encryption).

Peak memory is the child's peak resident set size (VmHWM in /proc/self/status; getrusage's
ru_maxrss would carry the forking bench process's size over), shown with how far it rose
above the child's resident size once Django was set up and connected.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:1] = [str(Path(__file__).resolve().parent.parent)]

from bench.common import (  # noqa: E402
    ROOT,
    Result,
    add_run_arguments,
    code_version,
    ms,
    report,
    run_header,
    say,
)
from bench.salon import (  # noqa: E402
    DB_TAG,
    TEMPLATE,
    _close_connections,
    copy_template,
    ensure_seeded,
    pg_create,
    pg_drop,
    pg_url,
    prepare_databases,
    scratch,
    setup_django,
    staff_ensure,
    template_names,
)

CLIENTS, TREATMENTS, PHOTOS = 10_000, 10, 5_000  # photos: clients with a before/after pair
QUICK = (200, 10, 50)
BUYER_LOCATION = ("hz", "杭州西湖店")
BULK = 500  # rows per INSERT of the naive import, as the importer's
OWNERS = (("owner2_bench", "owner", "bj"), ("owner3_bench", "owner", "bj"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    clients, treatments, photos = QUICK
    add_run_arguments(parser, quick=f"{clients} clients, {treatments} treatments each, "
                                    f"photos for {photos}",
                      keep="a second run reuses the seeded salon (and opens a new case)")
    parser.add_argument("--clients", type=int, default=CLIENTS,
                        help=f"clients in the seller's salon (default {CLIENTS:,})")
    parser.add_argument("--treatments", type=int, default=TREATMENTS,
                        help=f"treatments per client seeded (default {TREATMENTS})")
    parser.add_argument("--photos", type=int, default=PHOTOS,
                        help=f"clients with a before/after photo pair (default {PHOTOS:,})")
    parser.add_argument("--profile", type=int, nargs="?", const=25, default=0, metavar="N",
                        help="run the build and the import under cProfile (their times then "
                             "include its overhead) and print the N dearest functions of each")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a step, in a child process
    parser.add_argument("--param", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.treatments, args.photos = QUICK
    return args


# -- the seller's salon and case (in the bench process) ---------------------------------------
def give_consents() -> int:
    """Health and photos consents given by every client, inserted in bulk (the plan takes
    health notes and photos only for clients who gave them)."""
    from django.db import transaction
    from django.utils import timezone

    from access import door
    from audit import actions
    from records.models import Client, ConsentEvent

    have = set(ConsentEvent.objects.filter(purpose__in=("health", "photos"))
               .values_list("client_id", flat=True))
    ids = [pk for pk in Client.objects.values_list("pk", flat=True) if pk not in have]
    now = timezone.now()
    for start in range(0, len(ids), 2000):
        batch = ids[start:start + 2000]
        with door.open_for_system(actor="bench_transfer", purpose=actions.LOAD_DEMO,
                                  subjects=batch), transaction.atomic():
            ConsentEvent.objects.bulk_create(
                [ConsentEvent(client_id=pk, purpose=purpose, action="given", at=now,
                              channel="paper", notice_version=1, signature="")
                 for pk in batch for purpose in ("health", "photos")], batch_size=BULK)
    return len(ids)


def open_case(recipient: str) -> tuple[object, dict]:
    """A case for every part, told, ticked and approved by two owners; what it took."""
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from records.demo.staff import demo_password, demo_staff_ensure
    from transfer import cases, checklist, notices
    from transfer.models import ChecklistItem, Part

    users = demo_staff_ensure(password=demo_password().value)
    owner = users["owner"]
    others = staff_ensure(OWNERS, password_hash=owner.password)
    case = cases.open_case(actor=owner, title="出售（bench）", recipient_name="新美丽有限公司",
                           recipient_contact="010-87654321", recipient_key=recipient,
                           parts=list(Part.values))
    cases.confirm_key(case, actor=owner, how="phoned the buyer (bench)")
    cases.start_checklist(case, actor=owner)
    case = cases.start_notice_period(case, actor=owner)
    began = time.perf_counter()
    told = notices.make_all(case, actor=owner)
    notice_time = time.perf_counter() - began
    after = case.objection_until + dt.timedelta(days=1)
    for item in ChecklistItem.objects.filter(case=case):
        evidence = (SimpleUploadedFile("nda.pdf", b"%PDF-1.4 signed NDA")
                    if item.key in checklist.NEEDS_FILE else None)
        checklist.record(case, item, actor=owner, status="done", note="ok", evidence=evidence,
                         today=after)
    case = cases.start_approval(case, actor=owner, today=after)
    for user in others.values():  # each with a confirmed authenticator, as approving needs
        TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
        cases.approve(case, actor=user, reauthenticated=True)
    return case, {"notices": told, "notice_time": notice_time}


def queue_package(case):
    """The package row request_build() makes, without queueing the task (the bench runs
    its body, packaging.build(), itself)."""
    from transfer import scope
    from transfer.models import Package

    plan = scope.plan(case)
    built = Package.objects.create(case=case, scope_revision=case.scope_revision,
                                   total=len(plan.included))
    return built, plan


def expected(plan) -> dict:
    from records.models import ClientForm, Photo, Treatment

    return {"client": len(plan.included),
            "treatment": Treatment.objects.filter(client_id__in=plan.included).count(),
            "photo": Photo.objects.filter(client_id__in=plan.with_photos).count(),
            "form": ClientForm.objects.filter(client_id__in=plan.included).count()}


# -- the buyer's salon ------------------------------------------------------------------
class Buyer:
    """A second salon: its own directory, keyring and empty databases (PostgreSQL
    `<seller's>_buyer[_keys]`, or SQLite in its directory), removed at the end."""

    def __init__(self, seller_databases: tuple[str, ...]) -> None:
        self.var_dir = Path(tempfile.mkdtemp(prefix="salon-vault-bench-transfer-buyer-"))
        self.databases: tuple[str, ...] = ()
        if seller_databases:
            base = f"{seller_databases[0]}_buyer"
            self.databases = (base, f"{base}_keys")
            templates = template_names() if TEMPLATE else (None, None)
            for name, template in zip(self.databases, templates, strict=True):
                pg_create(name, fresh=True, template=template)
        # The template's migrated databases, with a keyring of the buyer's own.
        copy_template(self.var_dir)
        (self.var_dir / "keyring.json").unlink(missing_ok=True)

    def env(self) -> dict[str, str]:
        env = {**os.environ, "SALON_VAULT_VAR": str(self.var_dir)}
        for name in ("DATABASE_URL", "VAULT_DATABASE_URL"):
            env.pop(name, None)
        if self.databases:
            env["DATABASE_URL"], env["VAULT_DATABASE_URL"] = (pg_url(n) for n in self.databases)
        return env

    def remove(self) -> None:
        for name in self.databases:
            pg_drop(name)
        shutil.rmtree(self.var_dir, ignore_errors=True)


def child(kind: str, env: dict[str, str] | None = None, **param) -> dict:
    """Run step `kind` in a child process (this script with --child); its figures."""
    _close_connections()  # nothing of this process in the way (SQLite locks, PostgreSQL)
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", kind,
            "--param", json.dumps(param)]
    done = subprocess.run(argv, cwd=ROOT, env=env or {**os.environ}, capture_output=True,  # noqa: S603
                          text=True, check=False)
    if done.returncode:
        raise SystemExit(f"step {kind} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                         f"{done.stderr[-5000:]}")
    return json.loads(done.stdout.rstrip("\n").splitlines()[-1])


# -- the steps, each in a child process ---------------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    """The process's peak resident size (VmHWM: its own since exec, unlike ru_maxrss,
    which Linux carries over from the parent that forked it)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_main(kind: str, param: dict) -> None:
    var = Path(os.environ["SALON_VAULT_VAR"])
    setup_django(var, database=os.environ.get("DATABASE_URL"),
                 vault_database=os.environ.get("VAULT_DATABASE_URL"))
    from django.db import connections

    from access import door  # noqa: F401  (imports made before the baseline figure)
    from transfer import importer, packaging  # noqa: F401

    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    for alias in ("default", "vault"):
        connections[alias].ensure_connection()
        connections[alias].execute_wrappers.append(count)
    setup_rss = _rss_mb()
    profile = param.pop("profile", 0)
    profiler = cProfile.Profile() if profile else None
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    figures = STEPS[kind](**param)
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(profile)
        figures["profile"] = out.getvalue()
    figures.update(seconds=figures.get("seconds", time.perf_counter() - began),
                   queries=queries[0], setup_mb=setup_rss, peak_mb=_peak_mb())
    connections.close_all()
    print(json.dumps(figures))


def step_build(package: str) -> dict:
    from transfer import packaging

    began = time.perf_counter()
    built = packaging.build(package)
    seconds = time.perf_counter() - began
    if built.status != built.Status.READY:
        raise SystemExit(f"the package was not built: {built.status} {built.error}")
    return {"seconds": seconds, "bytes": built.byte_size, "path": str(packaging.path_of(built)),
            "counts": built.manifest["counts"], "files": built.manifest["files"]}


def _iso(value):
    return value.isoformat() if value is not None else None


def _text(value):
    return None if value is None or value == "" else str(value)


def step_naive_export(case: str, path: str) -> dict:
    """The same rows read through the vault, per model per batch, `json.dumps`-ed at once
    into a plain tar with the files: what a generic export does."""
    import io
    import tarfile

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
    from transfer import scope
    from transfer.models import TransferCase

    plan = scope.plan(TransferCase.objects.get(pk=case))
    records: dict[str, list] = {}
    files = 0
    with tarfile.open(path, "w") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for start in range(0, len(plan.included), 2000):
            batch = plan.included[start:start + 2000]
            health = [pk for pk in batch if pk in plan.with_health]
            photos = [pk for pk in batch if pk in plan.with_photos]
            with door.open_for_system(actor="bench_naive_export", subjects=batch,
                                      purpose=actions.TRANSFER_BUSINESS):
                records.setdefault("client", []).extend(
                    {"id": str(c.pk), "code": c.code, "location": c.location.code,
                     "full_name": _text(c.full_name), "phone": _text(c.phone),
                     "wechat_id": _text(c.wechat_id), "email": _text(c.email),
                     "birthday": _iso(c.birthday), "created_at": _iso(c.created_at),
                     "last_visit": _iso(c.last_visit)}
                    for c in Client.objects.filter(pk__in=batch).select_related("location"))
                records.setdefault("consent", []).extend(
                    {"id": str(e.pk), "client_id": str(e.client_id), "purpose": e.purpose,
                     "action": e.action, "at": _iso(e.at), "channel": e.channel,
                     "notice_version": e.notice_version}
                    for e in ConsentEvent.objects.filter(client_id__in=batch))
                records.setdefault("beauty_profile", []).extend(
                    {"client_id": str(b.client_id), "skin_type": _text(b.skin_type),
                     "hair": _text(b.hair), "concerns": _text(b.concerns)}
                    for b in BeautyProfile.objects.filter(client_id__in=batch))
                records.setdefault("treatment", []).extend(
                    {"id": str(t.pk), "client_id": str(t.client_id),
                     "performed_on": _iso(t.performed_on), "service": _text(t.service),
                     "products": list(t.products or []),
                     "colour_formula": _text(t.colour_formula), "notes": _text(t.notes),
                     "price": _text(t.price)}
                    for t in Treatment.objects.filter(client_id__in=batch))
                records.setdefault("health_note", []).extend(
                    {"client_id": str(n.client_id), **{f: _text(getattr(n, f)) for f in (
                        "allergies", "contraindications", "medication", "pregnancy",
                        "conditions")}}
                    for n in HealthNote.objects.filter(client_id__in=health))
                records.setdefault("patch_test", []).extend(
                    {"id": str(p.pk), "client_id": str(p.client_id), "product": p.product.name,
                     "tested_on": _iso(p.tested_on), "result": _text(p.result),
                     "reaction": _text(p.reaction)}
                    for p in PatchTest.objects.filter(client_id__in=health)
                    .select_related("product"))
                for model, field, ids, kind in ((Photo, "image", photos, "photo"),
                                                (ClientForm, "document", batch, "form")):
                    for row in model.objects.filter(client_id__in=ids):
                        name = f"files/{kind}s/{row.pk}.bin"
                        add(name, getattr(row, field).read())
                        files += 1
                        records.setdefault(kind, []).append(
                            {"id": str(row.pk), "client_id": str(row.client_id),
                             "content_type": row.content_type, "file": name})
        add("records.json", json.dumps(records, ensure_ascii=False).encode())
    return {"bytes": Path(path).stat().st_size, "files": files,
            "counts": {kind: len(rows) for kind, rows in records.items()}}


def step_prepare_buyer() -> dict:
    """The buyer's keyring (new), migrated databases and the location clients join."""
    import io

    from django.core.management import call_command

    from access.models import Location

    out = io.StringIO()
    call_command("vault_init", stdout=out)
    for alias in ("default", "vault"):
        call_command("migrate", database=alias, interactive=False, verbosity=0)
    code, name = BUYER_LOCATION
    Location.objects.get_or_create(code=code, defaults={"name": name})
    return {"said": out.getvalue().strip()}


def step_import(path: str, identity: str, seller_key: str) -> dict:
    from records.models import Client, Photo, Treatment
    from transfer import importer, package

    key, who = package.parse_seller_key(seller_key), package.load_identity(identity)
    began = time.perf_counter()
    package.verify(path, identity=who, seller_key=key)
    verify = time.perf_counter() - began
    began = time.perf_counter()
    done = importer.import_package(path, identity=who, seller_key=key,
                                   location_code=BUYER_LOCATION[0])
    seconds = time.perf_counter() - began
    from vault.fields import _files_root

    stored = sum(1 for p in _files_root().rglob("*") if p.is_file())
    return {"seconds": seconds, "verify": verify, "counts": dict(done.counts),
            "clients": Client.objects.count(), "treatments": Treatment.objects.count(),
            "photos": Photo.objects.count(), "stored_files": stored}


def step_naive_import(path: str) -> dict:
    """The naive tar's rows bulk-inserted into the plaintext twins in one transaction, its
    files written out as they are."""
    import datetime as dt
    import decimal
    import tarfile
    import uuid

    from django.db import connection, transaction

    from access.models import Location
    from bench.plainapp.models import (
        TWINS,
        PlainBeautyProfile,
        PlainClient,
        PlainClientForm,
        PlainHealthNote,
        PlainPhoto,
        PlainTreatment,
    )

    existing = set(connection.introspection.table_names())
    with connection.schema_editor() as editor:
        for model in TWINS:
            if model._meta.db_table not in existing:
                editor.create_model(model)
    place = Location.objects.get(code=BUYER_LOCATION[0])
    folder = Path(os.environ["SALON_VAULT_VAR"]) / "naive-files"
    folder.mkdir(exist_ok=True)

    def day(value):
        return dt.date.fromisoformat(value) if value else None

    began = time.perf_counter()
    files = 0
    with tarfile.open(path, "r") as tar, transaction.atomic():
        for member in tar:
            data = tar.extractfile(member).read()
            if member.name != "records.json":
                (folder / member.name.replace("/", "_")).write_bytes(data)
                files += 1
                continue
            records = json.loads(data)
            rows = [
                (PlainClient, [PlainClient(
                    id=uuid.UUID(r["id"]), code=f"HZ-N{n:06d}", location=place,
                    full_name=r["full_name"], phone=r["phone"], wechat_id=r["wechat_id"],
                    email=r["email"], birthday=day(r["birthday"]),
                    last_visit=day(r["last_visit"])) for n, r in enumerate(records["client"])]),
                (PlainBeautyProfile, [PlainBeautyProfile(
                    client_id=uuid.UUID(r["client_id"]), skin_type=r["skin_type"],
                    hair=r["hair"], concerns=r["concerns"])
                    for r in records.get("beauty_profile", [])]),
                (PlainHealthNote, [PlainHealthNote(
                    client_id=uuid.UUID(r["client_id"]), allergies=r["allergies"],
                    contraindications=r["contraindications"], medication=r["medication"],
                    pregnancy=r["pregnancy"], conditions=r["conditions"])
                    for r in records.get("health_note", [])]),
                (PlainTreatment, [PlainTreatment(
                    id=uuid.UUID(r["id"]), client_id=uuid.UUID(r["client_id"]),
                    performed_on=day(r["performed_on"]), service=r["service"],
                    products=r["products"], colour_formula=r["colour_formula"],
                    notes=r["notes"], price=decimal.Decimal(r["price"]) if r["price"] else None)
                    for r in records.get("treatment", [])]),
                (PlainPhoto, [PlainPhoto(
                    id=uuid.UUID(r["id"]), client_id=uuid.UUID(r["client_id"]),
                    taken_on=dt.date.today(), image=r["file"], content_type=r["content_type"])
                    for r in records.get("photo", [])]),
                (PlainClientForm, [PlainClientForm(
                    id=uuid.UUID(r["id"]), client_id=uuid.UUID(r["client_id"]),
                    kind="consent", signed_on=dt.date.today(), document=r["file"],
                    content_type=r["content_type"]) for r in records.get("form", [])]),
            ]
            for model, objects in rows:
                model.objects.bulk_create(objects, batch_size=BULK)
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "files": files, "clients": PlainClient.objects.count(),
            "treatments": PlainTreatment.objects.count()}


STEPS = {"build": step_build, "naive-export": step_naive_export,
         "prepare-buyer": step_prepare_buyer, "import": step_import,
         "naive-import": step_naive_import}


# -- the run -------------------------------------------------------------------------------
def measure(args: argparse.Namespace, place) -> dict:
    import pyrage

    from audit import checkpoints
    from transfer import package

    identity = pyrage.x25519.Identity.generate()
    say("health and photos consents for every client, in bulk...")
    consented = give_consents()
    say(f"  {consented:,} clients consented; opening the case, telling every client, "
        f"ticking the checklist, two approvals...")
    case, setup = open_case(str(identity.to_public()))
    built, plan = queue_package(case)
    setup.update(expected=expected(plan), with_photos=len(plan.with_photos),
                 with_health=len(plan.with_health))
    say(f"  {len(plan.included):,} clients go ({len(plan.with_health):,} with their health "
        f"data, {len(plan.with_photos):,} with their photos); notices took "
        f"{setup['notice_time']:.1f}s")
    seller_key = package.public_key_text(checkpoints.public_key())
    got = {"setup": setup}
    say("building the package (packaging.build) in a child process...")
    got["build"] = child("build", package=str(built.pk), profile=args.profile)
    say(f"  {got['build']['seconds']:.1f}s, {got['build']['bytes'] / 2**20:.1f} MiB")
    naive_tar = place.var_dir / "naive-export.tar"
    say("naive export (json.dumps of the same rows into a plain tar) in a child process...")
    got["naive_export"] = child("naive-export", case=str(case.pk), path=str(naive_tar))
    say(f"  {got['naive_export']['seconds']:.1f}s, "
        f"{got['naive_export']['bytes'] / 2**20:.1f} MiB")
    buyer = Buyer(place.databases)
    try:
        identity_file = buyer.var_dir / "identity.txt"
        identity_file.write_text(f"{identity}\n")
        identity_file.chmod(0o600)
        say(f"the buyer's salon: own keyring, empty databases, in {buyer.var_dir}...")
        got["prepare"] = child("prepare-buyer", env=buyer.env())
        say("verify and import (importer.import_package) in a child process...")
        got["import"] = child("import", env=buyer.env(), path=got["build"]["path"],
                              identity=str(identity_file), seller_key=seller_key,
                              profile=args.profile)
        say(f"  {got['import']['seconds']:.1f}s (of which a verify pass alone "
            f"{got['import']['verify']:.1f}s)")
        say("naive import (bulk insert into plaintext twin tables) in a child process...")
        got["naive_import"] = child("naive-import", env=buyer.env(), path=str(naive_tar))
        say(f"  {got['naive_import']['seconds']:.1f}s")
    finally:
        buyer.remove()
        naive_tar.unlink(missing_ok=True)
    return got


def mib(value: float) -> str:
    return f"{value:,.1f} MiB"


def results(got: dict) -> list[Result]:
    build, naive, imp, plain = got["build"], got["naive_export"], got["import"], \
        got["naive_import"]
    setup, want = got["setup"], got["setup"]["expected"]
    clients = want["client"]

    def times(a: float, b: float, what: str = "the time") -> str:
        return f"{a / b:.1f}× {what}" if b else "—"

    def grown(step: dict) -> float:
        return step["peak_mb"] - step["setup_mb"]

    counts = imp["counts"]
    imported = (counts.get("client", 0), counts.get("treatment", 0), counts.get("photo", 0),
                imp["stored_files"])
    wanted = (clients, want["treatment"], want["photo"], want["photo"] + want["form"])
    return [
        Result(f"case setup: notices for {setup['notices']:,} clients (notices.make_all)",
               ms(setup["notice_time"]), "—", "—", "(information)", None),
        Result(f"build the package (packaging.build) of {clients:,} clients, wall time "
               f"(baseline: naive export)", ms(build["seconds"]), ms(naive["seconds"]),
               times(build["seconds"], naive["seconds"]), "(information)", None),
        Result("build: clients per second", f"{clients / build['seconds']:,.0f}",
               f"{clients / naive['seconds']:,.0f}", "—", "(information)", None),
        Result("build: SQL queries", f"{build['queries']:,}", f"{naive['queries']:,}",
               "—", "(information)", None),
        Result("package size (age-sealed tar; baseline: plain tar, JSON at once)",
               mib(build["bytes"] / 2**20), mib(naive["bytes"] / 2**20),
               times(build["bytes"], naive["bytes"], "the size"), "(information)", None),
        Result("peak memory of the build (peak RSS of its process, + above its RSS "
               "after setup)", f"{mib(build['peak_mb'])} (+{mib(grown(build))})",
               f"{mib(naive['peak_mb'])} (+{mib(grown(naive))})",
               times(grown(build), grown(naive), "the growth"), "(information)", None),
        Result("verify and import (importer.import_package) into an empty salon, wall time "
               "(baseline: naive import)", ms(imp["seconds"]), ms(plain["seconds"]),
               times(imp["seconds"], plain["seconds"]), "(information)", None),
        Result("verify and import: of which a verify pass (package.verify alone)",
               ms(imp["verify"]), "—", "—", "(information)", None),
        Result("verify and import: clients per second", f"{clients / imp['seconds']:,.0f}",
               f"{clients / plain['seconds']:,.0f}", "—", "(information)", None),
        Result("verify and import: SQL queries (both databases; verify pass included)",
               f"{imp['queries']:,}", f"{plain['queries']:,}", "—", "(information)", None),
        Result("peak memory of verify and import (peak RSS of its process, + above its "
               "RSS after setup)", f"{mib(imp['peak_mb'])} (+{mib(grown(imp))})",
               f"{mib(plain['peak_mb'])} (+{mib(grown(plain))})",
               times(grown(imp), grown(plain), "the growth"), "(information)", None),
        Result("imported: clients, treatments, photos, stored files",
               ", ".join(f"{n:,}" for n in imported), ", ".join(f"{n:,}" for n in wanted),
               "—", "as packaged", imported == wanted and imp["clients"] == clients),
    ]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        child_main(args.child, json.loads(args.param))
        return
    # Stopped with SIGTERM, the bench still removes its directories and scratch databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Nothing this bench queues may reach a real broker: the filesystem broker of the
    # scratch salon takes it (and nothing runs it).
    os.environ.pop("REDIS_URL", None)
    measured_code = code_version(("transfer", "access", "audit", "records", "vault"))
    with scratch("transfer", keep=args.keep, postgresql=args.db == "postgresql",
                 quick=args.quick) as place:
        database, vault_database = place.urls
        setup_django(place.var_dir, database=database, vault_database=vault_database)
        from django.db import connections

        engine = connections["default"].vendor
        say(f"Salon Vault transfer benchmark: {args.clients:,} clients, SALON_VAULT_VAR="
            f"{place.var_dir}, database {engine}{' tag ' + DB_TAG if DB_TAG else ''}")
        fresh = prepare_databases()
        ensure_seeded(args.clients, fresh, photos=args.photos,
                      treatments_per_client=args.treatments)
        load_before = os.getloadavg()
        got = measure(args, place)
    want = got["setup"]["expected"]
    run_header("transfer benchmark",
               f"{want['client']:,} clients, {want['treatment']:,} treatments, "
               f"{want['photo']:,} photos, {want['form']:,} forms, databases {engine}")
    print("each step in a child process of its own: build, packaging.build(); verify and "
          "import, importer.import_package() into a second salon (own keyring, empty "
          "databases). Peak memory: the child's peak RSS (VmHWM).")
    print(f"code: {measured_code}")
    print(f"load average (1 min) when the timings began {load_before[0]:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f}")
    if args.quick:
        print("--quick: a smoke test of the bench on a small salon; its figures are no "
              "measurement.")
    print()
    report(results(got), markdown=args.markdown)
    for step in ("build", "import"):
        if got[step].get("profile"):
            print(f"\n--- cProfile of the {step} (its process) ---\n{got[step]['profile']}")


if __name__ == "__main__":
    main()
