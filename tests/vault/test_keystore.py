"""Per-client data keys: wrapped by a KEK, kept in the `vault` database, shreddable."""

from __future__ import annotations

import uuid

import pytest
from django.db import connections, transaction

from records.models import Client, HealthNote, Treatment
from vault import keyring, keystore
from vault.errors import IntegrityError, KeyringError, ShreddedError
from vault.models import DataKey, ShredRecord
from vault.routers import VaultRouter


def keys_of(subject) -> list[DataKey]:
    return list(DataKey.objects.filter(subject_id=subject))


def test_creating_a_client_creates_one_data_key_in_the_vault_database(client_record):
    (key,) = keys_of(client_record.pk)
    assert key._state.db == "vault"
    assert key.generation == 1
    assert key.kek_version == keyring.provider().primary_version()
    assert len(keystore.unwrap(key)) == 32


def test_the_key_table_exists_only_in_the_vault_database():
    default = connections["default"].introspection.table_names()
    vault = connections["vault"].introspection.table_names()
    assert DataKey._meta.db_table in vault
    assert not [t for t in default if "datakey" in t.lower()]
    # the shred ledger lives with the data, not with the keys
    assert ShredRecord._meta.db_table in default
    assert ShredRecord._meta.db_table not in vault
    # and no client data lives in the key store
    assert Client._meta.db_table not in vault


def test_the_router_sends_data_keys_to_the_vault_and_everything_else_to_default():
    router = VaultRouter()
    assert router.db_for_read(DataKey) == router.db_for_write(DataKey) == "vault"
    assert router.db_for_write(ShredRecord) == "default"
    assert router.db_for_write(Client) == "default"
    assert router.allow_migrate("vault", "vault", "datakey")
    assert not router.allow_migrate("default", "vault", "datakey")
    assert not router.allow_migrate("vault", "records", "client")


def test_the_data_key_is_stored_wrapped_never_in_the_clear(client_record):
    (key,) = keys_of(client_record.pk)
    dek = keystore.unwrap(key)
    with connections["vault"].cursor() as cursor:
        cursor.execute(f"SELECT wrapped FROM {DataKey._meta.db_table}")  # noqa: S608
        stored = b"".join(bytes(row[0]) for row in cursor.fetchall())
    assert dek not in stored
    assert dek[:16] not in stored and dek[16:] not in stored
    assert len(bytes(key.wrapped)) == 12 + 32 + 16  # nonce + key + tag


def test_each_client_has_its_own_data_key(make_client):
    a, b = make_client(full_name="甲"), make_client(full_name="乙")
    assert keystore.unwrap(keys_of(a.pk)[0]) != keystore.unwrap(keys_of(b.pk)[0])


def test_unwrapping_with_a_kek_missing_from_the_keyring_raises_keyring_error(
        client_record, other_ring):
    (key,) = keys_of(client_record.pk)
    other_ring(keyring.Keyring(primary=2, keks={2: b"n" * 32}, index=b"i" * 32))
    with pytest.raises(KeyringError, match="version 1"):
        keystore.unwrap(key)


def test_unwrapping_with_the_wrong_kek_of_the_same_version_fails_integrity(
        client_record, other_ring):
    (key,) = keys_of(client_record.pk)
    other_ring(keyring.Keyring(primary=1, keks={1: b"n" * 32}, index=b"i" * 32))
    with pytest.raises(IntegrityError):
        keystore.unwrap(key)


def test_a_wrapped_key_moved_to_another_subject_or_generation_fails_to_unwrap(client_record):
    (key,) = keys_of(client_record.pk)
    moved = DataKey(subject_id=uuid.uuid4(), generation=1, kek_version=key.kek_version,
                    wrapped=key.wrapped)
    with pytest.raises(IntegrityError):
        keystore.unwrap(moved)
    regenerated = DataKey(subject_id=key.subject_id, generation=2, kek_version=key.kek_version,
                          wrapped=key.wrapped)
    with pytest.raises(IntegrityError):
        keystore.unwrap(regenerated)


def test_wrap_uses_the_primary_kek_unless_told_otherwise(other_ring):
    ring = other_ring(keyring.Keyring(primary=2, keks={1: b"a" * 32, 2: b"b" * 32},
                                      index=b"i" * 32))
    subject, dek = uuid.uuid4(), b"d" * 32
    assert keystore.wrap(subject, 1, dek).kek_version == ring.primary_version() == 2
    old = keystore.wrap(subject, 1, dek, kek_version=1)
    assert old.kek_version == 1
    assert keystore.unwrap(old) == dek


def test_the_keyring_check_reports_kek_versions_used_but_not_held(client_record, other_ring):
    assert keystore.check_keyring_covers_keys() == []
    other_ring(keyring.Keyring(primary=2, keks={2: b"n" * 32}, index=b"i" * 32))
    assert keystore.check_keyring_covers_keys() == [1]


# -- shredding ----------------------------------------------------------------------------
def test_shredding_deletes_every_key_of_the_client_and_records_it_in_the_ledger(
        client_record, make_client):
    bystander = make_client(full_name="路人")
    keystore.shred(client_record.pk, actor="owner", reason="client asked to be forgotten")
    assert keys_of(client_record.pk) == []
    assert len(keys_of(bystander.pk)) == 1
    record = ShredRecord.objects.get(subject_id=client_record.pk)
    assert record._state.db == "default"
    assert (record.actor, record.reason) == ("owner", "client asked to be forgotten")


def test_shredding_deletes_every_generation(client_record):
    (key,) = keys_of(client_record.pk)
    dek2 = b"2" * 32
    keystore.wrap(client_record.pk, 2, dek2).save()
    assert len(keys_of(client_record.pk)) == 2
    keystore.shred(client_record.pk, actor="owner", reason="test")
    assert keys_of(client_record.pk) == []


def test_shredding_twice_keeps_one_ledger_entry(client_record):
    keystore.shred(client_record.pk, actor="owner", reason="first")
    keystore.shred(client_record.pk, actor="owner", reason="second")
    assert ShredRecord.objects.filter(subject_id=client_record.pk).count() == 1


def test_the_shred_ledger_holds_ids_only(client_record):
    keystore.shred(client_record.pk, actor="owner", reason="retention period ended")
    record = ShredRecord.objects.get(subject_id=client_record.pk)
    assert "李娜" not in str(record.__dict__) and "13812345678" not in str(record.__dict__)


def test_a_shredded_clients_fields_fail_to_open_even_inside_a_scope(
        client_record, system_scope, fresh):
    keystore.shred(client_record.pk, actor="owner", reason="test")
    client = fresh(client_record)
    health = HealthNote.objects.get(client=client_record)
    with system_scope(client_record.pk):
        for name in ("full_name", "phone", "email", "birthday"):
            with pytest.raises(ShreddedError):
                getattr(client, name)
        with pytest.raises(ShreddedError):
            health.allergies  # noqa: B018
    assert repr(client.full_name) == "‹sealed›"


def test_a_shredded_clients_treatments_fail_to_open(client_record, owner, system_scope):
    import datetime as dt
    from decimal import Decimal

    from records import services

    treatment = services.treatment_add(actor=owner, client=client_record,
                                       performed_on=dt.date(2025, 5, 1), service="染发",
                                       price=Decimal("388.00"))
    keystore.shred(client_record.pk, actor="owner", reason="test")
    with system_scope(client_record.pk), pytest.raises(ShreddedError):
        Treatment.objects.get(pk=treatment.pk).service  # noqa: B018


def test_no_key_can_be_created_for_a_shredded_subject(client_record, system_scope, fresh):
    keystore.shred(client_record.pk, actor="owner", reason="test")
    with pytest.raises(ShreddedError):
        keystore.create([client_record.pk])
    with pytest.raises(ShreddedError):
        keystore.create([uuid.uuid4(), client_record.pk])
    client = fresh(client_record)
    with system_scope(client_record.pk, create=True):
        client.full_name = "复活"
        with pytest.raises(ShreddedError), transaction.atomic():
            client.save()
    assert keys_of(client_record.pk) == []


def test_creating_keys_for_new_subjects_writes_one_generation_one_key_each():
    subjects = [uuid.uuid4() for _ in range(3)]
    created = keystore.create(subjects)
    assert set(created) == set(subjects)
    assert {gen for gen, _cipher in created.values()} == {1}
    assert DataKey.objects.filter(subject_id__in=subjects).count() == 3
    loaded = keystore.load(subjects)
    assert set(loaded) == {(s, 1) for s in subjects}


def test_replaying_the_ledger_destroys_keys_that_came_back_from_a_restore(
        client_record, make_client, system_scope, fresh):
    bystander = make_client(full_name="路人")
    backup = [DataKey(subject_id=k.subject_id, generation=k.generation,
                      kek_version=k.kek_version, wrapped=bytes(k.wrapped))
              for k in keys_of(client_record.pk)]
    keystore.shred(client_record.pk, actor="owner", reason="test")
    DataKey.objects.bulk_create(backup)  # an old key-store backup is restored
    with system_scope(client_record.pk):
        assert fresh(client_record).full_name == "李娜"  # the restore really did revive it
    assert keystore.replay_shred_ledger() == 1
    assert keys_of(client_record.pk) == []
    assert len(keys_of(bystander.pk)) == 1
    with system_scope(client_record.pk), pytest.raises(ShreddedError):
        fresh(client_record).full_name  # noqa: B018
    assert keystore.replay_shred_ledger() == 0


def test_current_generation_is_the_highest_held(client_record):
    assert keystore.current_generation(client_record.pk) == 1
    keystore.wrap(client_record.pk, 2, b"2" * 32).save()
    assert keystore.current_generation(client_record.pk) == 2
    assert keystore.current_generation(uuid.uuid4()) is None
