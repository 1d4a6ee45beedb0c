"""After delivery: the recipient's receipt, the seller's copies destroyed after the grace
period with one signed certificate, the case closed; auditors export the whole case."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from records.models import Client, LegalHold
from tests.transfer.test_packaging import _build, _package_dir, identity, sale  # noqa: F401
from transfer import handover, package, receipt
from transfer.models import State


def _signed_receipt(built, **changes) -> bytes:
    key = Ed25519PrivateKey.generate()
    statement = {
        "format": receipt.FORMAT, "package_id": built.manifest["package_id"],
        "manifest_sha256": built.manifest["manifest_sha256"], "case_id": str(built.case_id),
        "counts": dict(sorted(built.manifest["counts"].items())), "recipient": "age1x",
        "imported_at": "2026-12-05T10:00:00+00:00",
        "receiver_key": package.public_key_text(key.public_key()),
        "receiver_fingerprint": package.fingerprint(key.public_key())} | changes
    return json.dumps(statement | {
        "signature": key.sign(package.canonical(statement)).hex()}).encode()


@pytest.fixture
def delivered(sale, owner, login, django_capture_on_commit_callbacks):  # noqa: F811
    case, lina, other = sale
    built = _build(case, owner, django_capture_on_commit_callbacks)
    http = login(owner, reauthed=True)
    b"".join(http.post(f"/transfer/{case.pk}/package/{built.pk}/download/").streaming_content)
    case.refresh_from_db()
    built.refresh_from_db()
    return case, built, lina, other


def _upload(http, case, data: bytes):
    return http.post(f"/transfer/{case.pk}/receipt/",
                     {"receipt": SimpleUploadedFile("receipt.json", data)})


def test_a_receipt_must_name_the_package_handed_over(login, owner, delivered):
    case, built, *_ = delivered
    http = login(owner)
    for bad in (_signed_receipt(built, package_id="00000000-0000-0000-0000-000000000000"),
                _signed_receipt(built, manifest_sha256="0" * 64),
                _signed_receipt(built, counts={"client": 99}),
                _signed_receipt(built)[:-20] + b'"}', b"not json"):
        response = _upload(http, case, bad)
        assert response.status_code == 409 and 'id="step-error"' in response.content.decode()
    tampered = json.loads(_signed_receipt(built))
    tampered["counts"]["client"] = 3
    assert _upload(http, case, json.dumps(tampered).encode()).status_code == 409
    case.refresh_from_db()
    assert case.state == State.DELIVERED
    assert _upload(http, case, _signed_receipt(built)).status_code == 302
    case.refresh_from_db()
    assert case.state == State.ACKNOWLEDGED
    assert case.receipt.destroy_after == timezone.localdate() + dt.timedelta(days=14)


def test_after_the_grace_period_the_sellers_copies_go_with_one_certificate(
        owner, delivered, make_client, tmp_path, settings):
    settings.DESTRUCTION_CERTIFICATE_DIR = tmp_path / "certificates"
    case, built, lina, other = delivered
    stays = make_client(full_name="留下", phone="13000000009")  # never in the package
    handover.record_receipt(case, _signed_receipt(built), actor=owner)
    case.refresh_from_db()
    with pytest.raises(handover.StepRefused, match="grace period"):
        handover.destroy_seller_copies(case, actor=owner)
    LegalHold.objects.create(client_id=other.pk, client_code=other.code, reason="dispute",
                             until=timezone.localdate() + dt.timedelta(days=90), placed_by=owner)
    later = case.receipt.destroy_after + dt.timedelta(days=1)
    signed = handover.destroy_seller_copies(case, actor=owner, today=later)
    statement = signed["certificate"]
    assert [c["code"] for c in statement["clients"]] == [lina.code]
    assert [k["code"] for k in statement["kept"]] == [other.code]
    assert "legal hold" in statement["kept"][0]["why"]
    assert not Client.objects.filter(pk=lina.pk).exists()
    assert Client.objects.filter(pk__in=[other.pk, stays.pk]).count() == 2
    case.refresh_from_db()
    assert case.state == State.DESTROYED
    path = tmp_path / "certificate.json"
    from records import certificate_file
    path.write_bytes(certificate_file.dumps(signed))
    out = io.StringIO()
    call_command("certificate_verify", str(path), stdout=out)
    assert "valid: signed by" in out.getvalue()
    assert handover.close(case, actor=owner).state == State.CLOSED


def test_auditors_export_the_whole_case(login, owner, auditor, stylist, delivered):
    case, built, *_ = delivered
    handover.record_receipt(case, _signed_receipt(built), actor=owner)
    response = login(auditor).get(f"/transfer/{case.pk}/export.json")
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["case"]["state"] == "acknowledged"
    assert {e["item"] for e in data["checklist"]} >= {"nda", "lawyer", "objection_window"}
    assert any(e["note"] == "ok" for e in data["checklist"])  # the sealed notes, opened
    assert len([a for a in data["approvals"] if not a["voided_at"]]) == 2
    [p] = data["packages"]
    assert p["manifest"]["package_id"] == built.manifest["package_id"] and p["downloaded_by"]
    assert data["receipt"]["package_id"] == built.manifest["package_id"]
    actions_seen = {e["action"] for e in data["events"]}
    assert {"transfer.open", "transfer.approve", "transfer.download",
            "transfer.receipt"} <= actions_seen
    assert "李娜" not in response.content.decode()  # codes and counts, never a name
    assert login(stylist).get(f"/transfer/{case.pk}/export.json").status_code == 403


def test_record_counts_read_in_the_readers_language():
    from django.utils import translation

    from transfer.templatetags.transfer_tags import record_counts

    counts = {"treatment": 3, "client": 2, "mystery": 1}
    with translation.override("en"):
        assert record_counts(counts) == "clients 2, treatments 3, mystery 1"
    with translation.override("zh-hans"):
        shown = record_counts(counts)
    assert "clients" not in shown and shown.endswith("mystery 1")
