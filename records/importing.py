"""Importing clients from a spreadsheet (.csv or .xlsx) exported by a salon's old system.

All or nothing: every row is checked first, and if any row is bad nothing is written and
every problem is reported by spreadsheet line (the header is line 1). A row that matches a
client already at the location — by phone, else email, else name, through the blind
indexes — is counted as already present and skipped, so the same file imported twice
creates nobody twice.

The file is read in memory only. No cell value reaches a log, an audit event or an error
message: errors name the line, the column and the reason.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import os
import re
import unicodedata
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import openpyxl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access import door
from access.models import Location
from vault import blind
from vault import scope as vault_scope
from vault.classes import DataClass

from .models import BeautyProfile, Client, HealthNote
from .services import ALL_FIELDS, CLIENT_FIELDS, HEALTH_FIELDS, PROFILE_FIELDS, next_client_codes

log = logging.getLogger(__name__)

MAX_ROWS = 50_000
BATCH = 1000
# A workbook is a zip of XML; refuse one that would inflate far beyond any real export.
MAX_INFLATION = 25

# Column titles, compared after _title_key() folding; the keys are records.services names.
TITLES = {
    "full_name": ("姓名", "名字", "客户姓名", "name", "full name", "client name", "customer name"),
    "phone": ("手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "phone", "mobile",
              "phone number", "mobile phone", "tel"),
    "email": ("邮箱", "电子邮件", "电子邮箱", "email", "e-mail"),
    "birthday": ("生日", "出生日期", "birthday", "date of birth", "birth date", "dob"),
    "allergies": ("过敏", "过敏史", "allergies", "allergy"),
    # The client has no free notes field; notes become the beauty profile's concerns (L3).
    "concerns": ("备注", "notes", "note", "remarks"),
    "wechat_id": ("微信", "微信号", "wechat", "wechat id"),
    "skin_type": ("肤质", "skin type"),
    "hair": ("发质", "hair", "hair type"),
}
LABELS = {
    "full_name": gettext_lazy("Full name"), "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("Email"), "birthday": gettext_lazy("Birthday"),
    "allergies": gettext_lazy("Allergies"), "concerns": gettext_lazy("Notes"),
    "wechat_id": gettext_lazy("WeChat ID"), "skin_type": gettext_lazy("Skin type"),
    "hair": gettext_lazy("Hair"),
}
MAX_LENGTHS = {"full_name": 100, "phone": 30, "email": 254, "wechat_id": 60, "skin_type": 200,
               "hair": 200, "concerns": 2000, "allergies": 2000}

_TITLE_NOISE = re.compile(r"[\s_\-*:：]+")
_PHONE_NOISE = re.compile(r"[\s+\-()]")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                   r"(?:\s+0{1,2}:00(?::00)?)?")
_ZIP_MAGIC = b"PK\x03\x04"


def _title_key(title: str) -> str:
    return _TITLE_NOISE.sub("", unicodedata.normalize("NFKC", title).casefold())


FIELD_BY_TITLE = {_title_key(t): name for name, titles in TITLES.items() for t in titles}


class RowError(NamedTuple):
    """One problem: spreadsheet line, column label, reason. Never the cell's value."""

    line: int
    column: str
    message: str


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Sheet:
    rows: list[tuple[int, dict[str, object]]]
    ignored_columns: list[str]


# -- reading the file ---------------------------------------------------------------------
def read_upload(upload) -> bytes:
    """The upload's bytes, refused when empty or larger than settings.IMPORT_MAX_BYTES."""
    limit = settings.IMPORT_MAX_BYTES
    too_large = _("The file is too large (at most %(mb)d MB).") % {"mb": max(1, limit // 2**20)}
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(too_large)
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(too_large)
    if not data:
        raise ValidationError(_("The file is empty."))
    return data


def _kind(filename: str, data: bytes) -> str:
    ext = os.path.splitext(filename or "")[1].lower()
    if ext == ".xls":
        raise ValidationError(_("Old Excel files (.xls) cannot be read: save the sheet as "
                                ".xlsx or CSV first."))
    if ext not in (".csv", ".xlsx"):
        raise ValidationError(_("Only .csv and .xlsx files can be imported."))
    if ext == ".xlsx" and not data.startswith(_ZIP_MAGIC):
        raise ValidationError(_("This file is not a readable .xlsx workbook."))
    if ext == ".csv" and data.startswith(_ZIP_MAGIC):
        raise ValidationError(_("This .csv file is really an Excel workbook: rename it to "
                                ".xlsx or export it as CSV again."))
    return ext[1:]


def _decode(data: bytes) -> str:
    encodings = ("utf-16",) if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) \
        else ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise ValidationError(_("The file is not readable text in UTF-8 or GB18030: save it again "
                            "as CSV (UTF-8)."))


def _csv_lines(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)  # exports use commas, tabs or semicolons
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error:
        raise ValidationError(_("Line %(line)d could not be read as CSV.")
                              % {"line": reader.line_num}) from None


def _check_inflation(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationError(_("This file is not a readable .xlsx workbook.")) from None
    if inflated > MAX_INFLATION * settings.IMPORT_MAX_BYTES:
        raise ValidationError(_("This workbook is too large once unpacked."))


def _xlsx_lines(data: bytes) -> Iterator[Sequence[object]]:
    _check_inflation(data)
    unreadable = ValidationError(_("This file is not a readable .xlsx workbook."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not know
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a damaged or hostile workbook can fail anywhere inside openpyxl
        raise unreadable from None
    try:
        if not book.worksheets:
            raise unreadable
        try:
            yield from book.worksheets[0].iter_rows(values_only=True)
        except Exception:  # same: the sheet XML is read lazily, row by row
            raise unreadable from None
    finally:
        book.close()


def _text(value: object) -> str:
    """A cell as text, as given: whole numbers without '.0', dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _map_header(cells: Sequence[object]) -> tuple[dict[int, str], list[str]]:
    """Column index -> field name, and the titles of the columns that are ignored."""
    columns: dict[int, str] = {}
    titles: dict[str, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        title = _text(cell)
        name = FIELD_BY_TITLE.get(_title_key(title))
        if name is None:
            if title:
                ignored.append(title[:60])
            continue
        if name in titles:
            raise ValidationError(_("Two columns mean the same thing (%(field)s): %(first)s and "
                                    "%(second)s. Remove one of them.")
                                  % {"field": LABELS[name], "first": titles[name], "second": title})
        titles[name], columns[index] = title, name
    if "full_name" not in titles:
        # The "header" may well be a client's row: list nothing back from it.
        raise ValidationError(_("No name column was found. The first line must hold the column "
                                "titles, one of them 姓名 or Name."))
    return columns, ignored


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _collect(lines: Iterable[Sequence[object]]) -> Sheet:
    lines = iter(lines)
    header = next(lines, None)
    if header is None:
        raise ValidationError(_("The file is empty."))
    columns, ignored = _map_header(header)
    rows: list[tuple[int, dict[str, object]]] = []
    for line, cells in enumerate(lines, start=2):
        raw = {name: cells[i] if i < len(cells) else None for i, name in columns.items()}
        if all(_is_blank(value) for value in raw.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise ValidationError(_("The file has more than %(max)d clients: split it into "
                                    "smaller files.") % {"max": MAX_ROWS})
        rows.append((line, raw))
    return Sheet(rows, ignored)


def parse_spreadsheet(*, data: bytes, filename: str) -> Sheet:
    """Read the rows of a .csv or .xlsx file; raises ValidationError for the file as a whole."""
    lines = _xlsx_lines(data) if _kind(filename, data) == "xlsx" else _csv_lines(data)
    return _collect(lines)


# -- checking the rows --------------------------------------------------------------------
def _birthday(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        text = _text(value)
        if not text:
            return None
        day = _parse_date(text)
        if day is None:
            raise ValidationError(_("Write the birthday as 1990-01-02, 1990/1/2 or 1990年1月2日."))
    if not dt.date(1900, 1, 1) <= day <= timezone.localdate():
        raise ValidationError(_("Enter a birthday between 1900 and today."))
    return day


def _parse_date(text: str) -> dt.date | None:
    match = _DATE.fullmatch(text)
    try:
        return dt.date(*(int(part) for part in match.groups())) if match else None
    except ValueError:  # a 31 February
        return None


def _check_phone(text: str) -> None:
    digits = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", text))
    if not (digits.isascii() and digits.isdigit() and 5 <= len(digits) <= 20):
        raise ValidationError(_("A phone number needs 5 to 20 digits (spaces, +, - and "
                                "brackets are allowed)."))


def _clean(name: str, value: object) -> object:
    """One cell's value to store. Text is kept as given (a leading = is just a character)."""
    if name == "birthday":
        return _birthday(value)
    text = _text(value)
    if len(text) > MAX_LENGTHS[name]:
        raise ValidationError(_("Too long: at most %(max)d characters.")
                              % {"max": MAX_LENGTHS[name]})
    if name == "full_name" and not text:
        raise ValidationError(_("The name is missing."))
    if name == "phone" and text:
        _check_phone(text)
    if name == "email" and text:
        validate_email(text)
    return text


def _clean_row(line: int, raw: dict[str, object]) -> tuple[dict[str, object], list[RowError]]:
    data: dict[str, object] = {}
    errors: list[RowError] = []
    for name, value in raw.items():
        try:
            cleaned = _clean(name, value)
        except ValidationError as exc:
            errors.append(RowError(line, str(LABELS[name]), _reason(name, exc)))
            continue
        if cleaned not in (None, ""):
            data[name] = cleaned
    return data, errors


def _reason(name: str, exc: ValidationError) -> str:
    if name == "email":  # Django's message is fine, but say it without the value
        return _("This is not a valid email address.")
    return exc.messages[0]


def _duplicates(rows: list[tuple[int, dict[str, object]]]) -> list[RowError]:
    """Rows that repeat the phone or email of an earlier row of the file."""
    checks = (("phone", blind.normalise_phone, _("Same phone as line %(line)d.")),
              ("email", blind.normalise_email, _("Same email as line %(line)d.")))
    first_seen: dict[tuple[str, str], int] = {}
    errors: list[RowError] = []
    for line, data in rows:
        for name, normalise, message in checks:
            if name in data:
                first = first_seen.setdefault((name, normalise(str(data[name]))), line)
                if first != line:
                    errors.append(RowError(line, str(LABELS[name]), message % {"line": first}))
    return errors


def check_rows(rows: list[tuple[int, dict[str, object]]]
               ) -> tuple[list[tuple[int, dict[str, object]]], list[RowError]]:
    cleaned, errors = [], []
    for line, raw in rows:
        data, row_errors = _clean_row(line, raw)
        errors += row_errors
        if not row_errors:
            cleaned.append((line, data))
    errors += _duplicates(cleaned)
    return cleaned, sorted(errors, key=lambda e: e.line)


# -- matching and writing -----------------------------------------------------------------
def _match_key(data: dict[str, object]) -> tuple[str, str]:
    """The blind index a row is matched on: phone if it has one, else email, else name."""
    for name, kind, column in (("phone", "phone", "phone_bidx"), ("email", "email", "email_bidx"),
                               ("full_name", "name", "name_bidx")):
        if data.get(name):
            return column, blind.terms(kind, str(data[name]))
    return "name_bidx", ""


def _present(location: Location, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for column in ("phone_bidx", "email_bidx", "name_bidx"):
        digests = sorted({d for c, d in keys if c == column and d})
        for i in range(0, len(digests), 500):
            hits = (Client.objects.filter(location=location, **{f"{column}__in": digests[i:i + 500]})
                    .values_list(column, flat=True))
            found |= {(column, digest) for digest in hits}
    return found


def _split_present(location: Location, rows: list[dict[str, object]]
                   ) -> tuple[list[dict[str, object]], int]:
    keys = [_match_key(data) for data in rows]
    present = _present(location, set(keys))
    fresh = [data for data, key in zip(rows, keys, strict=True) if key not in present]
    return fresh, len(rows) - len(fresh)


def _pick(data: dict[str, object], names: Iterable[str]) -> dict[str, object]:
    return {name: data[name] for name in names if name in data}


def _write(location: Location, ids: list[uuid.UUID], rows: list[dict[str, object]]) -> None:
    # Keys commit first: if the records then fail to commit, only unused keys remain.
    with transaction.atomic(using="default"), transaction.atomic(using="vault"):
        vault_scope.current().create_keys(ids)
        codes = next_client_codes(location, len(rows))
        clients, profiles, notes = [], [], []
        for pk, code, data in zip(ids, codes, rows, strict=True):
            clients.append(Client(id=pk, code=code, location=location,
                                  **_pick(data, CLIENT_FIELDS)))
            if profile := _pick(data, PROFILE_FIELDS):
                profiles.append(BeautyProfile(client_id=pk, **profile))
            if health := _pick(data, HEALTH_FIELDS):
                notes.append(HealthNote(client_id=pk, **health))
        Client.objects.bulk_create(clients, batch_size=BATCH)
        BeautyProfile.objects.bulk_create(profiles, batch_size=BATCH)
        HealthNote.objects.bulk_create(notes, batch_size=BATCH)


def _needed_class(rows: list[dict[str, object]]) -> int:
    return max((ALL_FIELDS[name] for row in rows for name in row), default=DataClass.L2)


def _opening(*, user, location: Location, ids: list[uuid.UUID], want: int, username: str):
    if user is None:  # the command line: a named system job
        purpose = f"import {len(ids)} clients from spreadsheet by {username}"
        return door.open_for_system(actor="import", purpose=purpose, subjects=ids, create=True)
    return door.open_new_clients(user=user, location=location, subjects=ids, want=want,
                                 purpose="import clients from spreadsheet")


def _insert(*, location: Location, rows: list[dict[str, object]], username: str,
            user=None) -> None:
    ids = [uuid.uuid4() for _row in rows]
    with _opening(user=user, location=location, ids=ids, want=_needed_class(rows),
                  username=username):
        _write(location, ids, rows)


def _check_ceiling(user, location: Location, sheet: Sheet) -> None:
    """A user imports only what they could write by hand: no health notes beyond their role."""
    if user is None:
        return
    ceiling = door.ceiling_for_new_client(user, location)
    beyond = sorted({name for _line, row in sheet.rows for name, value in row.items()
                     if ALL_FIELDS.get(name, 0) > ceiling and not _is_blank(value)})
    if beyond:
        raise ValidationError(
            _("Your role may not import these columns: %(columns)s. Remove them, or ask the "
              "owner to import the file.")
            % {"columns": ", ".join(str(LABELS.get(n, n)) for n in beyond)})


def clients_import(*, upload, location: Location, username: str, user=None,
                   dry_run: bool = False) -> ImportResult:
    """Import the clients of one spreadsheet into `location`, all or nothing.

    Raises ValidationError when the file as a whole cannot be read (type, size, encoding,
    no name column, too many rows). Otherwise returns an ImportResult: with errors, nothing
    was written; without, `created` clients were written in one transaction and `skipped`
    rows matched clients already present. `username` goes into the audit purpose.
    """
    sheet = parse_spreadsheet(data=read_upload(upload), filename=getattr(upload, "name", ""))
    _check_ceiling(user, location, sheet)
    rows, errors = check_rows(sheet.rows)
    result = ImportResult(rows=len(sheet.rows), errors=errors,
                          ignored_columns=sheet.ignored_columns, dry_run=dry_run)
    if errors:
        return result
    fresh, result.skipped = _split_present(location, [data for _line, data in rows])
    result.created = len(fresh)
    if fresh and not dry_run:
        _insert(location=location, rows=fresh, username=username, user=user)
    log.info("client import into %s by %s: %d created, %d already present%s", location.code,
             username, result.created, result.skipped, " (dry run)" if dry_run else "")
    return result
