"""The package: built by a task after two approvals, sealed to the recipient, signed by the
salon, holding what the scope allows (health and photos only with the client's separate
consent), downloaded once; then imported on the other side, all or nothing, once."""

from __future__ import annotations

import datetime as dt
import io
import json

import pyrage
import pytest
from django.core.management import CommandError, call_command

from audit import checkpoints
from audit.models import AccessEvent
from records import consent, services
from records.models import Client, HealthNote, Photo, Provenance, Treatment
from tests.conftest import tasks_run_at_once
from tests.transfer.test_cases import _tick_all, _to_notice
from tests.vault.conftest import jpeg_with_gps
from transfer import cases, importer, notices, package, packaging, receipt
from transfer.models import ImportedPackage, Package, State


@pytest.fixture(autouse=True)
def _package_dir(settings, tmp_path):
    settings.TRANSFER_PACKAGE_DIR = tmp_path / "packages"


@pytest.fixture
def identity():
    return pyrage.x25519.Identity.generate()


@pytest.fixture
def sale(owner, owner2, owner3, identity, client_record, make_client):
    """A case approved by two owners: contact, treatments, health and photos; client_record
    consented to health data but not photos; a second client to photos only."""
    services.treatment_add(actor=owner, client=client_record, performed_on=dt.date(2026, 3, 1),
                           service="染发", products=["欧莱雅"], colour_formula="6/0 + 20vol",
                           price="380.00")
    services.photo_add(actor=owner, client=client_record, kind="before",
                       taken_on=dt.date(2026, 3, 1), upload=io.BytesIO(jpeg_with_gps()))
    consent.record_by_staff(actor=owner, client=client_record, purpose="health",
                            action="given", channel="paper")
    other = make_client(full_name="周敏", phone="13700001111", allergies="花粉")
    services.photo_add(actor=owner, client=other, kind="after", taken_on=dt.date(2026, 4, 1),
                       upload=io.BytesIO(jpeg_with_gps(colour=(10, 200, 10))))
    consent.record_by_staff(actor=owner, client=other, purpose="photos", action="given",
                            channel="paper")
    case = cases.open_case(actor=owner, title="出售", recipient_name="新美丽有限公司",
                           recipient_contact="010-87654321",
                           recipient_key=str(identity.to_public()),
                           parts=["contact", "treatments", "health", "photos"])
    case = _to_notice(case, owner)
    notices.make_all(case, actor=owner)
    _tick_all(case, owner)
    case = cases.start_approval(case, actor=owner,
                                today=case.objection_until + dt.timedelta(days=1))
    cases.approve(case, actor=owner2, reauthenticated=True)
    cases.approve(case, actor=owner3, reauthenticated=True)
    return case, client_record, other


def _build(case, owner, django_capture_on_commit_callbacks):
    with tasks_run_at_once(), django_capture_on_commit_callbacks(execute=True):
        built = packaging.request_build(case, actor=owner)
    return Package.objects.get(pk=built.pk)


def _records(path, identity, seller_key=None):
    manifest = package.verify(path, identity=identity,
                              seller_key=seller_key or checkpoints.public_key())
    found: dict = {}
    files = {}
    for entry in package.entries(path, identity=identity, manifest=manifest):
        if entry[0] == "record":
            found.setdefault(entry[1], []).append(entry[2])
        else:
            files[entry[1]] = entry[2]
    return manifest, found, files


def test_the_package_holds_what_the_scope_and_consents_allow(
        sale, owner, identity, django_capture_on_commit_callbacks):
    case, lina, other = sale
    built = _build(case, owner, django_capture_on_commit_callbacks)
    assert built.status == Package.Status.READY and built.done == built.total == 2
    case.refresh_from_db()
    assert case.state == State.PACKAGED
    path = packaging.path_of(built)
    data = path.read_bytes()
    assert b"13812345678" not in data and "李娜".encode() not in data  # sealed
    manifest, found, files = _records(path, identity)
    assert manifest["package_id"] == built.manifest["package_id"]
    assert {c["full_name"] for c in found["client"]} == {"李娜", "周敏"}
    [note] = found["health_note"]  # only Li Na consented to health data
    assert note["client_id"] == str(lina.pk) and note["allergies"] == "对PPD染发剂过敏"
    [photo] = found["photo"]  # only Zhou Min consented to photos
    assert photo["client_id"] == str(other.pk)
    with_photo = Photo.objects.get(client=other)
    from access import door
    with door.open_for_system(actor="test", purpose="compare", subjects=[other.pk]):
        assert files[photo["file"]] == with_photo.image.read()
    [t] = found["treatment"]
    assert (t["service"], t["colour_formula"], t["price"]) == ("染发", "6/0 + 20vol", "380.00")
    purposes = {p["client_id"]: p["original_purposes"] for p in found["provenance"]}
    assert purposes[str(lina.pk)] == ["service", "health"]
    # Another recipient's identity cannot open it.
    with pytest.raises(package.PackageRefused):
        package.verify(path, identity=pyrage.x25519.Identity.generate(), seller_key=None)


def test_the_package_is_built_only_after_two_approvals(owner, owner2, sale):
    case, _lina, _other = sale
    case = cases.change_scope(case, actor=owner, location_codes=[],
                              parts=["contact", "treatments"], basis="notice")
    with pytest.raises(cases.StepRefused, match="approve"):
        packaging.request_build(case, actor=owner)
    assert not Package.objects.exists()


def test_the_package_is_downloaded_once(login, owner, sale, django_capture_on_commit_callbacks):
    case, _lina, _other = sale
    built = _build(case, owner, django_capture_on_commit_callbacks)
    http = login(owner, reauthed=True)
    url = f"/transfer/{case.pk}/package/{built.pk}/download/"
    response = http.post(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert len(body) == built.byte_size
    assert not packaging.path_of(built).exists()
    case.refresh_from_db()
    assert case.state == State.DELIVERED
    assert http.post(url).status_code == 409
    assert AccessEvent.objects.filter(action="transfer.download").count() == 1


def test_import_writes_every_field_under_new_keys_and_refuses_a_replay(
        tmp_path, owner, sale, identity, location, django_capture_on_commit_callbacks):
    """Round trip within one database: the seller's clients are removed before the
    import (a second deployment is tested in test_two_salons)."""
    case, lina, other = sale
    built = _build(case, owner, django_capture_on_commit_callbacks)
    path = packaging.path_of(built)
    _m, found, files = _records(path, identity)
    Client.objects.filter(pk__in=[lina.pk, other.pk]).delete()
    done = importer.import_package(path, identity=identity, seller_key=checkpoints.public_key(),
                                   location_code=location.code)
    assert done.clients == 2 and done.counts["treatment"] == 1
    from access import door
    with door.open_for_system(actor="test", purpose="compare", subjects=[lina.pk, other.pk]):
        back = Client.objects.get(pk=lina.pk)
        assert (back.full_name, back.phone, back.email) == ("李娜", "13812345678",
                                                            "lina@example.cn")
        assert HealthNote.objects.get(client_id=lina.pk).allergies == "对PPD染发剂过敏"
        assert Treatment.objects.get(client_id=lina.pk).colour_formula == "6/0 + 20vol"
        photo = Photo.objects.get(client_id=other.pk)
        assert photo.image.read() == files[found["photo"][0]["file"]]
    origin = Provenance.objects.get(client_id=lina.pk)
    assert origin.original_purposes == ["service", "health"]
    codes = {c["id"]: c["code"] for c in found["client"]}
    assert origin.original_code == codes[str(lina.pk)] and origin.seller
    assert Client.objects.get(pk=lina.pk).code.startswith(location.code.upper())
    stamp = receipt.check(json.dumps(done.receipt).encode(), manifest=built.manifest)
    assert stamp["package_id"] == built.manifest["package_id"]
    with pytest.raises(importer.ImportRefused, match="imported here on"):
        importer.import_package(path, identity=identity, seller_key=checkpoints.public_key(),
                                location_code=location.code)
    assert ImportedPackage.objects.count() == 1


def test_a_new_purpose_needs_the_clients_consent_here(
        login, owner, sale, identity, location, django_capture_on_commit_callbacks):
    case, lina, _other = sale
    built = _build(case, owner, django_capture_on_commit_callbacks)
    Client.objects.filter(pk__in=[c.pk for c in sale[1:]]).delete()
    importer.import_package(packaging.path_of(built), identity=identity,
                            seller_key=checkpoints.public_key(), location_code=location.code)
    lina = Client.objects.get(pk=lina.pk)
    page = login(owner).get(f"/clients/{lina.pk}/").content.decode()
    assert 'id="provenance"' in page and Provenance.objects.get(client=lina).seller in page
    # Service and health were its purposes at the seller; photos were not.
    consent.check_allowed(lina.pk, "service")
    consent.check_allowed(lina.pk, "health")
    with pytest.raises(consent.PurposeLocked):
        consent.check_allowed(lina.pk, "photos")
    consent.record_by_staff(actor=owner, client=lina, purpose="photos", action="given",
                            channel="paper")
    consent.check_allowed(lina.pk, "photos")


def test_a_package_signed_by_another_seller_is_refused(
        owner, sale, identity, location, django_capture_on_commit_callbacks):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    case, _lina, _other = sale
    built = _build(case, owner, django_capture_on_commit_callbacks)
    other_key = Ed25519PrivateKey.generate().public_key()
    before = Client.objects.count()
    with pytest.raises(importer.ImportRefused, match="another key"):
        importer.import_package(packaging.path_of(built), identity=identity,
                                seller_key=other_key, location_code=location.code)
    assert Client.objects.count() == before and not ImportedPackage.objects.exists()


def test_the_import_command_prints_the_receipt_path_last(
        tmp_path, owner, sale, identity, location, django_capture_on_commit_callbacks):
    case, *_ = sale
    built = _build(case, owner, django_capture_on_commit_callbacks)
    Client.objects.filter(pk__in=[c.pk for c in sale[1:]]).delete()
    (tmp_path / "identity.txt").write_text(f"{identity}\n")
    out = io.StringIO()
    call_command("transfer_import", str(packaging.path_of(built)), "--identity",
                 str(tmp_path / "identity.txt"), "--seller-key",
                 package.public_key_text(checkpoints.public_key()), "--location", location.code,
                 "--receipt", str(tmp_path / "receipt.json"), stdout=out)
    assert out.getvalue().splitlines()[-1] == str(tmp_path / "receipt.json")
    assert json.loads((tmp_path / "receipt.json").read_text())["package_id"] == \
        built.manifest["package_id"]
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("transfer_import", str(packaging.path_of(built)), "--identity",
                     str(tmp_path / "identity.txt"), "--seller-key",
                     package.public_key_text(checkpoints.public_key()), stdout=io.StringIO())


