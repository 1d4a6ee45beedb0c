"""Encrypted fields: ciphertext at rest, ‹sealed› outside a scope, bound to their place."""

from __future__ import annotations

import datetime as dt
import json
import logging
import pickle
from decimal import Decimal

import pytest
from django.core import serializers
from django.core.exceptions import FieldError
from django.db import connections, transaction
from django.forms.models import model_to_dict

from access import door
from records import services
from records.models import BeautyProfile, Client, HealthNote, Treatment
from vault import aead, scope
from vault.classes import DataClass
from vault.errors import IntegrityError, SealedError
from vault.scope import SEALED_TEXT, Sealed

PLAINTEXTS = ["李娜", "13812345678", "lina@example.cn", "1991-03-14", "对PPD染发剂过敏", "混合性"]


def db_value(pk):
    return Client._meta.pk.get_db_prep_value(pk, connections["default"])


# -- sealed outside a scope ---------------------------------------------------------------
@pytest.mark.parametrize("show", [
    repr, str, "{}".format, "{!s}".format, "{:>20}".format, lambda v: f"{v}", lambda v: f"{v!r}",
    lambda v: "%s" % (v,), lambda v: "%r" % (v,),  # noqa: UP031
    lambda v: str([v]), lambda v: str({"k": v}),
])
@pytest.mark.parametrize("name", ["full_name", "phone", "email", "birthday"])
def test_an_encrypted_attribute_prints_sealed_outside_a_scope(client_record, fresh, show, name):
    value = getattr(fresh(client_record), name)
    assert isinstance(value, Sealed)
    text = show(value)
    assert SEALED_TEXT in text
    assert not any(p in text for p in PLAINTEXTS)


def test_health_and_profile_notes_print_sealed_outside_a_scope(client_record):
    assert repr(HealthNote.objects.get(client=client_record).allergies) == SEALED_TEXT
    assert str(BeautyProfile.objects.get(client=client_record).skin_type) == SEALED_TEXT


def test_a_sealed_value_cannot_be_turned_into_json(client_record, fresh):
    with pytest.raises(TypeError):
        json.dumps({"name": fresh(client_record).full_name})


def test_a_sealed_value_and_a_client_holding_one_cannot_be_pickled(client_record, fresh):
    client = fresh(client_record)
    with pytest.raises(TypeError):
        pickle.dumps(client.full_name)
    with pytest.raises(TypeError):
        pickle.dumps(client)


def test_a_sealed_value_cannot_be_concatenated_into_text(client_record, fresh):
    with pytest.raises(TypeError):
        "name: " + fresh(client_record).full_name  # noqa: B018
    with pytest.raises(TypeError):
        ", ".join([fresh(client_record).full_name])


def test_a_log_line_shows_sealed(client_record, fresh, caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("salon.test").info("client %s phone %r", fresh(client_record).full_name,
                                             fresh(client_record).phone)
    assert "‹sealed›" in caplog.text
    assert not any(p in caplog.text for p in PLAINTEXTS)


def test_django_serializers_and_model_to_dict_show_sealed(client_record, fresh):
    text = serializers.serialize("json", [fresh(client_record)])
    assert "‹sealed›" in text
    assert not any(p in text for p in PLAINTEXTS)
    data = model_to_dict(fresh(client_record))
    assert not any(p in str(data) for p in PLAINTEXTS)


def test_values_list_and_values_yield_sealed_values(client_record):
    (name,) = Client.objects.filter(pk=client_record.pk).values_list("full_name", flat=True)
    assert isinstance(name, Sealed) and repr(name) == SEALED_TEXT
    (row,) = Client.objects.filter(pk=client_record.pk).values("phone", "birthday")
    assert all(isinstance(v, Sealed) for v in row.values())


def test_values_list_stays_sealed_even_inside_a_scope(client_record, system_scope):
    with system_scope(client_record.pk):
        (name,) = Client.objects.filter(pk=client_record.pk).values_list("full_name", flat=True)
    assert isinstance(name, Sealed)


def test_an_empty_field_is_stored_as_null_and_reads_as_none(make_client, system_scope, fresh):
    client = make_client(full_name="无邮箱", email="")
    assert fresh(client).email is None
    with system_scope(client.pk):
        assert fresh(client).email is None


def test_the_instance_a_service_returns_is_sealed_once_its_scope_has_closed(client_record):
    # The record was written inside the door's scope; after it closed, the same instance must
    # not hand out plaintext ("Reading a model instance outside an access context yields a
    # sealed value").
    assert scope.current() is None
    for name in ("full_name", "phone", "email", "birthday"):
        value = getattr(client_record, name)
        assert not any(p in repr(value) for p in PLAINTEXTS), name


# -- at rest ------------------------------------------------------------------------------
def _all_cells(alias):
    connection = connections[alias]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for cell in row:
                    yield table, cell


def _holds(cell, text: str) -> bool:
    if isinstance(cell, str):
        return text in cell
    if isinstance(cell, bytes | bytearray | memoryview):
        return text.encode() in bytes(cell)
    return False


def test_the_stored_columns_hold_ciphertext_not_plaintext(client_record):
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT full_name, phone, email, birthday FROM records_client WHERE id = %s",
                       [db_value(client_record.pk)])
        cells = [bytes(c) for c in cursor.fetchone()]
        cursor.execute("SELECT allergies FROM records_healthnote")
        cells += [bytes(c) for (c,) in cursor.fetchall()]
    for cell, plain in zip(cells, ["李娜", "13812345678", "lina@example.cn", "1991-03-14",
                                   "对PPD染发剂过敏"], strict=False):
        assert plain.encode() not in cell
        assert aead.key_id(cell).subject == client_record.pk
    assert len(cells) == 5


@pytest.mark.parametrize("alias", ["default", "vault"])
def test_no_table_in_either_database_holds_the_clients_plaintext(client_record, alias):
    leaks = [(table, p) for table, cell in _all_cells(alias) for p in PLAINTEXTS
             if _holds(cell, p)]
    assert leaks == []


# -- bound to model, field and row ---------------------------------------------------------
def test_a_ciphertext_copied_to_another_clients_row_fails_to_decrypt(make_client, system_scope,
                                                                     fresh):
    a, b = make_client(full_name="甲方"), make_client(full_name="乙方")
    Client.objects.filter(pk=b.pk).update(full_name=fresh(a).full_name)
    with system_scope(a.pk, b.pk), pytest.raises(IntegrityError):
        fresh(b).full_name  # noqa: B018


def test_a_ciphertext_copied_to_another_row_fails_even_after_the_original_was_read(
        make_client, system_scope, fresh):
    # A list page opens many clients in one scope; reading the genuine row first must not
    # let the copy borrow its plaintext from the scope's cache.
    a, b = make_client(full_name="甲方"), make_client(full_name="乙方")
    Client.objects.filter(pk=b.pk).update(full_name=fresh(a).full_name)
    with system_scope(a.pk, b.pk):
        assert fresh(a).full_name == "甲方"
        with pytest.raises(IntegrityError):
            fresh(b).full_name  # noqa: B018


def test_a_ciphertext_copied_with_raw_sql_to_another_row_fails_to_decrypt(make_client,
                                                                          system_scope, fresh):
    a, b = make_client(full_name="甲方"), make_client(full_name="乙方")
    (blob,) = Client.objects.filter(pk=a.pk).values_list("phone", flat=True)
    with connections["default"].cursor() as cursor:
        cursor.execute("UPDATE records_client SET phone = %s WHERE id = %s",
                       [blob.blob, db_value(b.pk)])
    with system_scope(a.pk, b.pk), pytest.raises(IntegrityError):
        fresh(b).phone  # noqa: B018


@pytest.mark.parametrize("read_original_first", [False, True])
def test_a_ciphertext_copied_to_another_row_of_the_same_client_fails_to_decrypt(
        client_record, owner, system_scope, read_original_first):
    first = services.treatment_add(actor=owner, client=client_record,
                                   performed_on=dt.date(2025, 1, 2), service="剪发")
    second = services.treatment_add(actor=owner, client=client_record,
                                    performed_on=dt.date(2025, 2, 3), service="染发")
    (blob,) = Treatment.objects.filter(pk=first.pk).values_list("service", flat=True)
    Treatment.objects.filter(pk=second.pk).update(service=blob)
    with system_scope(client_record.pk):
        if read_original_first:
            assert Treatment.objects.get(pk=first.pk).service == "剪发"
        with pytest.raises(IntegrityError):
            Treatment.objects.get(pk=second.pk).service  # noqa: B018


@pytest.mark.parametrize("read_original_first", [False, True])
def test_a_ciphertext_copied_to_another_field_of_the_same_row_fails_to_decrypt(
        client_record, system_scope, fresh, read_original_first):
    Client.objects.filter(pk=client_record.pk).update(phone=fresh(client_record).full_name)
    with system_scope(client_record.pk):
        client = fresh(client_record)
        if read_original_first:
            assert client.full_name == "李娜"
        with pytest.raises(IntegrityError):
            client.phone  # noqa: B018


def test_a_ciphertext_copied_to_the_same_field_of_another_model_fails_to_decrypt(
        client_record, system_scope):
    # BeautyProfile.skin_type and HealthNote.allergies belong to the same client.
    (blob,) = BeautyProfile.objects.filter(client=client_record).values_list("skin_type",
                                                                               flat=True)
    HealthNote.objects.filter(client=client_record).update(allergies=blob)
    with system_scope(client_record.pk), pytest.raises(IntegrityError):
        HealthNote.objects.get(client=client_record).allergies  # noqa: B018


@pytest.mark.parametrize("part", ["magic", "version", "subject", "generation", "nonce",
                                  "ciphertext", "tag"])
def test_damage_to_any_part_of_a_stored_ciphertext_is_reported_as_an_integrity_failure(
        client_record, system_scope, fresh, part):
    blob = bytearray(fresh(client_record).full_name.blob)
    index = {"magic": 0, "version": 2, "subject": 10, "generation": 20, "nonce": 25,
             "ciphertext": aead.HEADER_BYTES + aead.NONCE_BYTES, "tag": len(blob) - 1}[part]
    blob[index] ^= 0x01
    Client.objects.filter(pk=client_record.pk).update(full_name=bytes(blob))
    with system_scope(client_record.pk), pytest.raises(IntegrityError):
        fresh(client_record).full_name  # noqa: B018


# -- writing and querying -----------------------------------------------------------------
def test_writing_an_encrypted_field_outside_a_scope_raises_sealed_error(client_record, fresh):
    client = fresh(client_record)
    before = fresh(client_record).full_name
    client.full_name = "偷改"
    with pytest.raises(SealedError), transaction.atomic():
        client.save()
    assert fresh(client_record).full_name == before  # the stored ciphertext is unchanged
    with pytest.raises(SealedError), transaction.atomic():
        Client.objects.create(code="BJ-X", location=client_record.location, full_name="新客")
    assert not Client.objects.filter(code="BJ-X").exists()


def test_writing_beyond_the_scopes_ceiling_raises_sealed_error(client_record, receptionist):
    health = HealthNote.objects.get(client=client_record)
    with door.open_client(user=receptionist, client=client_record, purpose="test"):
        health.allergies = "无"
        with pytest.raises(SealedError):
            health.save()


def test_updating_an_encrypted_column_with_plaintext_raises_sealed_error(client_record):
    with pytest.raises(SealedError):
        Client.objects.filter(pk=client_record.pk).update(full_name="明文")


def test_a_loaded_client_can_be_saved_outside_a_scope_without_touching_its_ciphertext(
        client_record, fresh):
    before = Client.objects.filter(pk=client_record.pk).values().get()
    client = fresh(client_record)
    client.last_visit = dt.date(2025, 6, 1)
    client.save()
    after = Client.objects.filter(pk=client_record.pk).values().get()
    for name in ("full_name", "phone", "email", "birthday", "name_bidx", "surname_bidx",
                 "phone_bidx", "phone_last4_bidx", "email_bidx"):
        assert after[name] == before[name], name
    assert after["last_visit"] == dt.date(2025, 6, 1)


@pytest.mark.parametrize("lookup", [
    {"full_name": "李娜"}, {"full_name__exact": "李娜"}, {"full_name__iexact": "李娜"},
    {"full_name__icontains": "李"}, {"full_name__startswith": "李"}, {"phone__in": ["1"]},
    {"birthday__year": 1991}, {"email__endswith": ".cn"}, {"full_name__gt": "a"},
])
def test_querying_an_encrypted_field_raises_field_error(client_record, lookup):
    with pytest.raises(FieldError, match="blind index"):
        list(Client.objects.filter(**lookup))


def test_only_isnull_may_be_asked_of_an_encrypted_field(client_record, make_client):
    no_mail = make_client(full_name="无邮箱")
    assert list(Client.objects.filter(email__isnull=True)) == [no_mail]
    assert client_record in Client.objects.filter(email__isnull=False)


# -- types ---------------------------------------------------------------------------------
def test_date_decimal_and_json_fields_round_trip_their_types(client_record, owner,
                                                             system_scope, fresh):
    treatment = services.treatment_add(
        actor=owner, client=client_record, performed_on=dt.date(2025, 5, 1), service="染发",
        products=["欧莱雅 6.0", {"name": "双氧乳", "ml": 60}], price=Decimal("388.50"))
    with system_scope(client_record.pk):
        client = fresh(client_record)
        loaded = Treatment.objects.get(pk=treatment.pk)
        assert client.birthday == dt.date(1991, 3, 14)
        assert type(client.birthday) is dt.date
        assert loaded.price == Decimal("388.50") and isinstance(loaded.price, Decimal)
        assert str(loaded.price) == "388.50"
        assert loaded.products == ["欧莱雅 6.0", {"name": "双氧乳", "ml": 60}]
        assert loaded.service == "染发"


def test_values_written_as_text_read_back_as_their_type_inside_the_same_scope(
        client_record, owner, system_scope, fresh):
    # An import writes "1991-03-14" and "388"; reading back must give a date and a Decimal
    # whether or not the value was written in this same scope.
    with system_scope(client_record.pk):
        client = fresh(client_record)
        client.birthday = "1990-01-02"
        client.save()
        treatment = Treatment.objects.create(client=client_record, performed_on=dt.date(2025, 1, 1),
                                             service="护理", price="388", products=[])
        assert fresh(client).birthday == dt.date(1990, 1, 2)
        assert Treatment.objects.get(pk=treatment.pk).price == Decimal("388")
        assert isinstance(Treatment.objects.get(pk=treatment.pk).price, Decimal)
    with system_scope(client_record.pk):  # and in a later scope too
        assert fresh(client).birthday == dt.date(1990, 1, 2)
        assert isinstance(Treatment.objects.get(pk=treatment.pk).price, Decimal)


def test_a_datetime_written_to_a_date_field_reads_back_as_its_date(client_record, owner,
                                                                  system_scope, fresh):
    # Django's own DateField accepts a datetime and keeps its date; a sealed date that can
    # never be decoded again would break the client's page for good.
    services.client_update(actor=owner, client=fresh(client_record),
                           data={"birthday": dt.datetime(1990, 1, 2, 10, 30)})
    with system_scope(client_record.pk):
        assert fresh(client_record).birthday == dt.date(1990, 1, 2)


@pytest.mark.parametrize("text", ["", "a", "😀 emoji", "O'Brien; DROP TABLE records_client;--",
                                  "<script>alert(1)</script>", "x" * 5000, "\x00nul"])
def test_arbitrary_text_round_trips_through_an_encrypted_field(client_record, owner,
                                                               system_scope, text):
    treatment = services.treatment_add(actor=owner, client=client_record,
                                       performed_on=dt.date(2025, 1, 1), service="护理",
                                       notes=text)
    with system_scope(client_record.pk):
        assert Treatment.objects.get(pk=treatment.pk).notes == (text or None)


# -- ceilings and the door's scope ---------------------------------------------------------
def test_a_contact_ceiling_opens_contact_fields_but_not_profile_or_health(client_record,
                                                                          receptionist, fresh):
    with door.open_client(user=receptionist, client=client_record, purpose="front desk"):
        client = fresh(client_record)
        assert client.full_name == "李娜"
        assert client.phone == "13812345678"
        assert client.birthday == dt.date(1991, 3, 14)
        assert isinstance(client.health.allergies, Sealed)
        assert isinstance(client.profile.skin_type, Sealed)
        assert repr(client.health.allergies) == SEALED_TEXT


def test_an_l4_ceiling_opens_health_notes(client_record, stylist, fresh):
    with door.open_client(user=stylist, client=client_record, purpose="consultation"):
        client = fresh(client_record)
        assert client.health.allergies == "对PPD染发剂过敏"
        assert client.profile.skin_type == "混合性"


def test_a_scope_covers_only_the_clients_it_names(make_client, system_scope, fresh):
    a, b = make_client(full_name="甲方"), make_client(full_name="乙方")
    with system_scope(a.pk):
        assert fresh(a).full_name == "甲方"
        assert isinstance(fresh(b).full_name, Sealed)


def test_the_doors_scope_closes_after_the_with_block(client_record, owner, fresh):
    assert scope.current() is None
    with door.open_client(user=owner, client=client_record, purpose="look up"):
        assert scope.current() is not None
        inside = fresh(client_record)
        assert inside.full_name == "李娜"
    assert scope.current() is None
    assert isinstance(fresh(client_record).full_name, Sealed)
    assert isinstance(inside.full_name, Sealed)  # the instance read inside is sealed again


def test_the_doors_scope_closes_when_the_block_raises(client_record, owner, fresh):
    with pytest.raises(RuntimeError), door.open_client(user=owner, client=client_record,
                                                       purpose="look up"):
        assert fresh(client_record).full_name == "李娜"
        raise RuntimeError("view crashed")
    assert scope.current() is None
    assert isinstance(fresh(client_record).full_name, Sealed)


def test_a_denied_opening_opens_no_scope(client_record, outsider):
    with pytest.raises(door.AccessDenied), door.open_client(user=outsider, client=client_record,
                                                            purpose="snoop"):
        pytest.fail("the scope must not open")
    assert scope.current() is None


def test_an_auditor_can_open_nothing(client_record, auditor, fresh):
    with pytest.raises(door.AccessDenied), door.open_client(user=auditor, client=client_record,
                                                            purpose="review"):
        pytest.fail("the scope must not open")


def test_a_list_opening_shows_contact_data_only(make_client, stylist, owner, fresh):
    a = make_client(full_name="甲方", allergies="花粉", assigned_staff=stylist)
    with door.open_clients(user=stylist, clients=[a], purpose="list"):
        client = fresh(a)
        assert client.full_name == "甲方"
        assert isinstance(client.health.allergies, Sealed)


def test_encrypted_field_data_classes_are_declared():
    assert Client._meta.get_field("full_name").data_class == DataClass.L2
    assert HealthNote._meta.get_field("allergies").data_class == DataClass.L4
    assert Treatment._meta.get_field("price").data_class == DataClass.L3
    from vault.fields import EncryptedTextField

    with pytest.raises(ValueError):
        EncryptedTextField(data_class=DataClass.L1)
