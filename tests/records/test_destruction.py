"""Destroying a client (records/destruction.py): the data key shredded, files and records
deleted, grants revoked, audit events kept, a signed certificate anyone can verify offline;
a destruction stopped half-way is finished by the next run."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from access import services as access_services
from audit import actions, checkpoints
from audit import checkpoint_file as cpfile
from audit.models import AccessEvent
from records import certificate_file, destruction, services
from records.models import Client, Destruction, HealthNote, Photo, Treatment
from tests.vault.conftest import jpeg_with_gps
from vault.fields import _files_root
from vault.models import DataKey, ShredRecord


@pytest.fixture(autouse=True)
def certificates(settings, tmp_path):
    settings.DESTRUCTION_CERTIFICATE_DIR = tmp_path / "certificates"
    return tmp_path / "certificates"


@pytest.fixture
def doomed(client_record, owner, stylist):
    services.treatment_add(actor=owner, client=client_record, performed_on=dt.date(2026, 3, 1),
                           service="染发", colour_formula="6/0")
    photo = services.photo_add(actor=owner, client=client_record, kind="before",
                               taken_on=dt.date(2026, 3, 1), upload=io.BytesIO(jpeg_with_gps()))
    access_services.grant_give(actor=owner, user=stylist, client=client_record)
    return client_record, (_files_root() / photo.image.name[:2] / photo.image.name)


def destroy(ref, *args) -> list[str]:
    out = StringIO()
    call_command("client_destroy", ref, "--reason", "客户要求删除个人信息", *args, stdout=out)
    return out.getvalue().splitlines()


def test_destroying_a_client_leaves_nothing_readable_and_a_signed_certificate(doomed):
    client, photo_file = doomed
    events_before = AccessEvent.objects.filter(client_id=client.pk).count()
    lines = destroy(client.code)
    path = Path(lines[-1])
    assert path.exists() and path.name.startswith(client.code)
    assert not Client.objects.filter(pk=client.pk).exists()
    assert not Treatment.objects.filter(client_id=client.pk).exists()
    assert not HealthNote.objects.filter(client_id=client.pk).exists()
    assert not Photo.objects.filter(client_id=client.pk).exists() and not photo_file.exists()
    assert not DataKey.objects.filter(subject_id=client.pk).exists()
    assert ShredRecord.objects.filter(subject_id=client.pk).exists()
    assert AccessEvent.objects.filter(client_id=client.pk).count() > events_before  # kept
    assert AccessEvent.objects.filter(action=actions.CLIENT_DESTROY, client_id=client.pk).exists()
    from access.models import Grant
    assert not Grant.objects.filter(client_id=client.pk, revoked_at__isnull=True).exists()

    statement = certificate_file.verify(path.read_bytes(), checkpoints.public_key())
    assert statement["client_code"] == client.code and statement["basis"] == "request"
    assert statement["key_ids"] == [f"{client.pk}:1"]
    assert statement["counts"]["treatment"] == 1 and statement["counts"]["files"] >= 1
    text = path.read_text()
    for plain in ("李娜", "13812345678", "lina@example.cn", "对PPD"):
        assert plain not in text  # no personal data in the certificate
    assert (Destruction.objects.get(client_id=client.pk).state == "certified")


def test_the_certificate_verifies_offline_and_refuses_changes_and_other_keys(doomed, capsys):
    client, _ = doomed
    path = Path(destroy(client.code)[-1])
    public = cpfile.public_key_text(checkpoints.public_key())
    assert certificate_file.main([str(path), "--public-key", public]) == 0
    assert f"client {client.code} destroyed" in capsys.readouterr().out
    out = StringIO()
    call_command("certificate_verify", str(path), stdout=out)
    assert "valid: signed by" in out.getvalue()

    changed = path.with_name("changed.json")
    signed = json.loads(path.read_text())
    signed["certificate"]["key_ids"] = []
    changed.write_text(json.dumps(signed))
    with pytest.raises(CommandError, match="changed after it was signed"):
        call_command("certificate_verify", str(changed), stdout=StringIO())
    other = cpfile.public_key_text(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CommandError, match="signed by key"):
        call_command("certificate_verify", str(path), "--public-key", other, stdout=StringIO())


def test_a_destruction_stopped_half_way_is_finished_by_the_next_run(doomed, monkeypatch):
    client, photo_file = doomed

    def crash(d):
        raise RuntimeError("killed")

    monkeypatch.setattr(destruction, "_delete_files", crash)
    with pytest.raises(RuntimeError):
        destroy(client.code)
    stopped = Destruction.objects.get(client_id=client.pk)
    assert stopped.state == "keys_shredded" and stopped.key_ids == [f"{client.pk}:1"]
    assert not DataKey.objects.filter(subject_id=client.pk).exists()  # unreadable already
    monkeypatch.undo()
    lines = destroy(client.code)
    assert Path(lines[-1]).exists() and not photo_file.exists()
    assert Destruction.objects.get(client_id=client.pk).state == "certified"
    statement = certificate_file.verify(Path(lines[-1]).read_bytes(), checkpoints.public_key())
    assert statement["key_ids"] == [f"{client.pk}:1"]


def test_a_destruction_needs_a_reason_and_a_client():
    with pytest.raises(CommandError, match="no client"):
        destroy("ZZ-0000")


def test_an_empty_reason_is_refused(client_record):
    with pytest.raises(CommandError, match="needs a reason"):
        call_command("client_destroy", client_record.code, "--reason", "  ", stdout=StringIO())
    assert Client.objects.filter(pk=client_record.pk).exists()


def test_an_owner_destroys_a_client_in_the_browser_after_the_password(doomed, owner, login):
    client, photo_file = doomed
    http = login(owner)
    assert 'id="destroy"' in http.get(f"/clients/{client.pk}/").content.decode()
    assert "/accounts/reauth/" in http.get(f"/clients/{client.pk}/destroy/")["Location"]
    http = login(owner, reauthed=True)
    form = http.get(f"/clients/{client.pk}/destroy/").content.decode()
    assert "cannot be recovered" in form
    unconfirmed = http.post(f"/clients/{client.pk}/destroy/",
                            {"basis": "request", "reason": "客户来电要求删除"})
    assert unconfirmed.status_code == 200 and 'has-error' in unconfirmed.content.decode()
    assert Client.objects.filter(pk=client.pk).exists()
    done = http.post(f"/clients/{client.pk}/destroy/",
                     {"basis": "request", "reason": "客户来电要求删除", "confirm": "on"},
                     follow=True)
    page = done.content.decode()
    assert "has been destroyed" in page and client.code in page and "certificate-json" in page
    assert not Client.objects.filter(pk=client.pk).exists() and not photo_file.exists()
    record = Destruction.objects.get(client_id=client.pk)
    assert record.requested_by == owner and record.approved_by == owner
    download = http.get(f"/clients/destructions/{record.pk}/certificate.json")
    assert download["Content-Disposition"].startswith("attachment")
    statement = certificate_file.verify(download.content, checkpoints.public_key())
    assert statement["approved_by"] == owner.get_username()
    assert client.code in http.get("/clients/destructions/").content.decode()
    assert AccessEvent.objects.filter(action=actions.CLIENT_DESTROY_APPROVE, actor=owner,
                                      client_id=client.pk).exists()


@pytest.mark.parametrize(("language", "title", "basis"), [
    ("zh-hans", "销毁证明", "客户的删除请求"),
    ("en", "Certificate of destruction", "the client's deletion request"),
])
def test_the_certificate_downloads_as_a_pdf_in_the_owners_language(
        doomed, owner, login, tmp_path, language, title, basis):
    client, _ = doomed
    destroy(client.code)
    record = Destruction.objects.get(client_id=client.pk)
    http = login(owner)
    http.cookies["django_language"] = language
    assert "certificate-pdf" in http.get(f"/clients/destructions/{record.pk}/").content.decode()
    download = http.get(f"/clients/destructions/{record.pk}/certificate.pdf")
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment")
    pdf = PdfReader(io.BytesIO(download.content))
    text = "".join(page.extract_text() for page in pdf.pages)
    for words in (title, basis, client.code, "客户要求删除个人信息", record.key_ids[0],
                  record.certificate["certificate"]["key_id"]):
        assert words in text
    assert "李娜" not in text and "13812345678" not in text  # it names no person
    # The signed statement rides inside; the PDF itself verifies, and a changed one does not.
    attached = pdf.attachments[f"destruction-{client.code}-{record.pk}.json"][0]
    assert json.loads(attached) == record.certificate
    path = tmp_path / "certificate.pdf"
    path.write_bytes(download.content)
    out = StringIO()
    call_command("certificate_verify", str(path), stdout=out)
    assert out.getvalue().splitlines()[-1].startswith("valid") and client.code in out.getvalue()
    path.write_bytes(download.content.replace(b'"scope": "client"', b'"scope": "photos"'))
    with pytest.raises(CommandError, match="signature does not verify"):
        call_command("certificate_verify", str(path), stdout=StringIO())
    assert certificate_file.main([str(path), "--public-key", base64.b64encode(
        checkpoints.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()]) == 1


def test_a_pdf_without_a_certificate_is_refused(tmp_path):
    path = tmp_path / "other.pdf"
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    with pytest.raises(CommandError, match="carries no signed certificate"):
        call_command("certificate_verify", str(path), stdout=StringIO())


def test_other_roles_cannot_download_certificates(doomed, manager, login):
    client, _ = doomed
    destroy(client.code)
    record = Destruction.objects.get(client_id=client.pk)
    http = login(manager)
    for suffix in ("certificate.pdf", "certificate.json", ""):
        assert http.get(f"/clients/destructions/{record.pk}/{suffix}").status_code == 403


@pytest.mark.parametrize("role", ["manager", "stylist"])
def test_other_roles_cannot_destroy(doomed, role, request, login):
    client, _ = doomed
    http = login(request.getfixturevalue(role), reauthed=True)
    assert 'id="destroy"' not in http.get(f"/clients/{client.pk}/").content.decode()
    assert http.post(f"/clients/{client.pk}/destroy/", {
        "basis": "request", "reason": "x", "confirm": "on"}).status_code == 404
    assert http.get("/clients/destructions/").status_code == 403
    assert Client.objects.filter(pk=client.pk).exists()
