"""Importing clients from an old system's spreadsheet: all or nothing, idempotent, sealed."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from access import door
from audit.models import AccessEvent
from records import importing, selectors
from records.models import BeautyProfile, Client, HealthNote
from vault.scope import Sealed

CHINESE_CSV = (
    "姓名,手机号,邮箱,生日,过敏史,备注,微信号,肤质,发质,会员等级\n"
    "张三,+86 138 0000 1234,zhangsan@example.cn,1990/1/2,对PPD过敏,想做头皮护理,zs_wx,混合性,细软,金卡\n"
    "李四,13900002222,,1985年12月3日,,,,,,银卡\n"
    "王五,,wangwu@example.cn,1979-06-30,,,,,,\n"
)


def _upload(content: bytes | str, name: str = "clients.csv", encoding: str = "utf-8"):
    data = content.encode(encoding) if isinstance(content, str) else content
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import(location, content, name="clients.csv", encoding="utf-8", **kwargs):
    return importing.clients_import(upload=_upload(content, name, encoding), location=location,
                                    username="owner", **kwargs)


def _opened(owner, client):
    return door.open_client(user=owner, client=client, purpose="t")


# -- reading files -------------------------------------------------------------------------
def test_it_imports_a_csv_with_chinese_headers(location, owner):
    result = _import(location, CHINESE_CSV)
    assert result.ok and result.created == 3 and result.skipped == 0
    assert result.ignored_columns == ["会员等级"]
    assert Client.objects.filter(location=location).count() == 3
    assert BeautyProfile.objects.count() == 1 and HealthNote.objects.count() == 1


def test_it_reads_a_csv_saved_in_gb18030(location, owner):
    result = _import(location, CHINESE_CSV, encoding="gb18030")
    assert result.ok and result.created == 3
    client = Client.objects.get(code="BJ-000001")
    with _opened(owner, client):
        assert client.full_name == "张三"
        assert client.health.allergies == "对PPD过敏"


def test_it_reads_a_utf8_csv_with_a_byte_order_mark(location, owner):
    result = _import(location, "\ufeff" + CHINESE_CSV)
    assert result.ok and result.created == 3


def test_it_reads_an_xlsx_with_english_headers(location, owner):
    data = _xlsx([
        ["Full Name", " PHONE ", "E-mail", "Date of Birth", "Allergies", "Notes", "WeChat",
         "Skin type", "Hair", "Loyalty points"],
        ["Wei Zhang", 13800001234, "wei@example.com", dt.datetime(1990, 1, 2), "latex",
         "wants a trim", "weiz", "oily", "curly", 120],
        ["Anna Li", "+86 139 0000 5678", None, "1988/2/29", None, None, None, None, None, None],
    ])
    result = _import(location, data, name="Clients.XLSX")
    assert result.ok and result.created == 2 and result.ignored_columns == ["Loyalty points"]
    wei = Client.objects.get(code="BJ-000001")
    with _opened(owner, wei):
        assert (wei.full_name, wei.phone, wei.email) == ("Wei Zhang", "13800001234", "wei@example.com")
        assert wei.birthday == dt.date(1990, 1, 2) and wei.wechat_id == "weiz"
        assert (wei.profile.skin_type, wei.profile.hair, wei.profile.concerns) == (
            "oily", "curly", "wants a trim")
        assert wei.health.allergies == "latex"


def test_a_tab_separated_export_is_read(location, owner):
    result = _import(location, "姓名\t电话\n赵六\t13700001111\n")
    assert result.ok and result.created == 1


def test_blank_lines_are_skipped_but_still_counted(location, owner):
    result = _import(location, "姓名,电话\n\n赵六,\n,\n钱七,abc\n")
    assert [(e.line, e.column) for e in result.errors] == [(5, "Phone")]


@pytest.mark.parametrize("name", ["clients.txt", "clients.exe", "clients", "clients.xls"])
def test_other_file_types_are_rejected(location, owner, name):
    with pytest.raises(ValidationError):
        _import(location, CHINESE_CSV, name=name)
    assert not Client.objects.exists()


def test_a_renamed_binary_is_not_read_as_csv(location, owner):
    with pytest.raises(ValidationError, match="not readable text"):
        _import(location, b"MZ\x90\x00\x03\x00\x00\x00", name="clients.csv")


def test_a_damaged_workbook_is_rejected(location, owner):
    with pytest.raises(ValidationError, match="not a readable .xlsx"):
        _import(location, b"PK\x03\x04 broken", name="clients.xlsx")


def test_a_file_without_a_name_column_is_rejected_without_echoing_its_first_line(location, owner):
    with pytest.raises(ValidationError) as caught:
        _import(location, "张三,13800001234\n李四,13900002222\n")
    assert "No name column" in caught.value.messages[0]
    assert "张三" not in caught.value.messages[0]


def test_two_columns_for_the_same_field_are_rejected(location, owner):
    with pytest.raises(ValidationError, match="Two columns"):
        _import(location, "姓名,手机,电话\n张三,13800001234,13800001234\n")


def test_an_empty_file_is_rejected(location, owner):
    with pytest.raises(ValidationError, match="empty"):
        _import(location, b"")


def test_a_file_above_the_size_limit_is_rejected(location, owner, settings):
    settings.IMPORT_MAX_BYTES = 100
    with pytest.raises(ValidationError, match="too large"):
        _import(location, CHINESE_CSV)


def test_a_file_with_too_many_rows_is_rejected(location, owner, monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 2)
    with pytest.raises(ValidationError, match="more than 2 clients"):
        _import(location, CHINESE_CSV)


# -- checking rows -------------------------------------------------------------------------
def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_imported(location, owner):
    content = (
        "Name,Phone,Email,Birthday,WeChat\n"
        "张三,13800001234,,,\n"             # line 2: fine
        ",13800002222,,,\n"                 # line 3: no name
        "李四,12-34,,,\n"                   # line 4: too few digits
        "王五,,not-an-email,,\n"            # line 5
        "赵六,,,2999-01-01,\n"              # line 6: future
        "钱七,,,1899/12/31,\n"              # line 7: before 1900
        "孙八,,,31/12/1990,\n"              # line 8: unknown format
        f"周九,,,,{'w' * 61}\n"             # line 9: too long
        "吴十,138 0000 1234,,,\n"           # line 10: same phone as line 2
    )
    result = _import(location, content)
    assert not result.ok and result.created == 0
    assert [(e.line, e.column) for e in result.errors] == [
        (3, "Full name"), (4, "Phone"), (5, "Email"), (6, "Birthday"), (7, "Birthday"),
        (8, "Birthday"), (9, "WeChat ID"), (10, "Phone")]
    assert "line 2" in result.errors[-1].message
    assert not Client.objects.exists()


def test_error_messages_never_contain_cell_values(location, owner):
    result = _import(location, "姓名,邮箱,电话\n张三,secret@@example,99\n")
    text = " ".join(f"{e.column} {e.message}" for e in result.errors)
    assert "secret" not in text and "99" not in text and "张三" not in text


def test_the_same_email_twice_in_a_file_is_an_error(location, owner):
    result = _import(location, "姓名,邮箱\n甲,A@Example.cn\n乙,a@example.cn\n")
    assert [(e.line, e.column) for e in result.errors] == [(3, "Email")]


@pytest.mark.parametrize("written", ["1990-01-02", "1990/1/2", "1990年1月2日", "1990/1/2 0:00"])
def test_birthdays_are_read_in_the_usual_ways(location, owner, written):
    _import(location, f"姓名,生日\n张三,{written}\n")
    client = Client.objects.get()
    with _opened(owner, client):
        assert client.birthday == dt.date(1990, 1, 2)


def test_formula_like_cells_are_stored_as_plain_text(location, owner):
    result = _import(location, '姓名,备注,电话\n"=HYPERLINK(""x"")",@SUM(A1),+86 138-0000-1234\n')
    assert result.ok
    client = Client.objects.get()
    with _opened(owner, client):
        assert client.full_name == '=HYPERLINK("x")'
        assert client.profile.concerns == "@SUM(A1)"
        assert client.phone == "+86 138-0000-1234"


# -- writing -------------------------------------------------------------------------------
def test_importing_the_same_file_twice_does_not_duplicate(location, owner):
    _import(location, CHINESE_CSV)
    again = _import(location, CHINESE_CSV)
    assert again.ok and again.created == 0 and again.skipped == 3
    assert Client.objects.count() == 3


def test_a_client_created_by_hand_is_matched_by_phone(location, owner, make_client):
    make_client(full_name="张三丰", phone="13800001234")
    result = _import(location, CHINESE_CSV)
    assert (result.created, result.skipped) == (2, 1)


def test_clients_of_another_location_are_not_matched(location, other_location, owner):
    _import(other_location, CHINESE_CSV)
    result = _import(location, CHINESE_CSV)
    assert result.created == 3
    assert [c.code for c in Client.objects.filter(location=location)] == [
        "BJ-000001", "BJ-000002", "BJ-000003"]


def test_a_dry_run_writes_nothing(location, owner):
    result = _import(location, CHINESE_CSV, dry_run=True)
    assert result.ok and result.created == 3 and result.dry_run
    assert not Client.objects.exists() and not AccessEvent.objects.exists()


def test_blind_index_search_finds_imported_clients(location, owner):
    _import(location, CHINESE_CSV)
    kind, found = selectors.client_search(owner, "张三")
    assert kind == "name" and found.count() == 1
    assert selectors.client_search(owner, "1234")[1].get() == found.get()
    assert selectors.client_search(owner, "wangwu@example.cn")[1].count() == 1


def test_imported_values_are_sealed_outside_a_scope_and_correct_inside(location, owner):
    _import(location, CHINESE_CSV)
    client = Client.objects.get(code="BJ-000001")
    assert isinstance(client.full_name, Sealed) and str(client.phone) == "‹sealed›"
    with _opened(owner, client):
        assert client.full_name == "张三"
        assert client.phone == "+86 138 0000 1234"
        assert client.email == "zhangsan@example.cn"
        assert client.birthday == dt.date(1990, 1, 2)
        assert client.wechat_id == "zs_wx"
        assert client.profile.concerns == "想做头皮护理"
        assert client.health.allergies == "对PPD过敏"


def test_plaintext_is_not_in_the_database(location, owner):
    _import(location, CHINESE_CSV)
    stored = Client.objects.filter(code="BJ-000001").values_list("full_name", "phone").get()
    assert "张三".encode() not in stored[0].blob
    assert b"1234" not in stored[1].blob


def test_the_import_is_audited_with_the_user_and_count_but_no_values(location, owner):
    _import(location, CHINESE_CSV)
    event = AccessEvent.objects.get(action="system.open")
    assert event.actor_label == "system:import"
    assert event.purpose == "import clients from spreadsheet"
    assert event.detail | {"by": "owner", "rows": 3, "new": 3, "matched": 0, "skipped": 0,
                           "update": False} == event.detail
    assert sorted(event.subjects) == sorted(str(pk) for pk in Client.objects.values_list("pk", flat=True))
    assert "clients.csv" not in event.purpose and "张三" not in str(event.detail)


# -- the upload page -----------------------------------------------------------------------
def _post(http, location, content, name="clients.csv", **fields):
    """Upload a file: the answer is the preview (or the errors), nothing is written yet."""
    data = content.encode() if isinstance(content, str) else content
    return http.post(reverse("records:import"),
                     {"file": SimpleUploadedFile(name, data), "location": str(location.pk)}
                     | fields)


def _confirm(http, preview):
    """Press the preview's Import button."""
    form = preview.context["confirm"]
    return http.post(reverse("records:import_confirm"),
                     {name: form[name].value() for name in ("staging", "key", "digest")})


def _import_through_the_page(http, location, content, name="clients.csv", **fields):
    preview = _post(http, location, content, name, **fields)
    assert "Nothing has been written yet" in preview.content.decode()
    return _confirm(http, preview)


def test_owner_sees_the_import_page(login, owner):
    page = login(owner).get(reverse("records:import"))
    assert page.status_code == 200
    assert "concerns" in page.content.decode()


def test_owner_uploads_a_file_and_sees_a_summary(login, owner, other_location):
    response = _import_through_the_page(login(owner), other_location, CHINESE_CSV)
    page = response.content.decode()
    assert response.status_code == 200 and "Import complete" in page and "会员等级" in page
    assert Client.objects.filter(location=other_location).count() == 3


def test_the_page_shows_the_error_table_without_cell_values(login, owner, location):
    page = _post(login(owner), location, "姓名,电话\n张三,98-7\n").content.decode()
    assert "Nothing was imported" in page and "<td>2</td>" in page
    assert "98-7" not in page and "张三" not in page
    assert not Client.objects.exists()


def test_manager_imports_into_their_own_location_only(login, manager, location, other_location):
    without_health = "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != 4)
                                for line in CHINESE_CSV.splitlines())
    _import_through_the_page(login(manager), other_location, without_health)
    assert Client.objects.filter(location=location).count() == 3
    assert not Client.objects.filter(location=other_location).exists()


@pytest.mark.parametrize("person", ["receptionist", "stylist", "auditor"])
def test_other_staff_get_403(request, login, location, person):
    user = request.getfixturevalue(person)
    http = login(user)
    assert http.get(reverse("records:import")).status_code == 403
    assert _post(http, location, CHINESE_CSV).status_code == 403
    assert not Client.objects.exists()
    assert AccessEvent.objects.filter(action="client.import", outcome="denied", actor=user).exists()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("records:import"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("name", ["clients.txt", "setup.exe"])
def test_the_page_rejects_other_file_types(login, owner, location, name):
    page = _post(login(owner), location, CHINESE_CSV, name=name).content.decode()
    assert "Only .csv and .xlsx files can be imported." in page
    assert not Client.objects.exists()


def test_the_page_rejects_a_file_above_the_limit(login, owner, location, settings):
    settings.IMPORT_MAX_BYTES = 50
    page = _post(login(owner), location, CHINESE_CSV).content.decode()
    assert "The file is too large" in page
    assert not Client.objects.exists()


def test_the_upload_never_goes_to_a_temporary_file(login, owner, location, settings, monkeypatch):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10  # Django would spill anything larger to disk

    def refuse(*args, **kwargs):
        raise AssertionError("the upload was written to a temporary file")

    monkeypatch.setattr("django.core.files.uploadedfile.TemporaryUploadedFile.__init__", refuse)
    response = _import_through_the_page(login(owner), location, CHINESE_CSV)
    assert "Import complete" in response.content.decode()


def test_the_page_renders_in_chinese_too(login, owner, location):
    response = login(owner).get(reverse("records:import"), HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()


# -- the management command ----------------------------------------------------------------
def test_the_command_imports_a_file(location, owner, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text(CHINESE_CSV, encoding="gb18030")
    out = io.StringIO()
    call_command("import_clients", str(path), "--location", "bj", stdout=out)
    assert "3 clients created" in out.getvalue()
    assert Client.objects.filter(location=location).count() == 3


def test_the_command_reports_errors_and_exits_non_zero(location, tmp_path):
    path = tmp_path / "clients.xlsx"
    path.write_bytes(_xlsx([["Name", "Phone"], ["张三", "123"], [None, "13800001234"]]))
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_clients", str(path), "--location", "bj", stderr=err)
    assert caught.value.returncode != 0 and "2 problems" in str(caught.value)
    assert "line 2, Phone" in err.getvalue() and "line 3, Full name" in err.getvalue()
    assert "123" not in err.getvalue().replace("line 2", "")
    assert not Client.objects.exists()


def test_the_command_dry_run_writes_nothing(location, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text(CHINESE_CSV, encoding="utf-8")
    out = io.StringIO()
    call_command("import_clients", str(path), "--location", "bj", "--dry-run", stdout=out)
    assert "3 clients would be created" in out.getvalue()
    assert not Client.objects.exists()


def test_the_command_refuses_an_unknown_location_or_file_type(location, tmp_path):
    path = tmp_path / "clients.txt"
    path.write_text(CHINESE_CSV, encoding="utf-8")
    with pytest.raises(CommandError, match="no location"):
        call_command("import_clients", str(path), "--location", "nowhere")
    with pytest.raises(CommandError, match="Only .csv and .xlsx"):
        call_command("import_clients", str(path), "--location", "bj")


def test_codes_of_a_location_whose_code_starts_like_another_do_not_collide(owner, location):
    from access.models import Location
    from records.services import next_client_codes

    north = Location.objects.create(code="bj-north", name="北京北店")
    _import(north, "姓名,手机\n张三,13800000001\n")
    assert next_client_codes(north) == ["BJ-NORTH-000002"]
    assert next_client_codes(location) == ["BJ-000001"]


def test_a_manager_may_not_import_health_notes(login, manager, location):
    from audit.models import AccessEvent

    sheet = "姓名,手机,过敏\n张三,13800000001,花生\n"
    response = login(manager).post("/clients/import/", {"file": _upload(sheet, "c.csv"),
                                                        "location": str(location.pk)})
    assert response.status_code == 200
    assert Client.objects.count() == 0
    assert "Allergies" in response.content.decode()
    assert not AccessEvent.objects.filter(action="client.import").exists()


def test_a_web_import_is_recorded_as_the_users_own_access(login, owner, location):
    from audit.models import AccessEvent

    sheet = "姓名,手机\n张三,13800000001\n李四,13800000002\n"
    _import_through_the_page(login(owner), location, sheet)
    event = AccessEvent.objects.get(action="client.import")
    assert event.actor == owner and event.detail["count"] == 2
    assert sorted(event.subjects) == sorted(str(pk) for pk in Client.objects.values_list("pk", flat=True))
