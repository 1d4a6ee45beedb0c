"""Key-encryption keys: a versioned keyring outside the database, never printed."""

from __future__ import annotations

import base64
import json
import stat
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from vault import keyring
from vault.errors import KeyringError


def ring_json(**overrides) -> str:
    data = json.loads(keyring.Keyring.generate().dumps())
    data.update(overrides)
    return json.dumps(data)


def b64(n: int) -> str:
    return base64.b64encode(b"k" * n).decode()


def test_a_generated_keyring_survives_dumps_and_loads():
    ring = keyring.Keyring.generate()
    back = keyring.Keyring.loads(ring.dumps(), source="test")
    assert back.primary == ring.primary == 1
    assert back.keks == ring.keks
    assert back.index == ring.index
    assert back.versions() == [1]
    assert back.kek(1) == ring.kek(1)
    assert back.index_key() == ring.index_key()


def test_generated_keys_are_256_bit_random_and_the_index_key_is_not_a_kek():
    a, b = keyring.Keyring.generate(), keyring.Keyring.generate()
    assert len(a.kek(1)) == len(a.index_key()) == 32
    assert a.kek(1) != b.kek(1)
    assert a.index_key() != a.kek(1)


def test_the_dumped_file_names_its_format_primary_and_versions():
    data = json.loads(keyring.Keyring.generate().dumps())
    assert data["format"] == keyring.FORMAT
    assert data["primary"] == 1
    assert list(data["keks"]) == ["1"]


def test_a_keyring_with_several_versions_keeps_them_and_the_primary():
    ring = keyring.Keyring(primary=2, keks={1: b"a" * 32, 2: b"b" * 32, 3: b"c" * 32},
                           index=b"i" * 32)
    back = keyring.Keyring.loads(ring.dumps(), source="test")
    assert back.primary_version() == 2
    assert back.versions() == [1, 2, 3]
    assert back.kek(3) == b"c" * 32


def test_the_repr_and_str_of_a_keyring_never_show_key_material():
    ring = keyring.Keyring.generate()
    for text in (repr(ring), str(ring), f"{ring}", "%s" % (ring,), repr([ring])):  # noqa: UP031
        for key in (ring.kek(1), ring.index_key()):
            assert base64.b64encode(key).decode() not in text
            assert key.hex() not in text
            assert repr(key) not in text
    assert "primary=1" in repr(ring)


def test_asking_for_a_version_the_keyring_does_not_hold_raises_keyring_error():
    with pytest.raises(KeyringError, match="version 7"):
        keyring.Keyring.generate().kek(7)


@pytest.mark.parametrize("text", [
    pytest.param("not json at all", id="not-json"),
    pytest.param("", id="empty"),
    pytest.param("[]", id="a-list"),
    pytest.param('"a string"', id="a-string"),
    pytest.param("{}", id="empty-object"),
    pytest.param(json.dumps({"primary": 1, "index_key": b64(32)}), id="no-keks"),
    pytest.param(json.dumps({"primary": 1, "keks": {"1": b64(32)}}), id="no-index-key"),
    pytest.param(json.dumps({"keks": {"1": b64(32)}, "index_key": b64(32)}), id="no-primary"),
    pytest.param(json.dumps({"primary": 1, "keks": {"1": "!!not base64!!"}, "index_key": b64(32)}),
                 id="kek-not-base64"),
    pytest.param(json.dumps({"primary": 1, "keks": {"one": b64(32)}, "index_key": b64(32)}),
                 id="version-not-a-number"),
    pytest.param(json.dumps({"primary": "first", "keks": {"1": b64(32)}, "index_key": b64(32)}),
                 id="primary-not-a-number"),
    pytest.param(json.dumps({"primary": 1, "keks": {"1": 12345}, "index_key": b64(32)}),
                 id="kek-not-a-string"),
    pytest.param(json.dumps({"primary": 1, "keks": [b64(32)], "index_key": b64(32)}),
                 id="keks-a-list"),
    pytest.param(json.dumps({"primary": 1, "keks": None, "index_key": b64(32)}),
                 id="keks-null"),
])
def test_a_malformed_keyring_raises_keyring_error_naming_its_source(text):
    with pytest.raises(KeyringError) as info:
        keyring.Keyring.loads(text, source="/etc/salon/keyring.json")
    assert "/etc/salon/keyring.json" in str(info.value)


def test_a_keyring_whose_primary_it_does_not_hold_is_refused():
    text = json.dumps({"primary": 3, "keks": {"1": b64(32)}, "index_key": b64(32)})
    with pytest.raises(KeyringError, match="primary 3"):
        keyring.Keyring.loads(text, source="ring")


@pytest.mark.parametrize("where", ["kek", "index"])
@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_a_key_of_the_wrong_length_is_refused_without_printing_it(where, length):
    wrong = b64(length)
    data = {"primary": 1, "keks": {"1": wrong if where == "kek" else b64(32)},
            "index_key": wrong if where == "index" else b64(32)}
    with pytest.raises(KeyringError, match="32 bytes") as info:
        keyring.Keyring.loads(json.dumps(data), source="ring")
    if length:
        assert wrong not in str(info.value)


def test_the_error_for_a_malformed_keyring_does_not_echo_its_contents():
    good = keyring.Keyring.generate()
    text = good.dumps().replace('"primary": 1', '"primary": "x"')
    with pytest.raises(KeyringError) as info:
        keyring.Keyring.loads(text, source="ring")
    message = str(info.value) + repr(info.value)
    assert base64.b64encode(good.kek(1)).decode() not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_missing_keyring_file_says_how_to_create_one(tmp_path):
    with pytest.raises(KeyringError, match="vault_init") as info:
        keyring.load(str(tmp_path / "nowhere.json"))
    assert "nowhere.json" in str(info.value)


def test_a_file_source_may_carry_a_file_prefix(tmp_path):
    ring = keyring.Keyring.generate()
    keyring.write_file(ring, tmp_path / "ring.json")
    assert keyring.load(f"file:{tmp_path / 'ring.json'}").keks == ring.keks


def test_an_env_source_reads_the_keyring_json_from_the_environment(monkeypatch):
    ring = keyring.Keyring.generate()
    monkeypatch.setenv("SALON_TEST_KEYRING", ring.dumps())
    loaded = keyring.load("env:SALON_TEST_KEYRING")
    assert loaded.keks == ring.keks and loaded.index == ring.index
    assert loaded.source == "env:SALON_TEST_KEYRING"


def test_an_env_source_naming_an_unset_or_empty_variable_raises(monkeypatch):
    monkeypatch.delenv("SALON_TEST_KEYRING", raising=False)
    with pytest.raises(KeyringError, match="SALON_TEST_KEYRING"):
        keyring.load("env:SALON_TEST_KEYRING")
    monkeypatch.setenv("SALON_TEST_KEYRING", "")
    with pytest.raises(KeyringError, match="SALON_TEST_KEYRING"):
        keyring.load("env:SALON_TEST_KEYRING")


def test_an_env_source_holding_garbage_raises_keyring_error(monkeypatch):
    monkeypatch.setenv("SALON_TEST_KEYRING", "{broken")
    with pytest.raises(KeyringError, match="malformed"):
        keyring.load("env:SALON_TEST_KEYRING")


def test_the_provider_follows_the_settings_and_is_cached_until_reset(isolated_keyring):
    first = keyring.Keyring.generate()
    keyring.write_file(first, isolated_keyring)
    assert keyring.provider().kek(1) == first.kek(1)
    second = keyring.Keyring.generate()
    keyring.write_file(second, isolated_keyring)
    assert keyring.provider().kek(1) == first.kek(1)  # cached
    keyring.reset()
    assert keyring.provider().kek(1) == second.kek(1)


def test_write_file_creates_the_keyring_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "sub" / "keyring.json"
    keyring.write_file(keyring.Keyring.generate(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.with_suffix(".tmp").exists()


def test_write_file_tightens_a_keyring_that_was_world_readable(tmp_path):
    path = tmp_path / "keyring.json"
    path.write_text("old")
    path.chmod(0o644)
    ring = keyring.Keyring.generate()
    keyring.write_file(ring, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keyring.load(str(path)).keks == ring.keks


# -- manage.py vault_init -------------------------------------------------------------------
def test_vault_init_creates_a_keyring_once(isolated_keyring):
    out = StringIO()
    call_command("vault_init", stdout=out)
    assert isolated_keyring.exists()
    assert stat.S_IMODE(isolated_keyring.stat().st_mode) == 0o600
    ring = keyring.load(str(isolated_keyring))
    assert ring.primary_version() == 1 and len(ring.kek(1)) == 32
    assert "created" in out.getvalue()
    assert base64.b64encode(ring.kek(1)).decode() not in out.getvalue()


def test_vault_init_never_overwrites_an_existing_keyring(isolated_keyring):
    call_command("vault_init", stdout=StringIO())
    before = isolated_keyring.read_bytes()
    out = StringIO()
    call_command("vault_init", stdout=out)
    assert isolated_keyring.read_bytes() == before
    assert "present" in out.getvalue()


def test_vault_init_refuses_to_replace_a_damaged_keyring(isolated_keyring):
    isolated_keyring.write_text("{not a keyring")
    with pytest.raises(KeyringError):
        call_command("vault_init", stdout=StringIO())
    assert isolated_keyring.read_text() == "{not a keyring"


def test_vault_init_with_an_env_source_creates_nothing_and_checks_the_variable(
        settings, monkeypatch, tmp_path):
    keyring.reset()
    try:
        settings.SALON_VAULT_KEYRING = "env:SALON_TEST_KEYRING"
        monkeypatch.delenv("SALON_TEST_KEYRING", raising=False)
        with pytest.raises(KeyringError):
            call_command("vault_init", stdout=StringIO())
        monkeypatch.setenv("SALON_TEST_KEYRING", keyring.Keyring.generate().dumps())
        out = StringIO()
        call_command("vault_init", stdout=out)
        assert "environment" in out.getvalue()
    finally:
        keyring.reset()


def test_vault_init_refuses_a_folder_that_does_not_exist(settings, tmp_path):
    keyring.reset()
    try:
        settings.SALON_VAULT_KEYRING = str(tmp_path / "missing" / "keyring.json")
        with pytest.raises(CommandError, match="does not exist"):
            call_command("vault_init", stdout=StringIO())
        assert not (tmp_path / "missing").exists()
    finally:
        keyring.reset()
