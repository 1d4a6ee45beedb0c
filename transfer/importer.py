"""The receiving side: a package bought with another salon's business, imported here.

The package is verified in full first (the seller's key pinned, every hash, addressed to
this identity), then read a second time and written in one transaction on both databases:
every value and file sealed under this deployment's own new data keys, each client given
a code at the chosen location and its provenance (seller, package, the code there, the
purposes its record may be used for here). Anything wrong rolls it all back; a package is
imported once, and a replay is refused. The signed receipt for the seller is the result.

Files come before the records that name them (the package streams them as they are read,
records in chunks), so a file waits for its record sealed under a key made for this import
alone and held only in memory: nothing of the package is ever on disk in the clear.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import os
import tempfile
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from auditlog.context import disable_auditlog
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import transaction
from django.utils import timezone

import audit.services as audit
from access import door
from access.models import Location
from audit import actions, checkpoints
from records.models import (
    BeautyProfile,
    Client,
    ClientForm,
    ConsentEvent,
    HealthNote,
    PatchTest,
    Photo,
    Product,
    Provenance,
    Treatment,
)
from records.services import next_client_codes
from vault import scope as vault_scope
from vault.models import DataKey

from . import package, receipt
from .models import ImportedPackage, Part

BULK = 500


class ImportRefused(Exception):
    """The package cannot be imported here (the message says why); nothing was written."""


@dataclass
class Imported:
    package_id: str
    clients: int = 0
    counts: dict = field(default_factory=lambda: defaultdict(int))
    receipt: dict = field(default_factory=dict)


class _Waiting:
    """Files waiting for their records: sealed with a key of this import only."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="transfer-import-")
        self._key = AESGCM(AESGCM.generate_key(bit_length=256))
        self._paths: dict[str, Path] = {}

    def put(self, name: str, data: bytes) -> None:
        nonce = os.urandom(12)
        path = Path(self._dir.name) / hashlib.sha256(name.encode()).hexdigest()
        path.write_bytes(nonce + self._key.encrypt(nonce, data, name.encode()))
        self._paths[name] = path

    def take(self, name: str) -> bytes:
        path = self._paths.pop(name, None)
        if path is None:
            raise ImportRefused(f"the record names a file the package does not hold: {name}")
        blob = path.read_bytes()
        path.unlink()
        return self._key.decrypt(blob[:12], blob[12:], name.encode())

    def left(self) -> list[str]:
        return sorted(self._paths)

    def close(self) -> None:
        self._dir.cleanup()


def _location(code: str | None) -> Location:
    if code:
        found = Location.objects.filter(code=code).first()
        if found is None:
            raise ImportRefused(f"no location with the code {code!r} here")
        return found
    places = list(Location.objects.all()[:2])
    if len(places) != 1:
        raise ImportRefused("say which location the clients join (--location CODE)")
    return places[0]


def import_package(source, *, identity, seller_key, location_code: str | None = None
                   ) -> Imported:
    identity = package.load_identity(identity) if isinstance(identity, (str, os.PathLike)) \
        else identity
    try:
        manifest = package.verify(source, identity=identity, seller_key=seller_key)
    except package.PackageRefused as exc:
        raise ImportRefused(str(exc)) from None
    package_id = manifest["package_id"]
    done = ImportedPackage.objects.filter(package_id=package_id).first()
    if done is not None:
        raise ImportRefused(f"package {package_id} was imported here on "
                            f"{done.imported_at:%Y-%m-%d %H:%M}: a package is imported once")
    location = _location(location_code)
    result = Imported(package_id)
    waiting = _Waiting()
    try:
        with door.open_for_system(actor="transfer_import", purpose=actions.TRANSFER_BUSINESS,
                                  create=True, detail={"package": package_id}), \
                transaction.atomic(using="default"), transaction.atomic(using="vault"), \
                disable_auditlog():
            writer = _Writer(manifest, location, waiting, result)
            for entry in package.entries(source, identity=identity, manifest=manifest):
                writer.add(entry)
            writer.finish()
            from records import tasks as record_tasks

            photos = writer.photo_ids
            transaction.on_commit(lambda: [record_tasks.make_photo_thumbnail.delay(str(pk))
                                           for pk in photos])
            result.receipt = receipt.make(manifest, counts=dict(result.counts),
                                          signer=checkpoints.signer(),
                                          recipient=str(identity.to_public()))
            ImportedPackage.objects.create(
                package_id=package_id, case_id=manifest["header"].get("case_id"),
                seller=manifest["header"].get("seller", ""),
                seller_fingerprint=manifest["seller_fingerprint"],
                manifest_sha256=result.receipt["manifest_sha256"], counts=dict(result.counts),
                location_code=location.code, imported_at=timezone.now(),
                receipt=result.receipt)
            audit.record(actor=None, actor_label="system:transfer_import", role="system",
                         action=actions.TRANSFER_IMPORT, outcome="allowed",
                         subjects=writer.client_ids, purpose=actions.TRANSFER_BUSINESS,
                         location_code=location.code,
                         detail={"package": package_id, "counts": dict(result.counts),
                                 "seller": manifest["seller_fingerprint"]})
    except package.PackageRefused as exc:
        raise ImportRefused(str(exc)) from None
    finally:
        waiting.close()
    result.clients = result.counts.get("client", 0)
    return result


def _date(value):
    return dt.date.fromisoformat(value) if value else None


def _datetime(value):
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class _Writer:
    """Turns the package's records into rows, buffered and written in bulk."""

    def __init__(self, manifest: dict, location: Location, waiting: _Waiting, result: Imported):
        header = manifest["header"]
        self.manifest, self.location, self.waiting, self.result = manifest, location, waiting, result
        self.parts = set(header.get("parts") or Part.values)
        self.seller = str(header.get("seller", ""))
        self.now = timezone.now()
        self.client_ids: list[uuid.UUID] = []
        self.rows: dict[type, list] = defaultdict(list)
        self.products: dict[str, Product] = {}
        self.photo_ids: list[uuid.UUID] = []
        self.created: dict[uuid.UUID, dt.datetime | None] = {}
        self.original_codes: dict[uuid.UUID, str] = {}
        self.keyless: list[uuid.UUID] = []  # clients seen whose data keys are still to make

    def add(self, entry: tuple) -> None:
        if entry[0] == "file":
            _kind, name, data = entry
            self.waiting.put(name, data)
            return
        _kind, kind, record = entry
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            raise ImportRefused(f"unknown record type {kind!r}")
        handler(record)
        self.result.counts[kind] += 1
        for model, rows in list(self.rows.items()):
            if len(rows) >= BULK:
                self._flush(model)

    def _flush(self, model) -> None:
        if self.keyless:  # every client seen so far gets its data key, in one write
            have = set(DataKey.objects.filter(subject_id__in=self.keyless)
                       .values_list("subject_id", flat=True))
            vault_scope.current().create_keys([c for c in self.keyless if c not in have])
            self.keyless = []
        rows, self.rows[model] = self.rows[model], []
        if rows and model is Client:
            self._claim(rows)
        if rows:
            model.objects.bulk_create(rows)
        if rows and model is Client:
            # The insert stamps the import's time (auto_now_add): each record keeps the time
            # it was created at the seller, which retention counts from when no visit is known.
            for client in rows:
                client.created_at = self.created.pop(client.pk, None) or client.created_at
            Client.objects.bulk_update(rows, ["created_at"])

    def _claim(self, clients: list[Client]) -> None:
        """Refuse ids already here, and give the clients their codes in arrival order: one
        query and one counter update for the whole buffer, not per client."""
        ids = [c.pk for c in clients]
        taken = Client.objects.filter(pk__in=ids).values_list("pk", flat=True).first()
        if taken is not None:
            raise ImportRefused(f"a client with the id {taken} is here already")
        for client, code in zip(clients, next_client_codes(self.location, len(clients)),
                                strict=True):
            client.code = code

    def finish(self) -> None:
        # Clients first, then what refers to them (the constraints are checked at commit).
        for model in (Client, Provenance, ConsentEvent, BeautyProfile, HealthNote, Treatment,
                      PatchTest, Photo, ClientForm):
            self._flush(model)
        if self.waiting.left():
            raise ImportRefused(f"files without a record: {', '.join(self.waiting.left()[:3])}")

    def _client(self, r: dict) -> None:
        cid = uuid.UUID(r["id"])
        self.client_ids.append(cid)
        self.keyless.append(cid)
        self.original_codes[cid] = r["code"]
        self.created[cid] = _datetime(r["created_at"])
        self.rows[Client].append(Client(
            id=cid, code="", location=self.location, full_name=r["full_name"],
            phone=r["phone"], wechat_id=r["wechat_id"], email=r["email"],
            birthday=_date(r["birthday"]), last_visit=_date(r["last_visit"])))

    def _provenance(self, r: dict) -> None:
        cid = uuid.UUID(r["client_id"])
        self.rows[Provenance].append(Provenance(
            client_id=cid, package_id=self.manifest["package_id"], case_id=r["case_id"],
            seller=r["seller"][:200], seller_fingerprint=self.manifest["seller_fingerprint"],
            original_code=self.original_codes.get(cid, ""),
            original_purposes=list(r["original_purposes"]), imported_at=self.now))

    def _consent(self, r: dict) -> None:
        self.rows[ConsentEvent].append(ConsentEvent(
            id=uuid.UUID(r["id"]), client_id=uuid.UUID(r["client_id"]), purpose=r["purpose"],
            action=r["action"], at=_datetime(r["at"]), channel=r["channel"],
            notice_version=r["notice_version"], signature=""))

    def _beauty_profile(self, r: dict) -> None:
        self.rows[BeautyProfile].append(BeautyProfile(
            client_id=uuid.UUID(r["client_id"]), skin_type=r["skin_type"], hair=r["hair"],
            concerns=r["concerns"]))

    def _health_note(self, r: dict) -> None:
        self.rows[HealthNote].append(HealthNote(
            client_id=uuid.UUID(r["client_id"]), allergies=r["allergies"],
            contraindications=r["contraindications"], medication=r["medication"],
            pregnancy=r["pregnancy"], conditions=r["conditions"]))

    def _treatment(self, r: dict) -> None:
        self.rows[Treatment].append(Treatment(
            id=uuid.UUID(r["id"]), client_id=uuid.UUID(r["client_id"]),
            performed_on=_date(r["performed_on"]), service=r["service"],
            products=list(r["products"] or []), colour_formula=r["colour_formula"],
            notes=r["notes"], price=decimal.Decimal(r["price"]) if r["price"] else None))

    def _patch_test(self, r: dict) -> None:
        name = r["product"]
        if name not in self.products:
            self.products[name], _created = Product.objects.get_or_create(name=name)
        self.rows[PatchTest].append(PatchTest(
            id=uuid.UUID(r["id"]), client_id=uuid.UUID(r["client_id"]),
            product=self.products[name], tested_on=_date(r["tested_on"]), result=r["result"],
            reaction=r["reaction"]))

    def _file(self, r: dict) -> bytes:
        data = self.waiting.take(r["file"])
        if hashlib.sha256(data).hexdigest() != r["sha256"]:
            raise ImportRefused(f"{r['file']}: its SHA-256 differs from its record's")
        return data

    def _photo(self, r: dict) -> None:
        data = self._file(r)
        treatment = r["treatment_id"] if Part.TREATMENTS in self.parts else None
        self.photo_ids.append(uuid.UUID(r["id"]))
        self.rows[Photo].append(Photo(
            id=uuid.UUID(r["id"]), client_id=uuid.UUID(r["client_id"]),
            treatment_id=uuid.UUID(treatment) if treatment else None, kind=r["kind"],
            taken_on=_date(r["taken_on"]), image=data, content_type=r["content_type"],
            byte_size=len(data), width=r["width"] or 0, height=r["height"] or 0))

    def _form(self, r: dict) -> None:
        data = self._file(r)
        self.rows[ClientForm].append(ClientForm(
            id=uuid.UUID(r["id"]), client_id=uuid.UUID(r["client_id"]), kind=r["kind"],
            signed_on=_date(r["signed_on"]), document=data, content_type=r["content_type"],
            byte_size=len(data)))
