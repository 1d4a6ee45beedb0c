"""`manage.py vault_status`: KEK versions, the primary, wrapped DEKs per version, shredding."""

from __future__ import annotations

import base64
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from vault import keyring, keystore, tasks
from vault.models import DataKey
from vault.status import vault_status

ROW = re.compile(r"^\s*(\d+)\s{2}(yes|\s{3})\s+(yes|MISSING)\s+(\d+)\s*$")


def run_status():
    out, err = StringIO(), StringIO()
    call_command("vault_status", stdout=out, stderr=err)
    rows = {}
    for line in out.getvalue().splitlines():
        if m := ROW.match(line):
            rows[int(m[1])] = {"primary": m[2] == "yes", "in_keyring": m[3] == "yes",
                               "wrapped": int(m[4])}
    return out.getvalue(), err.getvalue(), rows


def rotated_ring(other_ring):
    """Add KEK version 2 as primary, keeping version 1."""
    current = keyring.provider()
    return other_ring(keyring.Keyring(primary=2, keks={**current.keks, 2: b"2" * 32},
                                      index=current.index, source=current.source))


def rewrap(subject, version):
    key = DataKey.objects.get(subject_id=subject)
    fresh = keystore.wrap(key.subject_id, key.generation, keystore.unwrap(key), kek_version=version)
    key.kek_version, key.wrapped = fresh.kek_version, fresh.wrapped
    key.save()


def test_status_of_an_empty_vault_shows_the_primary_and_nothing_wrapped():
    text, err, rows = run_status()
    assert rows == {1: {"primary": True, "in_keyring": True, "wrapped": 0}}
    assert "subjects with data keys: 0" in text
    assert "clients shredded: 0" in text
    assert err == ""


def test_status_counts_wrapped_data_keys_and_shredded_clients(make_client):
    clients = [make_client(full_name=f"客户{i}") for i in range(3)]
    keystore.shred(clients[0].pk, actor="owner", reason="test")
    text, err, rows = run_status()
    assert rows == {1: {"primary": True, "in_keyring": True, "wrapped": 2}}
    assert "subjects with data keys: 2" in text
    assert "clients shredded: 1" in text
    assert err == ""


def test_status_shows_each_kek_version_and_which_is_primary(make_client, other_ring):
    a, *_others = (make_client(full_name=n) for n in ("甲", "乙", "丙"))
    rotated_ring(other_ring)
    rewrap(a.pk, 2)
    text, err, rows = run_status()
    assert rows == {1: {"primary": False, "in_keyring": True, "wrapped": 2},
                    2: {"primary": True, "in_keyring": True, "wrapped": 1}}
    assert "subjects with data keys: 3" in text


def test_a_second_generation_counts_as_another_wrapped_key_of_the_same_subject(client_record):
    keystore.wrap(client_record.pk, 2, b"g" * 32).save()
    text, _err, rows = run_status()
    assert rows[1]["wrapped"] == 2
    assert "subjects with data keys: 1" in text


def test_status_reports_data_keys_wrapped_by_a_missing_kek(make_client, other_ring):
    make_client(full_name="甲")
    other_ring(keyring.Keyring(primary=2, keks={2: b"2" * 32}, index=b"i" * 32))
    with pytest.raises(CommandError, match="lacks KEK version"):  # exits non-zero
        run_status()
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("vault_status", stdout=out, stderr=err)
    text, err = out.getvalue(), err.getvalue()
    rows = {int(m[1]): {"primary": m[2] == "yes", "in_keyring": m[3] == "yes",
                        "wrapped": int(m[4])}
            for line in text.splitlines() if (m := ROW.match(line))}
    assert rows == {1: {"primary": False, "in_keyring": False, "wrapped": 1},
                    2: {"primary": True, "in_keyring": True, "wrapped": 0}}
    assert "MISSING" in text
    assert "[1]" in err
    assert vault_status().missing_versions == [1]
    assert tasks.vault_health_check()["missing_kek_versions"] == [1]


def test_status_names_the_keyring_source_but_prints_no_key_material(client_record):
    text, err, _rows = run_status()
    ring = keyring.provider()
    assert ring.source in text
    for key in (*ring.keks.values(), ring.index_key()):
        assert base64.b64encode(key).decode() not in text + err
        assert key.hex() not in text + err
    assert str(client_record.pk) not in text


def test_the_health_check_task_reports_counts_only(make_client):
    make_client(full_name="甲")
    result = tasks.vault_health_check()
    assert result == {"subjects": 1, "shredded": 0, "missing_kek_versions": []}
