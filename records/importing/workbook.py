"""Sizing up an .xlsx workbook before openpyxl reads it.

A workbook is a zip of XML. Everything here is read from the zip's central directory and
from the first few kilobytes of two small parts, so a hostile file (a zip bomb, a sheet that
claims a million rows) is refused in milliseconds, before any sheet is parsed:

- the members' total unpacked size, and how much each large member inflates;
- the number of members and of sheets;
- the first sheet's <dimension>, which says how many rows and columns it spans.

A sheet may omit or understate its dimension; `reading` therefore also stops reading at
the same line limit, so the check here is the fast path, not the only guard.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_UNPACKED_BYTES = 64 * 2**20  # a real export of 50,000 clients unpacks to about 25 MB
MAX_RATIO = 100  # XML of real exports deflates 5-20 times; a bomb about 1,000 times
RATIO_FLOOR = 2**20  # small members may inflate a lot (a sheet of one repeated style)
MAX_MEMBERS = 2_000
MAX_SHEETS = 50
MAX_COLUMNS = 500
PART_BYTES = 2**20  # workbook.xml and its relations are read whole, up to this size
DIMENSION_WINDOW = 64 * 2**10  # <dimension> comes before the rows, near the top of a sheet

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]*)(\d*)(?::([A-Z]*)(\d*))?\"")


def _unreadable() -> ValidationError:
    return ValidationError(_("This file is not a readable .xlsx workbook."))


def _too_large() -> ValidationError:
    return ValidationError(_("This workbook is too large once unpacked (at most %(mb)d MB): "
                             "save it again, or export the clients as CSV.")
                           % {"mb": MAX_UNPACKED_BYTES // 2**20})


def _check_sizes(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise _unreadable()
    if sum(info.file_size for info in members) > MAX_UNPACKED_BYTES:
        raise _too_large()
    for info in members:
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _too_large()


def _read_part(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    try:
        with archive.open(name) as part:
            return part.read(limit)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _unreadable() from None


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, int]:
    """The zip name of the sheet openpyxl reads first, and how many sheets there are."""
    try:
        book = ElementTree.fromstring(_read_part(archive, "xl/workbook.xml", PART_BYTES))
        rels = ElementTree.fromstring(
            _read_part(archive, "xl/_rels/workbook.xml.rels", PART_BYTES))
    except (ElementTree.ParseError, DefusedXmlException):
        raise _unreadable() from None
    sheets = book.findall("m:sheets/m:sheet", _NS)
    if not sheets:
        raise _unreadable()
    rel_id = sheets[0].get(f"{{{_NS['r']}}}id")
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.findall("p:Relationship", _NS)}
    target = targets.get(rel_id)
    if not target:
        raise _unreadable()
    name = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return posixpath.normpath(name), len(sheets)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def _check_dimension(archive: zipfile.ZipFile, sheet: str, max_lines: int) -> None:
    match = _DIMENSION.search(_read_part(archive, sheet, DIMENSION_WINDOW))
    if match is None:
        return  # not every writer states it; reading stops at the same limit anyway
    first_col, first_row, last_col, last_row = match.groups()
    rows = int(last_row or first_row or 0)
    if rows > max_lines:
        raise ValidationError(_("The sheet has %(rows)d lines; at most %(max)d can be read at "
                                "once: split it into smaller files.")
                              % {"rows": rows, "max": max_lines})
    if _column_number(last_col or first_col or b"") > MAX_COLUMNS:
        raise ValidationError(_("The sheet has more than %(max)d columns: keep only the client "
                                "columns and save it again.") % {"max": MAX_COLUMNS})


def check_workbook(data: bytes, *, max_lines: int) -> None:
    """Refuse a workbook too large to parse, from its zip directory alone.

    `max_lines` is the most lines (header and blank lines included) a sheet may have.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_sizes(archive.infolist())
            sheet, count = _first_sheet(archive)
            if count > MAX_SHEETS:
                raise ValidationError(_("The workbook has %(count)d sheets, at most %(max)d "
                                        "are allowed: put the clients in a workbook of "
                                        "their own.") % {"count": count, "max": MAX_SHEETS})
            _check_dimension(archive, sheet, max_lines)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError):
        raise _unreadable() from None
