"""Blind indexes: keyed HMACs of normalised values, so search never decrypts a table."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from records import selectors, services
from records.models import Client
from vault import blind, keyring, keystore
from vault.models import DataKey

HEX32 = re.compile(r"[0-9a-f]{32}")
KINDS = sorted(blind.NORMALISERS)


# -- normalisation --------------------------------------------------------------------------
@pytest.mark.parametrize("written", ["13812345678", "+86 138-1234-5678", "0086 138 1234 5678",
                                     "86-13812345678", "(138) 1234 5678", "１３８１２３４５６７８"])
def test_phone_numbers_written_any_way_index_the_same(written):
    assert blind.normalise_phone(written) == "13812345678"
    assert blind.terms("phone", written) == blind.terms("phone", "13812345678")


def test_different_phone_numbers_index_differently():
    assert blind.terms("phone", "13812345678") != blind.terms("phone", "13812345679")


def test_the_last_four_digits_index_the_same_as_the_full_number_does():
    assert blind.terms("phone_last4", "+86 138-1234-5678") == blind.terms("phone_last4", "5678")
    assert blind.terms("phone_last4", "5678") != blind.terms("phone_last4", "5679")
    assert blind.terms("phone_last4", "5678") != blind.terms("phone", "5678")
    assert blind.terms("phone_last4", "123") == ""


@pytest.mark.parametrize("full,surname", [
    ("张伟", "张"), ("欧阳娜娜", "欧阳"), ("司马懿", "司马"), ("诸葛亮", "诸葛"), ("王芳", "王"),
    ("Wei Zhang", "zhang"), ("Zhang, Wei", "zhang"), ("  ANNA   LEE ", "lee"),
    ("Mary-Jane O'Neil", "o'neil"),
])
def test_the_surname_is_found_in_chinese_and_latin_names(full, surname):
    assert blind.surname_of(full) == surname
    assert blind.terms("surname", full) == blind.terms("surname", surname)


def test_a_compound_surname_is_not_mistaken_for_a_single_one():
    assert blind.terms("surname", "欧阳娜娜") != blind.terms("surname", "欧")


@pytest.mark.parametrize("variant", ["Wei Zhang", "wei zhang", "WEI  ZHANG", "Wei-Zhang",
                                     " wei\tzhang ", "Ｗｅｉ Ｚｈａｎｇ"])
def test_full_names_ignore_case_spacing_and_width(variant):
    assert blind.terms("name", variant) == blind.terms("name", "weizhang")


def test_chinese_names_with_a_middle_dot_index_the_same():
    assert blind.terms("name", "阿依古丽·买买提") == blind.terms("name", "阿依古丽买买提")


@pytest.mark.parametrize("variant", ["LiNa@Example.CN", "lina@example.cn", " LINA@EXAMPLE.CN "])
def test_email_addresses_are_case_insensitive(variant):
    assert blind.terms("email", variant) == blind.terms("email", "lina@example.cn")


def test_an_empty_value_has_no_index():
    for kind in KINDS:
        assert blind.terms(kind, "") == ""
        assert blind.terms(kind, None) == ""


# -- the index value itself -----------------------------------------------------------------
def test_an_index_value_is_a_short_hex_digest_that_shows_no_plaintext():
    for kind, value in [("phone", "13812345678"), ("name", "李娜"), ("surname", "李娜"),
                        ("email", "lina@example.cn"), ("name", "lina")]:
        term = blind.terms(kind, value)
        assert HEX32.fullmatch(term), term
        assert blind.NORMALISERS[kind](value) not in term


def test_the_stored_index_columns_hold_no_plaintext(client_record):
    row = Client.objects.filter(pk=client_record.pk).values(
        "name_bidx", "surname_bidx", "phone_bidx", "phone_last4_bidx", "email_bidx").get()
    for name, term in row.items():
        assert HEX32.fullmatch(term), name
        for plain in ("李娜", "李", "13812345678", "lina", "example"):
            assert plain not in term
    assert len(set(row.values())) == 5


def test_another_index_key_gives_other_index_values(other_ring):
    mine = {kind: blind.terms(kind, "13812345678") for kind in KINDS}
    current = keyring.provider()
    other_ring(keyring.Keyring(primary=current.primary, keks=dict(current.keks),
                               index=bytes(32)))
    theirs = {kind: blind.terms(kind, "13812345678") for kind in KINDS}
    assert all(mine[k] != theirs[k] for k in KINDS)


def test_the_index_key_is_not_a_data_key_or_a_kek(client_record):
    ring = keyring.provider()
    assert ring.index_key() not in [ring.kek(v) for v in ring.versions()]
    assert keystore.unwrap(DataKey.objects.get(subject_id=client_record.pk)) != ring.index_key()


@given(st.text(max_size=60))
def test_the_index_is_deterministic(text):
    for kind in KINDS:
        assert blind.terms(kind, text) == blind.terms(kind, text)


@given(st.text(min_size=1, max_size=60))
def test_the_index_separates_kinds(text):
    # The same text indexed as a phone, a name, a surname or an email never collides.
    digests = [blind.digest(kind, text) for kind in KINDS]
    assert len(set(digests)) == len(KINDS)


@given(st.text(alphabet="0123456789", min_size=4, max_size=15))
def test_the_same_digits_as_a_phone_and_as_a_name_give_different_digests(digits):
    assert blind.terms("phone", digits) != blind.terms("name", digits)
    assert blind.terms("phone", digits) != blind.terms("phone_last4", digits)


@given(st.text(max_size=40), st.text(max_size=40))
def test_different_normalised_values_give_different_digests(a, b):
    if a != b:
        assert blind.digest("name", a) != blind.digest("name", b)


# -- search ---------------------------------------------------------------------------------
@pytest.fixture
def clients(make_client, client_record):
    return {
        "李娜": client_record,
        "张伟": make_client(full_name="张伟", phone="+86 139-0000-1111", email="zw@example.cn"),
        "欧阳娜娜": make_client(full_name="欧阳娜娜", phone="13700002222"),
        "Wei Zhang": make_client(full_name="Wei Zhang", phone="13600003333",
                                 email="Wei.Zhang@Example.com"),
    }


@pytest.mark.parametrize("q,expected,kind", [
    ("13812345678", ["李娜"], "phone"),
    ("+86 138-1234-5678", ["李娜"], "phone"),
    ("138 1234 5678", ["李娜"], "phone"),
    ("5678", ["李娜"], "phone_last4"),
    ("1111", ["张伟"], "phone_last4"),
    ("13900001111", ["张伟"], "phone"),
    ("李娜", ["李娜"], "name"),
    ("张伟", ["张伟"], "name"),
    ("张", ["张伟"], "name"),
    ("欧阳", ["欧阳娜娜"], "name"),
    ("欧阳娜娜", ["欧阳娜娜"], "name"),
    ("wei zhang", ["Wei Zhang"], "name"),
    ("Zhang", ["Wei Zhang"], "name"),
    ("LINA@example.CN", ["李娜"], "email"),
    ("wei.zhang@example.com", ["Wei Zhang"], "email"),
])
def test_search_finds_the_right_client_by_each_kind(clients, owner, q, expected, kind):
    found_kind, found = selectors.client_search(owner, q)
    assert found_kind == kind
    assert sorted(c.pk for c in found) == sorted(clients[name].pk for name in expected)


@pytest.mark.parametrize("q", ["13812345670", "+86 135-0000-9999", "0000", "王五", "赵",
                               "nobody@example.cn", "Li"])
def test_search_finds_nothing_for_a_stranger(clients, owner, q):
    _kind, found = selectors.client_search(owner, q)
    assert list(found) == []


def test_search_only_finds_clients_the_user_may_see(clients, outsider, auditor):
    assert list(selectors.client_search(outsider, "13812345678")[1]) == []
    assert list(selectors.client_search(auditor, "李娜")[1]) == []


def test_search_never_unwraps_a_data_key(clients, owner, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("search must not decrypt")

    monkeypatch.setattr(keystore, "load", refuse)
    monkeypatch.setattr(keystore, "unwrap", refuse)
    for q in ("13812345678", "5678", "李娜", "张", "lina@example.cn"):
        assert len(list(selectors.client_search(owner, q)[1])) == 1


def test_changing_a_phone_number_moves_its_index(client_record, owner):
    services.client_update(actor=owner, client=Client.objects.get(pk=client_record.pk),
                           data={"phone": "13511112222"})
    assert list(selectors.client_search(owner, "13812345678")[1]) == []
    assert list(selectors.client_search(owner, "5678")[1]) == []
    assert [c.pk for c in selectors.client_search(owner, "13511112222")[1]] == [client_record.pk]
    assert [c.pk for c in selectors.client_search(owner, "2222")[1]] == [client_record.pk]


def test_clearing_an_email_clears_its_index(client_record, owner):
    services.client_update(actor=owner, client=Client.objects.get(pk=client_record.pk),
                           data={"email": ""})
    assert Client.objects.get(pk=client_record.pk).email_bidx == ""
    assert list(selectors.client_search(owner, "lina@example.cn")[1]) == []
