"""Which phone numbers a client record takes: a mainland mobile, or any number written with
its + country code. One rule for the client form and the spreadsheet import."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")
WITH_COUNTRY_CODE = re.compile(r"\+[1-9]\d{6,14}")  # E.164: at most 15 digits after the +
_SEPARATORS = re.compile(r"[\s\-().]")

MESSAGE = _("Enter a mainland mobile number (11 digits, starting 13 to 19) or a number with "
            "its country code, such as +852 5678 9000.")


def compact(text: str) -> str:
    """The number without spaces, dashes, dots or brackets (full-width digits folded)."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))


def validate_phone(text: str) -> None:
    number = compact(text)
    if not (number.isascii() and (MAINLAND_MOBILE.fullmatch(number)
                                  or WITH_COUNTRY_CODE.fullmatch(number))):
        raise ValidationError(MESSAGE, code="invalid_phone")
