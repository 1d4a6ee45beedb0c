"""The sale of the business in the browser, from the case opened to the certificate.

Owner A opens a case with the buyer's age key (a wrong key first), confirms its fingerprint,
keeps the NDA checklist (the signed NDA uploaded, an item of their own added), tells the
clients and exports the notices after the password. One client objects on their own page and
stays with the salon; another asks to be deleted instead. Once the objection window has
passed, two other owners approve after their password and code; the package is built by the
worker while its bar shows, downloaded once and opened with the buyer's identity; the buyer's
signed receipt is recorded, the seller's copies are destroyed after the grace period with a
certificate that verifies, and the case is closed. An auditor then reads it and exports it.

The ORM only sets data up, moves dates that would otherwise take weeks, and reads back what
was stored; every step a person takes is a click or a keystroke.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import time
from importlib import import_module
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from audit import checkpoints
from records.models import Client
from rights.models import RightsRequest
from tests.conftest import _person
from tests.e2e.test_rights_journeys import click, zh
from transfer import package, receipt, tasks
from transfer.models import (
    Approval,
    ChecklistItem,
    Notice,
    Objection,
    Package,
    Receipt,
    State,
    TransferCase,
)

PASSWORD = "correct-horse-battery-9"  # noqa: S105 - the test people's password
BUYER, BUYER_CONTACT = "新美丽美容有限公司", "张经理 010-87654321"
TITLE = "出售国贸店"


@pytest.fixture(autouse=True)
def places(settings, tmp_path):
    settings.TRANSFER_PACKAGE_DIR = tmp_path / "packages"
    settings.DESTRUCTION_CERTIFICATE_DIR = tmp_path / "certificates"


@pytest.fixture
def worker(monkeypatch):
    """The package build queued by the page, held until the test lets the worker run it
    (so that the page shows the build in progress first)."""
    queued: list[str] = []
    real = tasks.build_package
    monkeypatch.setattr(tasks, "build_package", SimpleNamespace(delay=queued.append))

    def run() -> str:
        assert len(queued) == 1, queued
        return real(queued.pop())

    return SimpleNamespace(queued=queued, run=run)


@pytest.fixture
def owners(location):
    return _person("owner.b", "owner", None), _person("owner.c", "owner", None)


@pytest.fixture
def phone(browser, live_server):
    """A client's own phone: a fresh browser with no staff session."""
    contexts = []

    def open_():
        context = browser.new_context(base_url=live_server.url, locale="zh-CN",
                                      viewport={"width": 390, "height": 844})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_
    for context in contexts:
        context.close()


def password_page(page) -> None:
    """Answer the password page (password and a recovery code) and submit it."""
    page.wait_for_url("**/accounts/reauth/**")
    page.fill("#id_password", PASSWORD)
    if page.locator("#id_token").count():
        page.fill("#id_token", next(page.recovery))
    page.click("main button[type=submit]")


def time_passes(page) -> None:
    """The password given earlier is no longer recent: the next sensitive step asks again."""
    engine = import_module(django_settings.SESSION_ENGINE)
    [cookie] = [c for c in page.context.cookies()
                if c["name"] == django_settings.SESSION_COOKIE_NAME]
    session = engine.SessionStore(session_key=cookie["value"])
    session["sv_reauth_at"] = int(time.time()) - django_settings.REAUTH_SECONDS - 1
    session.save()


def step_error(page) -> str:
    return page.inner_text("#step-error")


def record_entry(page, item: ChecklistItem, note: str, evidence=None):
    """Add a "done" entry to a checklist item; returns the response."""
    row = page.locator(f"#item-{item.pk}")
    row.locator("summary").click()
    row.locator("select[name=status]").select_option("done")
    row.locator("input[name=note]").fill(note)
    if evidence is not None:
        row.locator("input[type=file]").set_input_files(str(evidence))
    return click(page, f"#item-{item.pk} form button")


def test_a_sale_from_the_case_opened_to_the_certificate(
        staff, phone, owner, owners, auditor, client_record, make_client, eager, worker,
        tmp_path):
    stays = make_client(full_name="周敏", phone="13700001111")  # will object
    deleted = make_client(full_name="陈静", phone="13600002222")  # asks to be deleted instead
    buyer = tmp_path / "buyer"
    call_command("transfer_keygen", out=str(buyer), stdout=io.StringIO())
    recipient = (buyer / "recipient.txt").read_text().splitlines()[-1]
    identity = package.load_identity(buyer / "identity.txt")

    # -- owner A opens the case: a wrong key is refused, the form keeps what was typed ----
    a = staff("owner")
    a.goto("/transfer/")
    assert a.locator("main table").count() == 0
    click(a, "#case-new")
    a.fill("#title", TITLE)
    a.fill("#recipient_name", BUYER)
    a.fill("#recipient_contact", BUYER_CONTACT)
    a.fill("#recipient_key", "age1notakey")
    a.check("#part-treatments")
    assert click(a, "#open-case").status == 400
    assert a.inner_text("#case-error") == zh(
        "The recipient's public key is not an age public key (age1…): ask them to run "
        "manage.py transfer_keygen and send recipient.txt.")
    assert not TransferCase.objects.exists()
    assert a.input_value("#title") == TITLE and a.is_checked("#part-treatments")
    a.fill("#recipient_key", recipient)
    click(a, "#open-case")
    case = TransferCase.objects.get()
    assert a.url.endswith(f"/transfer/{case.pk}/")
    assert (case.recipient_key, case.parts, case.location_codes) == (
        recipient, ["contact", "treatments"], [])
    fingerprint = a.inner_text("#fingerprint")
    assert f"# fingerprint: {fingerprint}" in (buyer / "recipient.txt").read_text()
    assert a.inner_text("#case-state") == zh("draft")

    # The fingerprint, read back by the buyer on the phone.
    a.fill("#how", "致电张经理（合同上的号码），双方读出的指纹一致")
    click(a, "#confirm-key")
    assert "致电张经理" in a.inner_text("#key-confirmed")
    assert a.locator("#confirm-key-form").count() == 0
    click(a, "#step-checklist")
    assert a.inner_text("#case-state") == zh("checklist")

    # -- the NDA checklist: the signed file, the other items, one of the owner's own -------
    items = {i.key: i for i in ChecklistItem.objects.filter(case=case)}
    assert record_entry(a, items["nda"], "双方已签署").status == 409
    assert step_error(a) == zh("Attach the signed file.")
    # The page that said so is a whole case page: its other forms work from there.
    a.fill("#item-text", "买方数据保护负责人已确认接收流程")
    click(a, "#add-item-form button")
    assert a.url.endswith(f"/transfer/{case.pk}/") and a.locator("#step-error").count() == 0
    nda = tmp_path / "保密协议-签署版.pdf"
    nda.write_bytes(b"%PDF-1.4 the NDA, signed by both sides")
    record_entry(a, items["nda"], "双方已签署", evidence=nda)
    nda_row = a.inner_text(f"#item-{items['nda'].pk}")
    assert "双方已签署" in nda_row and "保密协议-签署版.pdf" in nda_row
    assert hashlib.sha256(nda.read_bytes()).hexdigest() in nda_row
    extra = ChecklistItem.objects.get(case=case, label="买方数据保护负责人已确认接收流程")
    for key, note in (("questionnaire", "问卷已答复"), ("lawyer", "律师已审阅"),
                      ("pia", "影响评估已存档"), ("minimised", "只转联系方式和服务记录")):
        record_entry(a, items[key], note)
    record_entry(a, extra, "已电话确认")
    assert zh("done") in a.inner_text(f"#item-{extra.pk} .badge")

    # A second tab of the case, left open at this step (used at the end).
    stale = a.context.new_page()
    stale.goto(f"/transfer/{case.pk}/")

    # -- the notice period: notices made, exported after the password -----------------------
    click(a, "#step-notice")
    case.refresh_from_db()
    assert case.state == State.NOTICE and a.inner_text("#case-state") == zh("notice period")
    assert case.objection_until.isoformat() in a.inner_text("#notices")
    click(a, "#make-notices")
    assert Notice.objects.filter(case=case).count() == 3
    with a.expect_navigation():
        a.click("#notices-csv")
    with a.expect_download() as download:
        password_page(a)
    sheet = tmp_path / "notices.csv"
    download.value.save_as(sheet)
    rows = list(csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8-sig"))))
    by_code = {row["client_code"]: row for row in rows}
    assert set(by_code) == {client_record.code, stays.code, deleted.code}
    for row in rows:
        assert "/c/" in row["link"] and row["link"] in row["sms_zh"]
        assert BUYER in row["sms_zh"] and BUYER in row["sms_en"]
    assert by_code[stays.code]["name"] == "周敏" and by_code[stays.code]["phone"] == "13700001111"
    a.goto(f"/transfer/{case.pk}/")
    record_entry(a, items["notices"], "短信和邮件已发出")

    # Asked too early, approval is refused: clients may still object.
    assert click(a, "#step-approval").status == 409
    assert step_error(a) == zh("Clients may object until %(date)s: approval opens the day "
                               "after.", date=case.objection_until.isoformat())

    # -- the clients answer on their own page ------------------------------------------------
    objector = phone()
    objector.goto(by_code[stays.code]["link"])
    section = objector.locator(f"#section-transfer-{case.pk}")
    assert BUYER in section.inner_text() and BUYER_CONTACT in section.inner_text()
    click(objector, f"#section-transfer-{case.pk} #transfer-object", accept=True)
    assert zh("Your objection is recorded: your record will not be transferred.") in \
        objector.inner_text(".messages")
    assert objector.locator("#transfer-answer").is_visible()
    assert objector.locator("#transfer-object").count() == 0
    a.goto(f"/transfer/{case.pk}/")
    excluded = a.inner_text("#excluded-objected")
    assert zh("objected to the transfer") in excluded and "1" in excluded

    leaving = phone()
    leaving.goto(by_code[deleted.code]["link"])
    click(leaving, f"#section-transfer-{case.pk} #transfer-delete", accept=True)
    assert leaving.locator("#transfer-answer").inner_text() == zh(
        "You asked for your record to be deleted instead of transferred. The salon will "
        "confirm the deletion.")
    request = RightsRequest.objects.get(client_id=deleted.pk)
    assert request.kind == RightsRequest.Kind.DELETION
    a.goto("/rights/requests/")
    assert deleted.code in a.inner_text(f"#request-{request.pk}")
    a.goto(f"/transfer/{case.pk}/")
    assert "1" in a.inner_text("#excluded-delete_instead")
    assert a.inner_text("#plan-counts").startswith(
        zh("%(n)s of %(t)s go to the recipient", n=1, t=3))

    # -- weeks later: the window has passed, the last item is ticked, approval opens --------
    TransferCase.objects.filter(pk=case.pk).update(
        objection_until=timezone.localdate() - dt.timedelta(days=1))
    a.goto(f"/transfer/{case.pk}/")
    record_entry(a, items["objection_window"], "无人再提出异议")
    click(a, "#step-approval")
    assert a.inner_text("#case-state") == zh("approval")

    # The owner who opened the case has no approve button, and a forged one is refused.
    assert a.locator("#approve").count() == 0
    with a.expect_navigation() as forged:
        a.evaluate("""(action) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = action;
            form.appendChild(document.querySelector("input[name=csrfmiddlewaretoken]")
                                     .cloneNode());
            document.body.appendChild(form); form.submit(); }""",
                   f"/transfer/{case.pk}/approve/")
    assert forged.value.status == 409
    assert step_error(a) == zh("The owner who opened the case cannot approve it: two other "
                               "owners do.")

    # Owners B and C approve, each after their password and code.
    for n, username in enumerate(("owner.b", "owner.c"), 1):
        other = staff(username)
        other.goto(f"/transfer/{case.pk}/")
        assert other.locator("#build-package").count() == 0
        other.once("dialog", lambda dialog: dialog.accept())
        other.click("#approve")
        password_page(other)
        other.wait_for_url(f"**/transfer/{case.pk}/")
        other.wait_for_selector(".messages")
        assert zh("Your approval is recorded.") in other.inner_text(".messages")
        assert zh("%(n)s of %(m)s", n=n, m=2) in other.inner_text("#approvals h2")
    assert [ap.owner.username for ap in Approval.objects.filter(case=case).order_by("at")] == ["owner.b", "owner.c"]

    # The tab left open at the checklist asks for the notice period again: refused.
    assert click(stale, "#step-notice").status == 409
    assert step_error(stale) == zh("This step is not possible while the case is “%(state)s”.",
                                   state=zh("approval"))
    assert stale.inner_text("#case-state") == zh("approval")

    # -- the package: built by the worker while the bar shows, then downloaded once ---------
    a.goto(f"/transfer/{case.pk}/")
    click(a, "#build-package")
    assert zh("The package is being built.") in a.inner_text(".messages")
    bar = a.locator("#package .job-progress")
    assert bar.is_visible() and "0 / 1" in bar.inner_text()
    assert worker.run() == Package.Status.READY
    a.wait_for_selector("#download-package")  # the page reloaded when the build ended
    built = Package.objects.get(case=case)
    assert built.sha256 in a.inner_text(f"#package-{built.pk}")
    assert a.inner_text("#case-state") == zh("packaged")
    stale.goto(f"/transfer/{case.pk}/")

    time_passes(a)
    a.once("dialog", lambda dialog: dialog.accept())
    a.click("#download-package")
    with a.expect_download() as download:
        password_page(a)
    sealed = tmp_path / "package.age"
    download.value.save_as(sealed)
    assert "李娜".encode() not in sealed.read_bytes()
    manifest = package.verify(sealed, identity=identity, seller_key=checkpoints.public_key(),
                              expected_recipient=recipient)
    assert manifest["package_id"] == Package.objects.get(pk=built.pk).manifest["package_id"]
    names = [entry[2]["full_name"] for entry in package.entries(
        sealed, identity=identity, manifest=manifest)
        if entry[0] == "record" and entry[1] == "client"]
    assert names == ["李娜"]  # the objector and the one who asked to be deleted stay
    stale.once("dialog", lambda dialog: dialog.accept())
    assert click(stale, "#download-package").status == 409
    assert step_error(stale) == zh("This package has been downloaded already or has expired.")
    a.goto(f"/transfer/{case.pk}/")
    assert a.locator("#download-package").count() == 0
    assert a.inner_text("#case-state") == zh("delivered")

    # -- the buyer's signed receipt, the grace period, the seller's copies destroyed --------
    signed = receipt.make(manifest, counts=manifest["counts"],
                          signer=Ed25519PrivateKey.generate(), recipient=recipient)
    receipt_file = tmp_path / "receipt.json"
    receipt_file.write_bytes(receipt.dumps(signed))
    a.set_input_files("#receipt-file", str(receipt_file))
    click(a, "#upload-receipt")
    assert signed["receiver_fingerprint"] in a.inner_text("#receipt-recorded")
    assert a.inner_text("#case-state") == zh("acknowledged")
    assert a.locator("#destroy-copies").count() == 0  # not before the grace period ends
    Receipt.objects.filter(case=case).update(
        destroy_after=timezone.localdate() - dt.timedelta(days=1))
    a.goto(f"/transfer/{case.pk}/")
    click(a, "#destroy-copies", accept=True)
    assert a.inner_text("#case-state") == zh("seller copy destroyed")
    with a.expect_download() as download:
        a.click("#transfer-certificate")
    certificate = tmp_path / "certificate.json"
    download.value.save_as(certificate)
    out = io.StringIO()
    call_command("certificate_verify", str(certificate), stdout=out)
    assert "valid: signed by" in out.getvalue()
    statement = json.loads(certificate.read_text())["certificate"]
    assert [c["code"] for c in statement["clients"]] == [client_record.code]
    assert not Client.objects.filter(pk=client_record.pk).exists()
    assert Client.objects.filter(pk__in=[stays.pk, deleted.pk]).count() == 2
    assert Objection.objects.get(case=case, client_id=stays.pk).kind == "object"

    click(a, "#step-close")
    assert a.inner_text("#case-state") == zh("closed")
    assert TransferCase.objects.get(pk=case.pk).state == State.CLOSED

    # -- the auditor reads the case and exports it -------------------------------------------
    reader = staff("auditor")
    reader.goto("/transfer/")
    assert zh("closed") in reader.inner_text(f"#case-{case.pk}")
    assert reader.locator("#case-new").count() == 0
    click(reader, f"#case-{case.pk} a")
    assert reader.locator("main form").count() == 0
    for action in ("#confirm-key-form", "#step-checklist", "#step-notice", "#step-approval",
                   "#make-notices", "#notices-csv", "#approve", "#build-package",
                   "#download-package", "#upload-receipt", "#destroy-copies", "#step-close",
                   "#add-item-form", "#cancel-form", "#next-step"):
        assert reader.locator(action).count() == 0, action
    assert "双方已签署" in reader.inner_text(f"#item-{items['nda'].pk}")
    with reader.expect_download() as download:  # the signed NDA, opened for the auditor
        reader.click(f"#item-{items['nda'].pk} a[href*='/evidence/']")
    assert download.value.path().read_bytes() == nda.read_bytes()
    with reader.expect_download() as download:
        reader.click("#case-export")
    export = json.loads(download.value.path().read_text())
    assert export["case"]["state"] == "closed"
    assert len([ap for ap in export["approvals"] if not ap["voided_at"]]) == 2
    assert any(e["note"] == "双方已签署" for e in export["checklist"])
    assert export["receipt"]["package_id"] == manifest["package_id"]
    assert {"transfer.open", "transfer.approve", "transfer.download", "transfer.receipt",
            "transfer.refused"} <= {e["action"] for e in export["events"]}
    assert "李娜" not in json.dumps(export, ensure_ascii=False)
