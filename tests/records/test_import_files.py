"""Spreadsheets that would exhaust the server, or import garbled names, are refused up front."""

from __future__ import annotations

import io
import time
import zipfile

import openpyxl
import pytest
from django.core.exceptions import ValidationError

from records import importing
from records.models import Client

HEADER = ("姓名", "手机")


def _import(location, data: bytes, name: str):
    upload = io.BytesIO(data)
    upload.name = name
    return importing.clients_import(upload=upload, location=location, username="owner")


def _workbook(rows, *, sheets: int = 1) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    for i in range(1, sheets):
        book.create_sheet(f"extra {i}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_sheet_xml(workbook: bytes, sheet_xml_chunks, *, level: int = 9) -> bytes:
    """The same workbook with its first sheet's XML replaced, written in chunks."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as bomb:
        for info in source.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with bomb.open(info.filename, "w", force_zip64=True) as sheet:
                    for chunk in sheet_xml_chunks:
                        sheet.write(chunk)
            else:
                bomb.writestr(info, source.read(info.filename))
    return out.getvalue()


_SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
               b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = b"</sheetData></worksheet>"


def _bomb_chunks(megabytes: int):
    # Rows of the same two cells between runs of blanks: deflate packs it about 900 times.
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c><c t="inlineStr"><is><t>1</t></is></c></row>'
    block = row * 100 + b" " * (2**20 - 100 * len(row))
    yield _SHEET_HEAD
    for _ in range(megabytes):
        yield block
    yield _SHEET_TAIL


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    data = _with_sheet_xml(_workbook([HEADER]), _bomb_chunks(140))
    assert 100_000 < len(data) < 200_000  # the size of the file reported in the issue
    return data


def test_a_zip_bomb_is_refused_in_well_under_a_second(location, zip_bomb):
    started = time.process_time()
    with pytest.raises(ValidationError, match="too large once unpacked"):
        _import(location, zip_bomb, "bomb.xlsx")
    assert time.process_time() - started < 0.3
    assert not Client.objects.exists()


def test_a_member_that_inflates_like_a_bomb_is_refused_even_when_small_in_total(location):
    data = _with_sheet_xml(_workbook([HEADER]), _bomb_chunks(8))
    with pytest.raises(ValidationError, match="too large once unpacked"):
        _import(location, data, "c.xlsx")


def test_a_sheet_that_claims_a_million_rows_is_refused_before_reading(location, monkeypatch):
    chunks = [_SHEET_HEAD.replace(b"<sheetData>", b'<dimension ref="A1:B1048576"/><sheetData>'),
              b'<row r="1"><c t="inlineStr"><is><t>Name</t></is></c></row>', _SHEET_TAIL]
    data = _with_sheet_xml(_workbook([HEADER]), chunks)

    def never(*args, **kwargs):
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(ValidationError, match="1048576 lines"):
        _import(location, data, "c.xlsx")


def test_a_sheet_that_hides_its_rows_from_the_dimension_is_stopped_at_the_limit(location,
                                                                                 monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 10)
    rows = b"".join(b'<row r="%d"><c t="inlineStr"><is><t>n%d</t></is></c></row>' % (i, i)
                    for i in range(2, 40))
    chunks = [_SHEET_HEAD.replace(b"<sheetData>", b'<dimension ref="A1:A2"/><sheetData>'),
              b'<row r="1"><c t="inlineStr"><is><t>Name</t></is></c></row>', rows,
              b'<row r="900000"><c t="inlineStr"><is><t>last</t></is></c></row>', _SHEET_TAIL]
    data = _with_sheet_xml(_workbook([HEADER]), chunks)
    started = time.process_time()
    with pytest.raises(ValidationError, match="more than"):
        _import(location, data, "c.xlsx")
    assert time.process_time() - started < 1


def test_blank_rows_far_down_a_sheet_are_not_padded_out(location):
    chunks = [_SHEET_HEAD, b'<row r="1"><c t="inlineStr"><is><t>Name</t></is></c></row>',
              b'<row r="2"><c t="inlineStr"><is><t>Ann</t></is></c></row>',
              b'<row r="1048000"><c r="XFD1048000" t="inlineStr"><is><t>x</t></is></c></row>',
              _SHEET_TAIL]
    data = _with_sheet_xml(_workbook([HEADER]), chunks)
    started = time.process_time()
    with pytest.raises(ValidationError, match="more than"):
        _import(location, data, "c.xlsx")
    assert time.process_time() - started < 2


def test_a_workbook_with_too_many_sheets_is_refused(location):
    with pytest.raises(ValidationError, match="sheets"):
        _import(location, _workbook([HEADER, ("张三", "13800001234")], sheets=60), "c.xlsx")


def test_an_ordinary_workbook_still_imports(location, owner):
    rows = [HEADER] + [(f"客户{i}", f"139{i:08d}") for i in range(300)]
    assert _import(location, _workbook(rows, sheets=3), "c.xlsx").created == 300


# -- encodings -----------------------------------------------------------------------------
TRADITIONAL = "姓名,手機,備註\n陳大文,+886 912 345 678,對染髮劑過敏\n林小美,+886 922 333 444,想做頭皮護理\n"
JAPANESE = "氏名,電話,備考\n山田太郎,+81 90 1234 5678,アレルギーあり\n佐藤花子,+81 80 1111 2222,カラー希望\n"


@pytest.mark.parametrize(("text", "encoding", "named"), [
    (TRADITIONAL, "big5", "Big5"),
    (JAPANESE, "shift_jis", "Shift_JIS"),
    (TRADITIONAL, "utf-16", "UTF-16"),
    (TRADITIONAL, "utf-16-le", "UTF-16"),
    ("姓名,电话\nJosé Müller,+49 151 2345678\n", "utf-32", "UTF-32"),
])
def test_a_csv_in_another_encoding_is_refused_and_the_encoding_named(location, text, encoding,
                                                                    named):
    with pytest.raises(ValidationError) as caught:
        _import(location, text.encode(encoding), "c.csv")
    assert named in caught.value.messages[0] and "UTF-8" in caught.value.messages[0]
    assert not Client.objects.exists()


def test_big5_that_gb18030_would_decode_is_still_refused(location):
    data = TRADITIONAL.encode("big5")
    data.decode("gb18030")  # no error: without detection the names would come in garbled
    with pytest.raises(ValidationError, match="Big5"):
        _import(location, data, "c.csv")


def test_simplified_chinese_in_gb18030_with_rare_characters_is_read(location, owner):
    from access import door

    text = "姓名,手机,过敏\n张喆,13800001234,对PPD过敏\n王堃,13900002222,\n李四,13700003333,海鲜\n"
    assert _import(location, text.encode("gb18030"), "c.csv").created == 3
    client = Client.objects.get(code="BJ-000001")
    with door.open_client(user=owner, client=client, purpose="t"):
        assert client.full_name == "张喆"
