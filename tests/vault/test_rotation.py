"""KEK rotation (vault/rotation.py): a new primary version, every data key rewrapped under it
in batches, records readable throughout, resumable, retired versions destroyed only past
the backup horizon."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from records.models import Client, HealthNote
from vault import keyring, keystore, rotation
from vault.errors import KeyringError
from vault.models import DataKey

pytestmark = pytest.mark.usefixtures("isolated_keyring")


@pytest.fixture
def clients(isolated_keyring, make_client):
    from django.core.management import call_command

    call_command("vault_init", stdout=None)
    return [make_client(full_name=f"客户{i}", phone=f"1390000{i:04d}", allergies=f"过敏{i}")
            for i in range(7)]


def versions() -> dict[int, int]:
    return rotation._counts()


def readable(clients, system_scope) -> list[str]:
    with system_scope(*[c.pk for c in clients]):
        return [f"{Client.objects.get(pk=c.pk).full_name}/"
                f"{HealthNote.objects.get(client_id=c.pk).allergies}" for c in clients]


EXPECTED = [f"客户{i}/过敏{i}" for i in range(7)]


def test_plan_says_what_a_run_would_do_and_changes_nothing(clients, isolated_keyring):
    before = isolated_keyring.read_text()
    plan = rotation.plan()
    assert (plan.primary, plan.new_primary, plan.target) == (1, True, 2)
    assert plan.by_version == {1: 7} and plan.to_rewrap == 7 and plan.destroy == []
    assert isolated_keyring.read_text() == before and versions() == {1: 7}


def test_a_run_makes_a_new_primary_and_rewraps_every_data_key_under_it(
        clients, isolated_keyring, system_scope):
    seen = []
    result = rotation.run(batch=3, progress=lambda done, total: seen.append((done, total)))
    assert (result.target, result.created, result.rewrapped) == (2, True, 7)
    assert versions() == {2: 7}
    ring = keyring.load()
    assert ring.primary == 2 and ring.versions() == [1, 2]  # the old one is kept, retired
    assert ring.retired_at(1) is not None
    assert seen[0] == (0, 7) and seen[-1] == (7, 7) and len(seen) == 4  # three batches
    assert readable(clients, system_scope) == EXPECTED
    # New data keys are wrapped by the new primary.
    keystore.create([__import__("uuid").uuid4()])
    assert set(versions()) == {2}


def test_a_killed_run_is_finished_by_the_next_without_another_new_version(
        clients, system_scope):
    class Killed(Exception):
        pass

    def die_after_first_batch(done, total):
        if done:
            raise Killed

    with pytest.raises(Killed):
        rotation.run(batch=3, progress=die_after_first_batch)
    assert versions() == {1: 4, 2: 3}  # half-way: both versions readable
    assert readable(clients, system_scope) == EXPECTED
    plan = rotation.plan()
    assert (plan.new_primary, plan.target, plan.to_rewrap) == (False, 2, 4)
    result = rotation.run(batch=3)
    assert (result.created, result.target, result.rewrapped) == (False, 2, 4)
    assert versions() == {2: 7} and keyring.load().versions() == [1, 2]
    assert readable(clients, system_scope) == EXPECTED


def test_a_second_rotation_makes_version_three(clients, system_scope):
    rotation.run()
    result = rotation.run()
    assert (result.target, result.created) == (3, True) and versions() == {3: 7}
    assert keyring.load().versions() == [1, 2, 3]
    assert readable(clients, system_scope) == EXPECTED


def test_a_process_holding_the_old_keyring_reads_keys_rewrapped_under_the_new_version(
        clients, isolated_keyring, system_scope, monkeypatch):
    # Another process rotated: this one still has version 1 only, and would not look
    # at the file again for an hour; a data key naming version 2 makes it look at once.
    monkeypatch.setattr(keyring, "FRESHNESS_SECONDS", 3600)
    stale = keyring.provider()
    assert stale.versions() == [1]
    new = stale.with_new_primary()
    keyring.write_file(new, isolated_keyring)
    rotation.rewrap(keyring.load())  # as the other process did, without reset() here
    assert keyring._cache["ring"] is stale
    assert readable(clients, system_scope) == EXPECTED
    assert keyring.provider().versions() == [1, 2]


def test_retired_versions_are_destroyed_only_past_the_backup_horizon(clients, settings):
    settings.VAULT_BACKUP_HORIZON_DAYS = 30
    rotation.run()
    now = dt.datetime.now(dt.UTC)
    plan = rotation.plan(now=now + dt.timedelta(days=29))
    assert plan.destroy == [] and "backups" in plan.kept[1]
    assert rotation.retire(now=now + dt.timedelta(days=29)) == []
    assert rotation.retire(now=now + dt.timedelta(days=31)) == [1]
    ring = keyring.load()
    assert ring.versions() == [2] and ring.primary == 2 and ring.retired == {}


def test_a_version_that_still_wraps_data_keys_is_never_destroyed(clients, settings):
    settings.VAULT_BACKUP_HORIZON_DAYS = 0
    with pytest.raises(RuntimeError):
        rotation.run(batch=3, progress=lambda done, total: (_ for _ in ()).throw(
            RuntimeError) if done else None)
    far = dt.datetime.now(dt.UTC) + dt.timedelta(days=9999)
    assert rotation.retire(now=far) == []
    assert "wraps 4 data keys" in rotation.plan(now=far).kept[1]
    assert keyring.load().versions() == [1, 2]


def test_the_keyring_file_stays_owner_only_and_names_retired_versions(
        clients, isolated_keyring):
    rotation.run()
    assert isolated_keyring.stat().st_mode & 0o777 == 0o600
    data = json.loads(isolated_keyring.read_text())
    assert data["primary"] == 2 and set(data["keks"]) == {"1", "2"} and "1" in data["retired"]


def test_data_keys_under_a_version_the_keyring_lacks_stop_the_rotation(clients):
    DataKey.objects.filter(subject_id=clients[0].pk).update(kek_version=9)
    with pytest.raises(KeyringError, match=r"KEK versions \[9\].*restore them"):
        rotation.run()
    assert set(versions()) <= {1, 9}


def test_a_keyring_from_the_environment_is_not_rewritten(clients, settings, monkeypatch,
                                                         system_scope):
    ring = keyring.load()
    monkeypatch.setenv("SV_TEST_RING", ring.dumps())
    settings.SALON_VAULT_KEYRING = "env:SV_TEST_RING"
    keyring.reset()
    with pytest.raises(KeyringError, match="add a new KEK version"):
        rotation.run()
    assert versions() == {1: 7}
    # The operator adds version 2 as primary where the secret is kept; a run rewraps.
    monkeypatch.setenv("SV_TEST_RING", ring.with_new_primary().dumps())
    keyring.reset()
    result = rotation.run()
    assert (result.created, result.target, result.rewrapped) == (False, 2, 7)
    assert readable(clients, system_scope) == EXPECTED
