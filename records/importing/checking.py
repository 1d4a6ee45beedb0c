"""Checking the rows of a spreadsheet: each value on its own, then duplicates within the
file. Errors name the line, the column and the reason, never the value."""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from records.phones import validate_phone
from vault import blind

from .columns import LABELS, MAX_LENGTHS
from .reading import _text

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                   r"(?:\s+0{1,2}:00(?::00)?)?")


class RowError(NamedTuple):
    """One problem: spreadsheet line, column label, reason. Never the cell's value."""

    line: int
    column: str
    message: str


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
        validate_phone(text)
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
