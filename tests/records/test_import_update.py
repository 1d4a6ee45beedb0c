"""Imports tell the truth: every line reported, updates after a preview, the ceiling's columns
left out and named, one audit event with counts, all or nothing across batches."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from access import door
from audit.models import AccessEvent
from records import importing
from records.importing import batches
from records.models import Client, HealthNote
from vault.models import DataKey

FIRST = "姓名,手机,邮箱,过敏\n张三,13800001234,zs@example.cn,对PPD过敏\n李四,13900002222,,\n"
SECOND = ("姓名,手机,邮箱,过敏\n"
          "张三,13800001234,,对PPD过敏；乳胶\n"   # line 2: allergies changed, email left blank
          "李四,13900002222,,\n"                   # line 3: the same
          "王五,13700003333,,\n")                  # line 4: new


def _import(location, text: str, **kwargs):
    upload = io.BytesIO(text.encode())
    upload.name = "clients.csv"
    kwargs.setdefault("username", "owner")
    return importing.clients_import(upload=upload, location=location, **kwargs)


def _read(owner, code: str, *names: str):
    client = Client.objects.get(code=code)
    with door.open_client(user=owner, client=client, purpose="t"):
        holders = {"allergies": lambda: getattr(client, "health", None)}
        return tuple(getattr(holders[n]() if n in holders else client, n, None) for n in names)


def _outcomes(result):
    return [(r.line, r.outcome, r.code, r.fields, r.applied) for r in result.report]


# -- the report ----------------------------------------------------------------------------
def test_a_reimport_reports_every_line_it_skipped_or_changed(location, owner):
    _import(location, FIRST)
    result = _import(location, SECOND)
    assert _outcomes(result) == [
        (2, "changed", "BJ-000001", ("Allergies",), False),
        (3, "unchanged", "BJ-000002", (), False),
        (4, "new", "", (), True),
    ]
    assert (result.created, result.updated, result.skipped, result.not_updated) == (1, 0, 2, 1)
    assert "not updated" in result.report[0].reason
    assert _read(owner, "BJ-000001", "allergies") == ("对PPD过敏",)
    text = " ".join(f"{r.fields} {r.reason}" for r in result.report)
    assert "乳胶" not in text and "13800001234" not in text


def test_lines_that_cannot_be_told_apart_are_skipped_with_the_reason(location, owner,
                                                                     make_client):
    make_client(full_name="陈静", phone="")
    make_client(full_name="陈静", phone="")
    make_client(full_name="周洁", phone="")
    result = _import(location, "姓名,备注\n陈静,\n周洁,烫发\n周洁,染发\n")
    assert [(r.line, r.outcome) for r in result.report] == [
        (2, "skipped"), (3, "changed"), (4, "skipped")]
    assert "Matches 2 clients (BJ-000001, BJ-000002)" in result.report[0].reason
    assert "same client as line 3" in result.report[2].reason


def test_a_line_with_values_only_in_unknown_columns_is_reported_as_skipped(location, owner):
    result = _import(location, "姓名,手机,会员等级\n张三,13800001234,金卡\n,,银卡\n\n")
    assert [(r.line, r.outcome) for r in result.report] == [(2, "new"), (3, "skipped")]
    assert "not imported" in result.report[1].reason and result.skipped == 1


# -- updating ------------------------------------------------------------------------------
def test_an_update_changes_allergies_and_never_erases_with_a_blank_cell(location, owner):
    _import(location, FIRST)
    result = _import(location, SECOND, update=True)
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert _read(owner, "BJ-000001", "allergies", "email") == ("对PPD过敏；乳胶", "zs@example.cn")
    assert Client.objects.count() == 3


def test_a_dry_run_with_update_reads_but_writes_nothing(location, owner):
    _import(location, FIRST)
    before = set(AccessEvent.objects.values_list("pk", flat=True))
    result = _import(location, SECOND, update=True, dry_run=True)
    assert result.updated == 1 and result.created == 1
    reading = AccessEvent.objects.exclude(pk__in=before).get()  # the comparison, recorded
    assert reading.action == "system.open" and "preview" in reading.purpose
    assert len(reading.subjects) == 2
    assert _read(owner, "BJ-000001", "allergies") == ("对PPD过敏",)
    assert Client.objects.count() == 2


def test_the_command_previews_and_updates(location, owner, tmp_path):
    _import(location, FIRST)
    path = tmp_path / "clients.csv"
    path.write_text(SECOND, encoding="utf-8")
    out = io.StringIO()
    call_command("import_clients", str(path), "--location", "bj", "--update", "--dry-run",
                 stdout=out)
    text = out.getvalue()
    assert "line 2: changed — BJ-000001 — fields: Allergies" in text
    assert "line 3: unchanged — BJ-000002" in text and "line 4: new client" in text
    assert "1 clients would be created, 1 updated" in text and "乳胶" not in text
    assert _read(owner, "BJ-000001", "allergies") == ("对PPD过敏",)
    out = io.StringIO()
    call_command("import_clients", str(path), "--location", "bj", "--update", stdout=out)
    assert "1 clients created, 1 updated" in out.getvalue()
    assert _read(owner, "BJ-000001", "allergies") == ("对PPD过敏；乳胶",)


# -- the pages -----------------------------------------------------------------------------
def _upload(http, location, text: str, **fields):
    return http.post(reverse("records:import"),
                     {"file": SimpleUploadedFile("c.csv", text.encode()),
                      "location": str(location.pk)} | fields)


def _confirm(http, preview):
    form = preview.context["confirm"]
    return http.post(reverse("records:import_confirm"),
                     {n: form[n].value() for n in ("staging", "key", "digest")})


def test_the_owner_updates_after_a_preview_that_shows_fields_but_no_values(login, owner,
                                                                          location):
    _import(location, FIRST)
    http = login(owner)
    preview = _upload(http, location, SECOND, update="on")
    page = preview.content.decode()
    assert "Nothing has been written yet" in page and "Changed: updated" in page
    assert "BJ-000001" in page and "Allergies" in page and "Unchanged" in page
    assert "乳胶" not in page and "13800001234" not in page
    assert _read(owner, "BJ-000001", "allergies") == ("对PPD过敏",)
    done = _confirm(http, preview).content.decode()
    assert "Import complete" in done
    assert _read(owner, "BJ-000001", "allergies") == ("对PPD过敏；乳胶",)
    assert Client.objects.count() == 3
    # The staged file is gone: the same confirmation cannot import twice.
    again = _confirm(http, preview).content.decode()
    assert "expired or was already imported" in again and Client.objects.count() == 3


def test_the_staged_file_is_ciphertext_and_useless_without_the_pages_key(login, owner,
                                                                         location):
    from records.models import ImportStaging

    http = login(owner)
    preview = _upload(http, location, FIRST)
    staged = ImportStaging.objects.get()
    assert "张三".encode() not in bytes(staged.sealed) and b"13800001234" not in bytes(staged.sealed)
    form = preview.context["confirm"]
    forged = {n: form[n].value() for n in ("staging", "digest")} | {"key": "A" * 43 + "="}
    page = http.post(reverse("records:import_confirm"), forged).content.decode()
    assert "expired or was already imported" in page and not Client.objects.exists()


def test_a_confirmation_after_the_clients_changed_shows_the_new_preview(login, owner,
                                                                       location, make_client):
    http = login(owner)
    preview = _upload(http, location, FIRST)
    make_client(full_name="李四", phone="13900002222")  # typed in meanwhile
    page = _confirm(http, preview).content.decode()
    assert "changed since the preview" in page
    assert "Unchanged" in page and "BJ-000001" in page  # the new preview
    assert Client.objects.count() == 1


def test_another_person_cannot_confirm_my_preview(login, owner, location, manager):
    preview = _upload(login(owner), location, FIRST)
    form = preview.context["confirm"]
    page = login(manager).post(reverse("records:import_confirm"),
                               {n: form[n].value() for n in ("staging", "key", "digest")})
    assert "expired or was already imported" in page.content.decode()
    assert not Client.objects.exists()


# -- the ceiling ---------------------------------------------------------------------------
def test_a_manager_imports_what_they_may_and_is_told_which_columns_were_left_out(
        login, manager, owner, location):
    http = login(manager)
    preview = _upload(http, location, FIRST)
    page = preview.content.decode()
    assert "Left out:" in page and "Allergies" in page
    done = _confirm(http, preview).content.decode()
    assert "Import complete" in done and "Columns left out" in done
    assert Client.objects.count() == 2 and not HealthNote.objects.exists()
    event = AccessEvent.objects.get(action="client.import")
    assert event.data_class <= 3


def test_a_managers_update_never_touches_health_notes(login, manager, owner, location):
    _import(location, FIRST)
    http = login(manager)
    preview = _upload(http, location, SECOND, update="on")
    assert "Left out:" in preview.content.decode()
    _confirm(http, preview)
    assert _read(owner, "BJ-000001", "allergies") == ("对PPD过敏",)


# -- the audit trail -----------------------------------------------------------------------
def test_an_import_is_one_audit_event_with_its_counts(login, owner, location):
    _import(location, FIRST)
    http = login(owner)
    preview = _upload(http, location, SECOND, update="on")
    before = set(AccessEvent.objects.values_list("pk", flat=True))
    _confirm(http, preview)
    new_events = AccessEvent.objects.exclude(pk__in=before)
    assert new_events.count() == 1
    event = new_events.get()
    assert event.action == "client.import" and event.actor == owner
    assert {k: event.detail[k] for k in ("rows", "new", "matched", "skipped", "update")} == {
        "rows": 3, "new": 1, "matched": 2, "skipped": 0, "update": 1}
    assert len(event.subjects) == 3
    assert "乳胶" not in str(event.detail) and "张三" not in event.purpose


# -- all or nothing across batches ---------------------------------------------------------
def _vault_files() -> int:
    root = settings.VAULT_FILES_ROOT
    return sum(1 for _ in root.rglob("*.sv")) if root.exists() else 0


@pytest.mark.django_db(transaction=True, databases=["default", "vault"])
def test_a_failure_part_way_leaves_no_clients_keys_or_changes(location, owner, monkeypatch):
    _import(location, FIRST)
    keys, files = DataKey.objects.count(), _vault_files()
    monkeypatch.setattr(batches, "BATCH", 1)
    rows = "".join(f"客户{i},1370000{i:04d},,\n" for i in range(7))  # eight batches of new clients
    text = SECOND + rows
    calls = {"update": 0}
    real_update = batches.update_batch

    def fail_on_the_second_update_batch(batch, progress):
        calls["update"] += 1
        if calls["update"] == 2:
            raise RuntimeError("disk full")
        real_update(batch, progress)

    monkeypatch.setattr(batches, "update_batch", fail_on_the_second_update_batch)
    # Two matched lines with changes: each its own batch of updates.
    text = text.replace("李四,13900002222,,", "李四,13900002222,ls@example.cn,")
    with pytest.raises(RuntimeError):
        _import(location, text, update=True)
    assert calls["update"] == 2
    assert sorted(Client.objects.values_list("code", flat=True)) == ["BJ-000001", "BJ-000002"]
    assert DataKey.objects.count() == keys and _vault_files() == files
    assert _read(owner, "BJ-000001", "allergies", "email") == ("对PPD过敏", "zs@example.cn")
    assert _read(owner, "BJ-000002", "email") == (None,)


@pytest.mark.django_db(transaction=True, databases=["default", "vault"])
def test_a_batch_that_fails_takes_its_own_data_keys_with_it(location, owner, monkeypatch):
    monkeypatch.setattr(batches, "BATCH", 3)
    real = Client.objects.bulk_create
    calls = []

    def fail_third(objs, *args, **kwargs):
        calls.append(len(objs))
        if len(calls) == 3:
            raise RuntimeError("constraint")
        return real(objs, *args, **kwargs)

    monkeypatch.setattr(Client.objects, "bulk_create", fail_third)
    text = "姓名,手机\n" + "".join(f"客户{i},1370000{i:04d}\n" for i in range(8))
    with pytest.raises(RuntimeError):
        _import(location, text)
    assert calls == [3, 3, 2]
    assert not Client.objects.exists() and not DataKey.objects.exists()


# -- duplicates and phones on the client form ----------------------------------------------
def test_a_new_client_with_the_same_name_and_phone_gets_a_warning(login, owner, location,
                                                                  make_client):
    existing = make_client(full_name="王芳", phone="13900001234")
    http = login(owner)
    url = reverse("records:client_create")
    page = http.post(url, {"full_name": "王芳", "phone": "139 0000 1234"}).content.decode()
    assert existing.code in page and "already registered" in page
    assert Client.objects.count() == 1
    http.post(url, {"full_name": "王芳", "phone": "139 0000 1234", "confirm_duplicate": "on"})
    assert Client.objects.count() == 2


def test_the_same_name_with_another_phone_is_no_duplicate(login, owner, location, make_client):
    make_client(full_name="王芳", phone="13900001234")
    login(owner).post(reverse("records:client_create"),
                      {"full_name": "王芳", "phone": "13900009999"})
    assert Client.objects.count() == 2


@pytest.mark.parametrize(("phone", "ok"), [
    ("13800001234", True), ("138 0000 1234", True), ("+86 138-0000-1234", True),
    ("+852 5678 9000", True), ("+1 (415) 555-0100", True), ("１３８００００１２３４", True),
    ("12800001234", False), ("1380000123", False), ("010-12345678", False), ("5678 9000", False),
    ("+0 123456789", False), ("+1234567890123456", False), ("abc", False),
])
def test_phones_are_a_mainland_mobile_or_carry_a_country_code(login, owner, location, phone, ok):
    login(owner).post(reverse("records:client_create"), {"full_name": "张三", "phone": phone})
    assert Client.objects.exists() is ok
    result = _import(location, f"姓名,手机\n李四,{phone}\n")
    assert result.ok is ok
