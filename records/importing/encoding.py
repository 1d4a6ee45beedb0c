"""The text encoding of a CSV upload: UTF-8 or GB18030, or a refusal that names the likely one.

GB18030 decodes almost any byte string without an error: a Big5 or Shift_JIS file read
as GB18030 gives wrong characters, and the import would store garbled names. So a file that
is not UTF-8 is read as GB18030 only when charset-normalizer, which weighs how plausible the
characters are, counts GB18030 among the encodings that could have produced it.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

_BOMS = ((codecs.BOM_UTF32_LE, "utf_32"), (codecs.BOM_UTF32_BE, "utf_32"),
         (codecs.BOM_UTF16_LE, "utf_16"), (codecs.BOM_UTF16_BE, "utf_16"))
_CHINESE_MAINLAND = {"gb18030", "gbk", "gb2312", "hz"}
# Python's codec names as people know them from the "Save as" menus.
_NAMES = {
    "utf_16": "UTF-16", "utf_16_le": "UTF-16", "utf_16_be": "UTF-16", "utf_32": "UTF-32",
    "utf_32_le": "UTF-32", "utf_32_be": "UTF-32",
    "big5": gettext_lazy("Big5 (Traditional Chinese)"),
    "big5hkscs": gettext_lazy("Big5 (Traditional Chinese)"),
    "cp950": gettext_lazy("Big5 (Traditional Chinese)"),
    "shift_jis": gettext_lazy("Shift_JIS (Japanese)"), "cp932": gettext_lazy("Shift_JIS (Japanese)"),
    "shift_jis_2004": gettext_lazy("Shift_JIS (Japanese)"),
    "euc_jp": gettext_lazy("EUC-JP (Japanese)"), "euc_jis_2004": gettext_lazy("EUC-JP (Japanese)"),
    "cp949": gettext_lazy("EUC-KR (Korean)"), "euc_kr": gettext_lazy("EUC-KR (Korean)"),
    "johab": gettext_lazy("EUC-KR (Korean)"),
}
# Detection reads samples of the file, not all of it: a 20 MB file is sized up quickly.
_DETECT = {"steps": 8, "chunk_size": 4096}


def _refuse(encoding: str | None) -> ValidationError:
    if encoding is None:
        return ValidationError(_("The file is not readable text in UTF-8 or GB18030, and its "
                                 "encoding could not be recognised: save it again as CSV "
                                 "(UTF-8)."))
    name = _NAMES.get(encoding) or encoding.replace("_", "-").upper()
    return ValidationError(_("The file seems to be saved in %(encoding)s, not in UTF-8 or "
                             "GB18030: names would be garbled. Save it again as CSV (UTF-8).")
                           % {"encoding": name})


def _utf16_without_bom(data: bytes) -> bool:
    """Text of two bytes a character: one of each pair is zero for Latin text and digits."""
    sample = data[:4096] if len(data) % 2 == 0 else data[:4095]
    if sample.count(0) < len(sample) // 8:  # commas, digits and line ends are ASCII
        return False
    for encoding in ("utf_16_le", "utf_16_be"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        if text and sum(c.isprintable() or c in "\r\n\t" for c in text) > 0.95 * len(text):
            return True
    return False


def decode_csv(data: bytes) -> str:
    """The text of a CSV file in UTF-8 (with or without a BOM) or GB18030; else refuse."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise _refuse(encoding)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text
    if _utf16_without_bom(data):
        raise _refuse("utf_16")
    guesses = from_bytes(data, **_DETECT)
    plausible = {match.encoding for match in guesses}
    if plausible & _CHINESE_MAINLAND:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text:
            return text
    best = guesses.best()
    raise _refuse(best.encoding if best is not None else None)
