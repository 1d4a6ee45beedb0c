"""Blind indexes: keyed HMACs of normalised values, so search never decrypts a table.

The index key comes from the keyring and is not a data key. Each index kind is mixed into
the MAC so equal values of different kinds (a phone and a name) never collide.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from . import keyring

DIGEST_CHARS = 32

# Two-character Chinese surnames common enough to matter for search.
COMPOUND_SURNAMES = frozenset(
    ["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "轩辕", "令狐", "钟离", "端木", "独孤", "南宫", "西门", "万俟", "闻人", "呼延", "澹台", "公冶", "太史", "申屠", "赫连", "拓跋"]
)


# The kinds of blind index: each names its normaliser and keys its own HMAC (the kind is
# part of what is hashed), so a phone digest never matches a name digest.
PHONE, PHONE_LAST4, NAME, SURNAME, EMAIL = "phone", "phone_last4", "name", "surname", "email"

def digest(kind: str, normalised: str) -> str:
    mac = hmac.new(keyring.provider().index_key(), digestmod=hashlib.sha256)
    mac.update(kind.encode() + b"\x00" + normalised.encode())
    return mac.hexdigest()[:DIGEST_CHARS]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def normalise_phone(value: str) -> str:
    digits = re.sub(r"\D", "", _fold(value))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix):]
    return digits


def normalise_name(value: str) -> str:
    return re.sub(r"[\s·•.\-]+", "", _fold(value))


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def surname_of(value: str) -> str:
    folded = _fold(value).strip()
    if not folded:
        return ""
    if _is_cjk(folded):
        name = normalise_name(folded)
        return name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]
    # Latin names: "Wei Zhang" or "Zhang, Wei"; a comma marks the family name first.
    if "," in folded:
        return normalise_name(folded.split(",", 1)[0])
    return normalise_name(folded.split()[-1])


def normalise_email(value: str) -> str:
    return _fold(value).strip()


def terms(kind: str, value: str | None) -> str:
    """The index value of one kind for one plaintext, or "" when there is nothing to index."""
    if not value:
        return ""
    normalised = NORMALISERS[kind](value)
    if kind == PHONE_LAST4:
        normalised = normalise_phone(value)[-4:] if len(normalise_phone(value)) >= 4 else ""
    return digest(kind, normalised) if normalised else ""


NORMALISERS = {
    PHONE: normalise_phone,
    PHONE_LAST4: normalise_phone,
    NAME: normalise_name,
    SURNAME: surname_of,
    EMAIL: normalise_email,
}
