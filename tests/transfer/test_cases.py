"""A transfer case from the owners' pages: opened with the recipient's key, walked along
its one road (a step out of order is refused with 409 and recorded), an append-only NDA
checklist with sealed evidence, notices that let clients object, and two owners' approval
that a change of scope voids."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as Browser
from django.utils import timezone

from audit.models import AccessEvent
from records.models import LegalHold
from rights import links
from rights.models import RightsRequest
from transfer import cases, checklist, notices, scope
from transfer.models import Approval, ChecklistEntry, ChecklistItem, Objection, State, TransferCase
from vault.fields import _files_root


def _open(http, key, **extra):
    return http.post("/transfer/new/", {
        "title": "出售朝阳店", "recipient_name": "新美丽有限公司",
        "recipient_contact": "张经理 010-87654321", "recipient_key": key,
        "parts": ["contact", "treatments"], "basis": "notice", "objection_days": "30"} | extra)


@pytest.fixture
def case(owner, recipient_key):
    return cases.open_case(actor=owner, title="出售", recipient_name="新美丽有限公司",
                           recipient_contact="010-87654321", recipient_key=recipient_key,
                           parts=["contact", "treatments"])


def _tick_all(case, owner, *, skip=()):
    for item in ChecklistItem.objects.filter(case=case).exclude(key__in=skip):
        evidence = (SimpleUploadedFile("nda.pdf", b"%PDF-1.4 signed NDA")
                    if item.key == "nda" else None)
        checklist.record(case, item, actor=owner, status="done", note="ok", evidence=evidence,
                         today=case.objection_until + dt.timedelta(days=1)
                         if case.objection_until else None)


def _to_notice(case, owner):
    cases.confirm_key(case, actor=owner, how="phoned 张经理 on the number in the contract")
    cases.start_checklist(case, actor=owner)
    return cases.start_notice_period(case, actor=owner)


def test_an_owner_opens_a_case_with_the_recipients_key(login, owner, recipient_key):
    http = login(owner)
    response = _open(http, recipient_key)
    case = TransferCase.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/transfer/{case.pk}/"
    assert case.state == State.DRAFT and case.recipient_key == recipient_key
    assert case.parts == ["contact", "treatments"] and case.opened_by == owner
    page = http.get(f"/transfer/{case.pk}/").content.decode()
    assert case.recipient_fingerprint in page and "新美丽有限公司" in page
    assert ChecklistItem.objects.filter(case=case).count() == len(checklist.DEFAULTS)
    assert AccessEvent.objects.filter(action="transfer.open").exists()


@pytest.mark.parametrize("field, value", [("recipient_key", "age1notakey"),
                                          ("recipient_key", "ssh-ed25519 AAAA"),
                                          ("recipient_name", " "), ("parts", ["photos"]),
                                          ("objection_days", "3")])
def test_a_case_with_bad_details_is_refused(login, owner, recipient_key, field, value):
    response = _open(login(owner), recipient_key, **{field: value})
    assert response.status_code == 400 and 'id="case-error"' in response.content.decode()
    assert not TransferCase.objects.exists()


@pytest.mark.parametrize("role", ["manager", "stylist", "receptionist"])
def test_only_owners_and_auditors_see_transfers(login, request, role, case):
    http = login(request.getfixturevalue(role))
    assert http.get("/transfer/").status_code == 403
    assert http.get(f"/transfer/{case.pk}/").status_code == 403
    assert http.post(f"/transfer/{case.pk}/", {"step": "checklist"}).status_code == 403
    case.refresh_from_db()
    assert case.state == State.DRAFT


def test_an_auditor_reads_the_case_and_changes_nothing(login, auditor, case):
    http = login(auditor)
    page = http.get(f"/transfer/{case.pk}/").content.decode()
    assert "新美丽有限公司" in page and 'id="step-checklist"' not in page
    assert http.post(f"/transfer/{case.pk}/", {"step": "checklist"}).status_code == 403
    case.refresh_from_db()
    assert case.state == State.DRAFT


def test_a_step_out_of_order_is_refused_with_409_and_recorded(login, owner, case):
    http = login(owner)
    response = http.post(f"/transfer/{case.pk}/", {"step": "approval"})
    assert response.status_code == 409 and 'id="step-error"' in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.DRAFT
    refused = AccessEvent.objects.filter(action="transfer.refused").get()
    assert refused.outcome == "denied" and refused.detail["step"] == "approval"
    # Telling clients needs the key's fingerprint confirmed first.
    assert http.post(f"/transfer/{case.pk}/", {"step": "checklist"}).status_code == 302
    assert http.post(f"/transfer/{case.pk}/", {"step": "notice"}).status_code == 409
    assert http.post(f"/transfer/{case.pk}/", {"step": "confirm_key",
                                               "how": "called back"}).status_code == 302
    assert http.post(f"/transfer/{case.pk}/", {"step": "notice"}).status_code == 302
    case.refresh_from_db()
    assert case.state == State.NOTICE
    assert case.objection_until == timezone.localdate() + dt.timedelta(days=30)


def test_checklist_entries_are_appended_and_evidence_sealed(login, owner, auditor, stylist,
                                                            case):
    http = login(owner)
    nda = ChecklistItem.objects.get(case=case, key="nda")
    url = f"/transfer/{case.pk}/checklist/{nda.pk}/"
    assert http.post(url, {"status": "done", "note": "签了"}).status_code == 409  # no file
    signed = b"%PDF-1.4 NDA signed by both parties"
    assert http.post(url, {"status": "done", "note": "签了",
                           "evidence": SimpleUploadedFile("nda.pdf", signed)}).status_code == 302
    assert http.post(url, {"status": "reopened"}).status_code == 409  # a correction says why
    assert http.post(url, {"status": "reopened", "note": "wrong version"}).status_code == 302
    entries = list(ChecklistEntry.objects.filter(item=nda).order_by("at"))
    assert [e.status for e in entries] == ["done", "reopened"]
    assert nda in checklist.open_items(case)
    first = entries[0]
    assert first.evidence_sha256 == hashlib.sha256(signed).hexdigest()
    stored = first.__dict__["evidence"]
    assert signed not in (_files_root() / stored[:2] / stored).read_bytes()
    page = http.get(f"/transfer/{case.pk}/").content.decode()
    assert "签了" in page and "wrong version" in page and first.evidence_sha256 in page
    assert login(auditor).get(f"/transfer/{case.pk}/evidence/{first.pk}/").content == signed
    assert AccessEvent.objects.filter(action="transfer.evidence", actor_label="auditor").exists()
    assert login(stylist).get(f"/transfer/{case.pk}/evidence/{first.pk}/").status_code == 403


def test_approval_waits_for_the_window_and_every_item(owner, case, client_record):
    case = _to_notice(case, owner)
    notices.make_all(case, actor=owner)
    _tick_all(case, owner, skip=("lawyer",))
    day_after = case.objection_until + dt.timedelta(days=1)
    with pytest.raises(cases.StepRefused, match="object until"):
        cases.start_approval(case, actor=owner, today=case.objection_until)
    with pytest.raises(cases.StepRefused, match="open items"):
        cases.start_approval(case, actor=owner, today=day_after)
    with pytest.raises(cases.StepRefused, match="still open"):
        checklist.record(case, ChecklistItem.objects.get(case=case, key="objection_window"),
                         actor=owner, status="done", today=case.objection_until)
    checklist.record(case, ChecklistItem.objects.get(case=case, key="lawyer"), actor=owner,
                     status="done", note="律师意见书")
    assert cases.start_approval(case, actor=owner, today=day_after).state == State.APPROVAL


@pytest.fixture
def at_approval(owner, case, client_record):
    case = _to_notice(case, owner)
    notices.make_all(case, actor=owner)
    _tick_all(case, owner)
    return cases.start_approval(case, actor=owner,
                                today=case.objection_until + dt.timedelta(days=1))


def test_two_other_owners_approve_after_password_and_code(login, owner, owner2, owner3,
                                                          at_approval):
    case = at_approval
    url = f"/transfer/{case.pk}/approve/"
    assert login(owner, reauthed=True).post(url).status_code == 409  # the one who opened it
    asked = login(owner2).post(url)
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/reauth/")
    assert not Approval.objects.exists()
    assert login(owner2, reauthed=True).post(url).status_code == 302
    assert login(owner2, reauthed=True).post(url).status_code == 409  # once each
    assert not cases.approved(case)
    assert login(owner3, reauthed=True).post(url).status_code == 302
    assert cases.approved(case)
    assert AccessEvent.objects.filter(action="transfer.approve").count() == 2


def test_an_owner_without_an_authenticator_cannot_approve(at_approval, location):
    from tests.conftest import _person

    plain = _person("owner4", "owner", None)
    with pytest.raises(cases.StepRefused, match="authenticator"):
        cases.approve(at_approval, actor=plain, reauthenticated=True)
    assert not Approval.objects.exists()


def test_a_change_of_scope_voids_the_approvals(login, owner, owner2, owner3, at_approval,
                                               location):
    case = at_approval
    cases.approve(case, actor=owner2, reauthenticated=True)
    http = login(owner)
    assert http.post(f"/transfer/{case.pk}/", {
        "step": "scope", "locations": [location.code], "parts": ["contact", "treatments"],
        "basis": "notice"}).status_code == 302
    case.refresh_from_db()
    assert case.scope_revision == 2
    assert Approval.objects.get().voided_at is not None
    cases.approve(case, actor=owner3, reauthenticated=True)
    assert not cases.approved(case)  # owner2's approval of revision 1 no longer counts
    cases.approve(case, actor=owner2, reauthenticated=True)
    assert cases.approved(case)


def test_notices_name_the_recipient_and_export_records_the_opening(login, owner, case,
                                                                   client_record):
    case = _to_notice(case, owner)
    http = login(owner, reauthed=True)
    assert http.post(f"/transfer/{case.pk}/", {"step": "make_notices"}).status_code == 302
    response = http.get(f"/transfer/{case.pk}/notices.csv")
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "李娜" in text and "13812345678" in text and "新美丽有限公司" in text
    assert "/c/" in text and case.objection_until.isoformat() in text
    import csv
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["sms_en"].startswith("Dear 李娜, the salon is being sold to 新美丽有限公司")
    assert "您好" in row["sms_zh"] and "新美丽有限公司" in row["sms_zh"]
    assert row["link"] in row["sms_zh"] and row["link"] in row["sms_en"]
    opened = AccessEvent.objects.filter(action="transfer.notices", outcome="allowed",
                                        actor_label="owner").exclude(subjects=[]).get()
    assert str(client_record.pk) in [str(s) for s in opened.subjects]
    assert opened.data_class == 2


def test_the_client_objects_on_their_page_and_stays(owner, case, client_record):
    case = _to_notice(case, owner)
    notices.make_all(case, actor=owner)
    assert scope.plan(case).included == [client_record.pk]
    _, token = links.issue(client_record, actor=owner, language="en")
    browser = Browser()
    page = browser.get(f"/c/{token}/").content.decode()
    assert 'id="transfer-object"' in page and "新美丽有限公司" in page
    assert browser.post(f"/c/{token}/transfer/{case.pk}/", {"answer": "object"}).status_code == 302
    plan = scope.plan(case)
    assert plan.included == [] and plan.excluded == {"objected": [client_record.pk]}
    assert 'id="transfer-answer"' in browser.get(f"/c/{token}/").content.decode()
    # Taken back during the notice period: the client goes again.
    browser.post(f"/c/{token}/transfer/{case.pk}/", {"answer": "take_back"})
    assert scope.plan(case).included == [client_record.pk]


def test_asking_to_be_deleted_instead_opens_a_deletion_request(owner, case, client_record):
    case = _to_notice(case, owner)
    notices.make_all(case, actor=owner)
    _, token = links.issue(client_record, actor=owner, language="zh-hans")
    Browser().post(f"/c/{token}/transfer/{case.pk}/", {"answer": "delete"})
    request = RightsRequest.objects.get(client_id=client_record.pk)
    assert request.kind == "deletion" and request.channel == "client_page"
    assert scope.plan(case).excluded == {"delete_instead": [client_record.pk]}
    assert Objection.objects.get().kind == "delete"


def test_holds_requests_and_missing_consent_keep_clients_out(owner, case, client_record,
                                                            make_client):
    held = make_client(full_name="甲", phone="13000000001")
    LegalHold.objects.create(client_id=held.pk, client_code=held.code, reason="dispute",
                             until=timezone.localdate() + dt.timedelta(days=30), placed_by=owner)
    asking = make_client(full_name="乙", phone="13000000002")
    RightsRequest.objects.create(client_id=asking.pk, client_code=asking.code, kind="access",
                                 channel="phone", received_at=timezone.now(),
                                 due_on=timezone.localdate())
    plan = scope.plan(case)
    assert plan.included == [client_record.pk]
    assert plan.excluded == {"legal_hold": [held.pk], "open_request": [asking.pk]}
    case = cases.change_scope(case, actor=owner, location_codes=[], parts=case.parts,
                              basis="consent")
    assert scope.plan(case).excluded["no_consent"] == [client_record.pk]


def test_a_tampered_link_cannot_answer(owner, case, client_record):
    case = _to_notice(case, owner)
    notices.make_all(case, actor=owner)
    _, token = links.issue(client_record, actor=owner, language="en")
    response = Browser().post(f"/c/{token[:-2]}xx/transfer/{case.pk}/", {"answer": "object"})
    assert response.status_code == 404 and not Objection.objects.exists()


def test_a_cancelled_case_goes_no_further(login, owner, case):
    http = login(owner)
    assert http.post(f"/transfer/{case.pk}/", {"step": "cancel"}).status_code == 409
    assert http.post(f"/transfer/{case.pk}/", {"step": "cancel",
                                               "reason": "the buyer withdrew"}).status_code == 302
    assert http.post(f"/transfer/{case.pk}/", {"step": "checklist"}).status_code == 409
    case.refresh_from_db()
    assert case.state == State.CANCELLED


def test_nothing_here_is_kept_in_plaintext(owner, case):
    """The sealed note is not in the table."""
    item = ChecklistItem.objects.get(case=case, key="pia")
    checklist.record(case, item, actor=owner, status="done", note="影响评估编号PIA-7731")
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM transfer_checklistentry")
        [(raw,)] = cursor.fetchall()
    assert b"PIA-7731" not in bytes(raw if isinstance(raw, (bytes, memoryview)) else raw.encode())




def test_owners_extend_the_checklist_every_new_case_starts_with(login, owner, auditor, case,
                                                                recipient_key):
    from transfer.models import ChecklistTemplateItem

    http = login(owner)
    assert http.post("/transfer/template/", {"text": " 买方数据保护负责人签字 "}).status_code == 302
    assert http.post("/transfer/template/", {"text": "  "}).status_code == 302  # refused
    assert "买方数据保护负责人签字" in http.get("/transfer/").content.decode()
    newer = cases.open_case(actor=owner, title="第二次", recipient_name="乙公司",
                            recipient_contact="010-1", recipient_key=recipient_key)
    labels = [checklist.label(i) for i in ChecklistItem.objects.filter(case=newer)]
    assert labels[-1] == "买方数据保护负责人签字" and len(labels) == len(checklist.DEFAULTS) + 1
    assert ChecklistItem.objects.filter(case=case).count() == len(checklist.DEFAULTS)  # as it was
    [extra] = ChecklistTemplateItem.objects.all()
    assert http.post("/transfer/template/", {"remove": str(extra.pk)}).status_code == 302
    assert http.post("/transfer/template/", {"remove": "not-an-id"}).status_code == 302
    third = cases.open_case(actor=owner, title="第三次", recipient_name="丙公司",
                            recipient_contact="010-2", recipient_key=recipient_key)
    assert ChecklistItem.objects.filter(case=third).count() == len(checklist.DEFAULTS)
    assert ChecklistItem.objects.filter(case=newer).count() == len(checklist.DEFAULTS) + 1
    assert AccessEvent.objects.filter(action="transfer.checklist",
                                      detail__template=True).count() == 2
    assert login(auditor).post("/transfer/template/", {"text": "x"}).status_code == 403
