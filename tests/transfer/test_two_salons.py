"""The sale of the business between two deployments, as the two salons run it: salon A (the
seller) and salon B (the buyer), each with its own keyring, var directory and databases,
driven by `manage.py` and Python in subprocesses.

B makes its key pair with `transfer_keygen`; A opens a case to that key, walks it to two
owners' approval and builds the package; B imports it with `transfer_import` and A's key
from `audit_checkpoint --public-key`. Every exported field arrives equal, every photo and
form byte for byte, sealed under B's keys, each client with its provenance; the receipt
verifies at A. Wrong keys, another identity, a truncated copy and a replay are refused with
nothing imported; a packaging run and an import killed half-way converge when run again.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.salons import ScratchDatabases, new_salon

SELLER = "老城美发工作室"
CLIENTS, PHOTOS, FORMS = 24, 8, 6  # photos and forms: clients with a photo pair, a form

# Salon A: demo clients (treatments, health notes, patch tests, photos, forms), each
# consenting to health data and photos; two more owners (with an authenticator) to approve.
SEED = """
import os, django
django.setup()
from django.contrib.auth.models import User
from django.core.management import call_command
from records import consent
from records.models import Client
from tests.transfer.conftest import _owner_with_authenticator
call_command("seed_demo", clients=%(clients)d, treatments=%(treatments)d, photos=%(photos)d,
             forms=%(forms)d, stdout=open(os.devnull, "w"))
owner = User.objects.get(username="owner")
for client in Client.objects.all():
    for purpose in ("health", "photos"):
        consent.record_by_staff(actor=owner, client=client, purpose=purpose, action="given",
                                channel="paper")
_owner_with_authenticator("owner2")
_owner_with_authenticator("owner3")
"""

# Salon A: a case to the recipient key (argv[1]: recipient.txt) with every part, walked
# to two owners' approval; the package asked for. Prints the case and package ids.
CASE = """
import datetime as dt, sys, django
django.setup()
from pathlib import Path
from django.contrib.auth.models import User
from tests.transfer.test_cases import _tick_all, _to_notice
from transfer import cases, notices, packaging
from transfer.models import Part
owner, owner2, owner3 = (User.objects.get(username=n) for n in ("owner", "owner2", "owner3"))
case = cases.open_case(actor=owner, title="出售老城店", recipient_name="新美丽有限公司",
                       recipient_contact="张经理 010-87654321",
                       recipient_key=Path(sys.argv[1]).read_text().strip(),
                       parts=list(Part.values))
case = _to_notice(case, owner)
notices.make_all(case, actor=owner)
_tick_all(case, owner)
case = cases.start_approval(case, actor=owner, today=case.objection_until + dt.timedelta(days=1))
cases.approve(case, actor=owner2, reauthenticated=True)
cases.approve(case, actor=owner3, reauthenticated=True)
built = packaging.request_build(case, actor=owner)
print(case.pk, built.pk)
"""

# Salon A: build the package (argv[1]) in this process, as the task would. With argv[2]
# and argv[3], batches of argv[2] clients, and once argv[3] clients are in, say so and
# wait (on stdin) to be killed.
BUILD = """
import json, sys, django
django.setup()
from transfer import export, packaging
from transfer.models import Package
if len(sys.argv) > 3:
    export.BATCH, stop = int(sys.argv[2]), int(sys.argv[3])
    entries = export.entries

    def hooked(case, plan, *, seller, done=None):
        def progress(n):
            done(n)
            print(f"done {n}", flush=True)
            if n >= stop:
                sys.stdin.readline()
        return entries(case, plan, seller=seller, done=progress)

    export.entries = hooked
built = packaging.build(sys.argv[1])
print(json.dumps({"status": built.status, "done": built.done, "total": built.total,
                  "path": str(packaging.path_of(built)), "manifest": built.manifest,
                  "clients": built.clients}))
"""

# Salon A: what it knows of a package (argv[1]); verified (when argv[2], the buyer's
# identity, is given) against the salon's own key.
PACKAGE_STATE = """
import json, sys, django
django.setup()
from audit import checkpoints
from transfer import package, packaging
from transfer.models import Package
built = Package.objects.get(pk=sys.argv[1])
path = packaging.path_of(built)
out = {"status": built.status, "done": built.done, "total": built.total,
       "exists": path.exists(), "partial": path.with_suffix(".partial").exists(),
       "files": sorted(p.name for p in packaging.packages_dir().iterdir())}
if len(sys.argv) > 2 and path.exists():
    manifest = package.verify(path, identity=package.load_identity(sys.argv[2]),
                              seller_key=checkpoints.public_key())
    out["verified"] = manifest["package_id"] == built.manifest["package_id"]
    out["counts"] = manifest["counts"]
print(json.dumps(out))
"""

# Either salon: every exported field of every client, read through a system opening;
# files as their SHA-256 and size; provenance if any.
DUMP = """
import hashlib, json, django
django.setup()
from access import door
from records.models import (BeautyProfile, Client, ClientForm, ConsentEvent, HealthNote,
                            PatchTest, Photo, Provenance, Treatment)

def iso(v):
    return v.isoformat() if v is not None else None

def text(v):
    return None if v is None or v == "" else str(v)

def blob(data):
    return [hashlib.sha256(data).hexdigest(), len(data)]

clients = list(Client.objects.select_related("location").order_by("code"))
ids = [c.pk for c in clients]
out = {}
with door.open_for_system(actor="check", purpose="integrity check", subjects=ids):
    for c in clients:
        cid = str(c.pk)
        beauty = BeautyProfile.objects.filter(client=c).first()
        health = HealthNote.objects.filter(client=c).first()
        out[cid] = {
            "client": {"full_name": text(c.full_name), "phone": text(c.phone),
                       "wechat_id": text(c.wechat_id), "email": text(c.email),
                       "birthday": iso(c.birthday), "last_visit": iso(c.last_visit),
                       "created_at": iso(c.created_at)},
            "code": c.code, "location": c.location.code,
            "beauty_profile": beauty and {k: text(getattr(beauty, k))
                                          for k in ("skin_type", "hair", "concerns")},
            "health_note": health and {k: text(getattr(health, k)) for k in (
                "allergies", "contraindications", "medication", "pregnancy", "conditions")},
            "treatments": sorted([str(t.pk), iso(t.performed_on), text(t.service),
                                  list(t.products or []), text(t.colour_formula),
                                  text(t.notes), text(t.price)]
                                 for t in Treatment.objects.filter(client=c)),
            "patch_tests": sorted([str(p.pk), p.product.name, iso(p.tested_on), text(p.result),
                                   text(p.reaction)]
                                  for p in PatchTest.objects.filter(client=c)
                                  .select_related("product")),
            "consents": sorted([str(e.pk), e.purpose, e.action, iso(e.at), e.channel,
                                e.notice_version]
                               for e in ConsentEvent.objects.filter(client=c)),
            "photos": sorted([str(p.pk), str(p.treatment_id) if p.treatment_id else None,
                              p.kind, iso(p.taken_on), p.content_type, p.width, p.height,
                              blob(p.image.read())]
                             for p in Photo.objects.filter(client=c)),
            "forms": sorted([str(f.pk), f.kind, iso(f.signed_on), f.content_type,
                             blob(f.document.read())]
                            for f in ClientForm.objects.filter(client=c)),
        }
provenance = {str(p.client_id): {"package_id": str(p.package_id), "case_id": str(p.case_id),
                                 "seller": p.seller, "seller_fingerprint": p.seller_fingerprint,
                                 "original_code": p.original_code,
                                 "original_purposes": p.original_purposes}
              for p in Provenance.objects.all()}
print(json.dumps({"clients": out, "provenance": provenance}))
"""

# Salon B, run with salon A's keyring: each client's name, opened or refused.
FOREIGN_KEYRING = """
import json, django
django.setup()
from access import door
from records.models import Client
opened, refused = [], []
clients = list(Client.objects.all())
with door.open_for_system(actor="check", purpose="integrity check",
                          subjects=[c.pk for c in clients]):
    for c in clients:
        try:
            name = c.full_name
        except Exception as exc:
            refused.append(type(exc).__name__)
            continue
        if isinstance(name, str):
            opened.append(str(c.pk))
        else:
            refused.append(type(name).__name__)  # still sealed, or marked damaged
print(json.dumps({"opened": opened, "refused": refused}))
"""

# Salon B: what it holds of imports. Sealed files that no row names are tried with every
# data key B holds for their subject, as the photo or form of every row of that subject.
HOLDINGS = """
import json, django
django.setup()
from records.models import Client, ClientForm, Photo, Provenance
from transfer.models import ImportedPackage
from vault import aead, keystore
from vault.errors import IntegrityError
from vault.fields import _files_root
from vault.models import DataKey
named = {n for row in Photo.objects.values_list("image", "thumbnail") for n in row if n}
named |= set(ClientForm.objects.values_list("document", flat=True))
files = list(_files_root().rglob("*.sv"))

def opens(path):
    blob = path.read_bytes()
    kid = aead.key_id(blob)
    rows = [("records.photo", "image", pk) for pk in
            Photo.objects.filter(client_id=kid.subject).values_list("pk", flat=True)]
    rows += [("records.clientform", "document", pk) for pk in
             ClientForm.objects.filter(client_id=kid.subject).values_list("pk", flat=True)]
    for cipher in keystore.load([kid.subject]).values():
        for label, field, pk in rows:
            try:
                aead.open_(cipher, blob, aead.context(label, field, pk, kid.subject)
                           + b"|" + path.name.encode())
                return True
            except IntegrityError:
                pass
    return False

stray = [p for p in files if p.name not in named]
print(json.dumps({
    "clients": Client.objects.count(), "provenance": Provenance.objects.count(),
    "photos": Photo.objects.count(), "forms": ClientForm.objects.count(),
    "imported": list(ImportedPackage.objects.values_list("package_id", flat=True)),
    "data_keys": DataKey.objects.count(), "files": len(named),
    "files_opened": sum(opens(p) for p in files if p.name in named),
    "stray_files": len(stray), "stray_files_opened": sum(opens(p) for p in stray),
}, default=str))
"""

# Salon B: `transfer_import` (argv[1:] its arguments) with small bulk writes; after the
# first batch of photos is written (inside the one transaction), say so and wait (on
# stdin) to be killed.
IMPORT_HELD = """
import sys, django
django.setup()
from django.core.management import call_command
from records.models import Photo
from transfer import importer
importer.BULK = 3
flush = importer._Writer._flush

def held(self, model):
    writing = bool(self.rows[model])
    flush(self, model)
    if model is Photo and writing:
        print("photos written", flush=True)
        sys.stdin.readline()

importer._Writer._flush = held
call_command("transfer_import", *sys.argv[1:])
"""

RECEIPT = """
import json, sys, django
django.setup()
from pathlib import Path
from transfer import receipt
from transfer.models import Package
built = Package.objects.get(pk=sys.argv[1])
stamp = receipt.check(Path(sys.argv[2]).read_bytes(), manifest=built.manifest)
try:
    receipt.check(Path(sys.argv[2]).read_bytes().replace(b'"client": ', b'"client": 1'),
                  manifest=built.manifest)
    tampered = "accepted"
except receipt.InvalidReceipt as exc:
    tampered = str(exc)
print(json.dumps({"package_id": stamp["package_id"], "counts": stamp["counts"],
                  "tampered": tampered}))
"""


def _json(done: subprocess.CompletedProcess) -> dict:
    return json.loads(done.stdout.splitlines()[-1])


def _public_key(salon) -> str:
    """The salon's signing key, as `audit_checkpoint --public-key` prints it."""
    printed = salon("manage.py", "audit_checkpoint", "--public-key").stdout
    [line] = [line for line in printed.splitlines() if line.startswith("public key: ")]
    return line.removeprefix("public key: ")


@pytest.fixture(scope="module")
def salons(tmp_path_factory):
    """Salon A, seeded; salon B with its location and its transfer key pair; a second
    deployment of the buyer (B2) for the killed import: made once for the module (a
    deployment takes seconds to migrate)."""
    folder = tmp_path_factory.mktemp("salons")
    databases = ScratchDatabases(folder)
    try:
        # Three deployments migrate at once: A, B, and a second deployment of the buyer.
        with ThreadPoolExecutor(3) as pool:
            made = [pool.submit(new_salon, folder / name, databases(name), SALON_NAME=label)
                    for name, label in (("a", SELLER), ("b", "新美丽"), ("b2", "新美丽"))]
            a, b, b2 = (m.result() for m in made)
        a("-c", SEED % {"clients": CLIENTS, "treatments": 2 * CLIENTS, "photos": PHOTOS,
                        "forms": FORMS})
        for buyer in (b, b2):
            buyer("manage.py", "shell", "-c", "from access.models import Location; "
                  "Location.objects.create(code='gz', name='广州天河店')")
        keys = folder / "buyer-keys"
        made = b("manage.py", "transfer_keygen", "--out", str(keys)).stdout
        assert "fingerprint" in made and (keys / "identity.txt").exists()
        seller_key = _public_key(a)
        yield {"a": a, "b": b, "b2": b2, "folder": folder, "databases": databases, "keys": keys,
               "identity": keys / "identity.txt", "recipient": keys / "recipient.txt",
               "seller_key": seller_key}
    finally:
        databases.drop_all()


def _sell(a, recipient) -> tuple[str, str]:
    case_id, package_id = a("-c", CASE, str(recipient)).stdout.split()
    return case_id, package_id


@pytest.fixture(scope="module")
def sold(salons):
    """A's package for B, built by `packaging.build` in a process of A."""
    a = salons["a"]
    case_id, package_id = _sell(a, salons["recipient"])
    built = _json(a("-c", BUILD, package_id))
    assert built["status"] == "ready" and built["done"] == built["total"] == CLIENTS
    return {"case_id": case_id, "package_id": package_id, "path": built["path"],
            "manifest": built["manifest"], "clients": built["clients"]}


def _import(salon, sold, salons, *extra, check=True, identity=None, package=None):
    return salon("manage.py", "transfer_import", package or sold["path"], "--identity",
                 str(identity or salons["identity"]), "--seller-key", salons["seller_key"],
                 "--location", "gz", *extra, check=check)


@pytest.fixture(scope="module")
def imported(salons, sold):
    """The package imported into B by `transfer_import`: (its output, the receipt path)."""
    receipt_path = salons["folder"] / "receipt.json"
    done = _import(salons["b"], sold, salons, "--receipt", str(receipt_path))
    return done, receipt_path


def _compare(seller: dict, buyer: dict, sold: dict) -> None:
    """Every exported field of every client equal, files byte for byte; codes new, at B's
    location; each client with its provenance."""
    assert sorted(buyer["clients"]) == sorted(seller["clients"]) == sorted(sold["clients"])
    for cid, there in seller["clients"].items():
        here = buyer["clients"][cid]
        assert here["code"].startswith("GZ") and here["location"] == "gz"
        for part in ("client", "beauty_profile", "health_note", "treatments", "patch_tests",
                     "consents", "photos", "forms"):
            assert here[part] == there[part], (cid, part)
        assert buyer["provenance"][cid] == {
            "package_id": sold["manifest"]["package_id"], "case_id": sold["case_id"],
            "seller": SELLER, "seller_fingerprint": sold["manifest"]["seller_fingerprint"],
            "original_code": there["code"],
            "original_purposes": ["service", "health", "photos"]}
    # What the comparison covers was there to compare: every kind of record and file.
    every = list(seller["clients"].values())
    assert all(len(c["consents"]) >= 2 for c in every)
    for part in ("beauty_profile", "health_note", "treatments", "patch_tests"):
        assert any(c[part] for c in every), part
    assert sum(len(c["photos"]) for c in every) == 2 * PHOTOS
    assert sum(len(c["forms"]) for c in every) == FORMS


def test_a_package_carries_every_record_from_one_salon_to_the_other(salons, sold, imported):
    a, b = salons["a"], salons["b"]
    done, receipt_path = imported
    assert done.stdout.splitlines()[-1] == str(receipt_path)
    assert f"imported package {sold['manifest']['package_id']}: {CLIENTS} clients" in done.stdout
    seller, buyer = _json(a("-c", DUMP)), _json(b("-c", DUMP))
    _compare(seller, buyer, sold)
    # B's rows are sealed under B's keys: with A's keyring not one of them opens.
    foreign = _json(b("-c", FOREIGN_KEYRING,
                      env_extra={"SALON_VAULT_KEYRING": str(a.var / "keyring.json")}))
    assert foreign["opened"] == [] and len(foreign["refused"]) == CLIENTS
    assert len(_json(b("-c", FOREIGN_KEYRING))["opened"]) == CLIENTS
    held = _json(b("-c", HOLDINGS))
    assert held["imported"] == [sold["manifest"]["package_id"]]
    assert held["data_keys"] == held["provenance"] == CLIENTS and held["stray_files"] == 0
    assert held["files"] == held["files_opened"] == 2 * PHOTOS + FORMS
    # The receipt B wrote verifies at A against the package A handed over.
    checked = _json(a("-c", RECEIPT, sold["package_id"], str(receipt_path)))
    assert checked["package_id"] == sold["manifest"]["package_id"]
    assert checked["counts"] == dict(sorted(sold["manifest"]["counts"].items()))
    assert checked["counts"]["client"] == CLIENTS
    assert checked["tampered"] != "accepted"


def test_a_package_is_refused_across_salons_with_nothing_imported(salons, sold, imported):
    b, folder = salons["b"], salons["folder"]
    before = _json(b("-c", HOLDINGS))
    other_keys = folder / "other-keys"
    b("manage.py", "transfer_keygen", "--out", str(other_keys))
    truncated = folder / "truncated.age"
    whole = Path(sold["path"]).read_bytes()
    truncated.write_bytes(whole[: len(whole) * 2 // 3])
    # The seller key of another salon: B's own.
    b_key = _public_key(b)
    attempts = {
        "wrong seller key": b("manage.py", "transfer_import", sold["path"], "--identity",
                              str(salons["identity"]), "--seller-key", b_key, "--location",
                              "gz", check=False),
        "another identity": _import(b, sold, salons, check=False,
                                    identity=other_keys / "identity.txt"),
        "truncated copy": _import(b, sold, salons, check=False, package=str(truncated)),
        "replay": _import(b, sold, salons, check=False),
    }
    for what, done in attempts.items():
        assert done.returncode != 0, what
        assert "refused" in done.stderr, (what, done.stderr)
    assert "a package is imported once" in attempts["replay"].stderr
    assert _json(b("-c", HOLDINGS)) == before


def test_a_packaging_run_killed_half_way_is_built_again_from_nothing(salons):
    a = salons["a"]
    _case_id, package_id = _sell(a, salons["recipient"])
    job = subprocess.Popen([sys.executable, "-c", BUILD, package_id, "4", "8"], cwd=a.root,
                           env=a.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    for line in job.stdout:
        if line.strip() == "done 8":
            job.send_signal(signal.SIGKILL)
            break
    job.wait(timeout=60)
    assert job.returncode == -signal.SIGKILL, job.stderr.read()
    half = _json(a("-c", PACKAGE_STATE, package_id))
    assert half["status"] == "building" and 0 < half["done"] < half["total"] == CLIENTS
    assert half["partial"] and not half["exists"]

    built = _json(a("-c", BUILD, package_id))
    assert built["status"] == "ready" and built["done"] == CLIENTS
    after = _json(a("-c", PACKAGE_STATE, package_id, str(salons["identity"])))
    assert after["verified"] and after["counts"]["client"] == CLIENTS
    assert not after["partial"] and not any(n.endswith(".partial") for n in after["files"])


def test_an_import_killed_half_way_leaves_nothing_and_the_next_one_is_complete(
        salons, sold):
    """Into a second deployment of the buyer (B has the package already)."""
    a, b2, folder = salons["a"], salons["b2"], salons["folder"]
    copy = folder / "b2-package.age"
    shutil.copyfile(sold["path"], copy)
    args = [str(copy), "--identity", str(salons["identity"]), "--seller-key",
            salons["seller_key"], "--location", "gz"]
    job = subprocess.Popen([sys.executable, "-c", IMPORT_HELD, *args], cwd=b2.root,
                           env=b2.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    for line in job.stdout:
        if line.strip() == "photos written":
            job.send_signal(signal.SIGKILL)
            break
    job.wait(timeout=60)
    assert job.returncode == -signal.SIGKILL, job.stderr.read()
    half = _json(b2("-c", HOLDINGS))
    assert (half["clients"], half["provenance"], half["photos"], half["forms"],
            half["imported"], half["data_keys"]) == (0, 0, 0, 0, [], 0)
    # Photos sealed before the kill stay on disk (the undo of a rolled-back write does not
    # run in a killed process), under a data key that was never committed: unreadable.
    assert half["stray_files"] > 0 and half["stray_files_opened"] == 0

    done = b2("manage.py", "transfer_import", *args)
    assert done.stdout.splitlines()[-1].endswith(".json")
    whole = _json(b2("-c", HOLDINGS))
    assert whole["imported"] == [sold["manifest"]["package_id"]]
    assert whole["clients"] == whole["provenance"] == whole["data_keys"] == CLIENTS
    assert whole["photos"] == 2 * PHOTOS and whole["forms"] == FORMS
    assert whole["files"] == whole["files_opened"] == 2 * PHOTOS + FORMS
    # The import made new keys for the same clients: the leftovers still open with none.
    assert whole["stray_files"] == half["stray_files"] and whole["stray_files_opened"] == 0
    _compare(_json(a("-c", DUMP)), _json(b2("-c", DUMP)), sold)
