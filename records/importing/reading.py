"""Reading a spreadsheet upload: size, file type, text encoding, CSV or XLSX lines, and the
header that says which column holds what."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import openpyxl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from records import importing  # for MAX_ROWS, which lives on the package

from .columns import LABELS, TITLES
from .encoding import decode_csv
from .workbook import check_workbook

_TITLE_NOISE = re.compile(r"[\s_\-*:：]+")
_ZIP_MAGIC = b"PK\x03\x04"


def _title_key(title: str) -> str:
    return _TITLE_NOISE.sub("", unicodedata.normalize("NFKC", title).casefold())


FIELD_BY_TITLE = {_title_key(t): name for name, titles in TITLES.items() for t in titles}


@dataclass(frozen=True)
class Sheet:
    rows: list[tuple[int, dict[str, object]]]
    ignored_columns: list[str]
    # Lines with values in ignored columns only: skipped, and reported as such.
    unread_lines: tuple[int, ...] = ()


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


def _csv_lines(data: bytes) -> Iterator[list[str]]:
    text = decode_csv(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)  # exports use commas, tabs or semicolons
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error:
        raise ValidationError(_("Line %(line)d could not be read as CSV.")
                              % {"line": reader.line_num}) from None


def max_lines() -> int:
    """The most lines a sheet may have, header and blank lines included."""
    return 2 * importing.MAX_ROWS + 1


def _xlsx_lines(data: bytes) -> Iterator[Sequence[object]]:
    check_workbook(data, max_lines=max_lines())
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
        sheet = book.worksheets[0]
        try:
            header = next(sheet.iter_rows(max_row=1, values_only=True), None)
            if header is None:
                return
            yield header
            # Rows are cut to the header's width and the read stops one line past the
            # limit, whatever the sheet's own <dimension> says.
            yield from sheet.iter_rows(min_row=2, max_row=max_lines() + 1,
                                       max_col=max(len(header), 1), values_only=True)
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
    unread: list[int] = []
    for line, cells in enumerate(lines, start=2):
        if line > max_lines():
            raise ValidationError(_("The file has more than %(max)d lines: split it into "
                                    "smaller files.") % {"max": max_lines()})
        raw = {name: cells[i] if i < len(cells) else None for i, name in columns.items()}
        if all(_is_blank(value) for value in raw.values()):
            if not all(_is_blank(value) for value in cells):
                unread.append(line)
            continue
        if len(rows) >= importing.MAX_ROWS:
            raise ValidationError(_("The file has more than %(max)d clients: split it into "
                                    "smaller files.") % {"max": importing.MAX_ROWS})
        rows.append((line, raw))
    return Sheet(rows, ignored, tuple(unread))


def parse_spreadsheet(*, data: bytes, filename: str) -> Sheet:
    """Read the rows of a .csv or .xlsx file; raises ValidationError for the file as a whole."""
    lines = _xlsx_lines(data) if _kind(filename, data) == "xlsx" else _csv_lines(data)
    return _collect(lines)
