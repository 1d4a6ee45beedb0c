"""Never a second keyring: a lost, unreadable or regenerated keyring stops every process.

A new keyring is made only for an empty vault. Over existing data keys, `vault_init`,
`vault_status`, the system checks of management commands, the web server and Celery
refuse with a message that names the keyring, the versions the data needs and how to
restore it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from vault import guard, keyring, keystore
from vault.apps import keyring_opens_the_vault

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ring_file(settings, tmp_path):
    """A keyring file of its own for this test; the session keyring comes back after."""
    session_ring = keyring.provider()
    path = tmp_path / "keyring.json"
    keyring.write_file(session_ring, path)
    settings.SALON_VAULT_KEYRING = str(path)
    keyring.reset()
    yield path
    keyring.reset()


@pytest.fixture
def vault_with_keys(db):
    keystore.create([uuid.uuid4(), uuid.uuid4()])


def assert_it_explains(text: str, path: Path) -> None:
    assert str(path) in text
    assert "KEK version(s) 1" in text
    assert "Restore the keyring from your key-store backup" in text
    assert "Do not create a new keyring" in text


def test_an_empty_vault_gets_a_new_keyring(ring_file):
    ring_file.unlink()
    out = StringIO()
    call_command("vault_init", stdout=out)
    assert ring_file.exists() and "created" in out.getvalue()
    assert guard.keyring_problem() is None


def test_vault_init_never_makes_a_keyring_over_existing_data_keys(ring_file, vault_with_keys):
    ring_file.unlink()
    with pytest.raises(CommandError) as info:
        call_command("vault_init", stdout=StringIO())
    assert_it_explains(str(info.value), ring_file)
    assert f"there is no keyring at {ring_file}" in str(info.value)
    assert not ring_file.exists()


def test_a_regenerated_keyring_is_refused_even_though_it_has_version_1(ring_file, vault_with_keys):
    keyring.write_file(keyring.Keyring.generate(), ring_file)
    keyring.reset()
    problem = guard.keyring_problem()
    assert problem is not None and "not the keyring the data was sealed with" in problem.reason
    with pytest.raises(CommandError, match="not the keyring the data was sealed with"):
        call_command("vault_init", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("vault_status", stdout=StringIO(), stderr=StringIO())


def test_an_unreadable_keyring_is_refused_and_left_as_it_is(ring_file, vault_with_keys):
    ring_file.write_text("{half a keyring")
    keyring.reset()
    with pytest.raises(guard.KeyringMismatch) as info:
        guard.refuse_to_start_without_keys()
    assert_it_explains(str(info.value), ring_file)
    assert "cannot be read" in str(info.value)
    assert ring_file.read_text() == "{half a keyring"


def test_vault_status_exits_non_zero_and_names_the_versions_when_the_keyring_is_gone(
        ring_file, vault_with_keys):
    ring_file.unlink()
    keyring.reset()
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("vault_status", stdout=out, stderr=StringIO())
    assert "KEK versions the data keys need: [1]" in out.getvalue()
    assert_it_explains(str(info.value), ring_file)


def test_vault_status_exits_non_zero_when_a_needed_version_is_missing(ring_file, vault_with_keys):
    keyring.write_file(keyring.Keyring(primary=2, keks={2: b"2" * 32}, index=b"i" * 32), ring_file)
    keyring.reset()
    out = StringIO()
    with pytest.raises(CommandError, match="lacks KEK version"):
        call_command("vault_status", stdout=out, stderr=StringIO())
    assert "MISSING" in out.getvalue()


def test_the_system_check_stops_management_commands_over_unopenable_data(ring_file,
                                                                        vault_with_keys):
    assert keyring_opens_the_vault() == []
    ring_file.unlink()
    keyring.reset()
    errors = keyring_opens_the_vault()
    assert [e.id for e in errors] == ["vault.E001"]
    assert_it_explains(errors[0].msg, ring_file)


def test_the_keyring_that_sealed_the_data_passes_every_check(ring_file, vault_with_keys):
    assert guard.keyring_problem() is None
    call_command("vault_status", stdout=StringIO(), stderr=StringIO())
    out = StringIO()
    call_command("vault_init", stdout=out)
    assert "present" in out.getvalue()


# -- whole processes, as `make run` starts them ---------------------------------------------
def _env(var: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "VAULT_DATABASE_URL", "REDIS_URL"))}
    env.update(SALON_VAULT_VAR=str(var), DJANGO_SETTINGS_MODULE="salon_vault.settings",
               SALON_VAULT_KEYRING=str(var / "keyring.json"))
    return env


def _run(var: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(var), capture_output=True,
                          text=True, timeout=180)


@pytest.fixture(scope="module")
def embedded_salon(tmp_path_factory):
    """A salon on the embedded defaults, with data keys, made by the real commands."""
    var = tmp_path_factory.mktemp("var")
    for args in (("manage.py", "vault_init"), ("manage.py", "migrate", "-v0"),
                 ("manage.py", "migrate", "--database", "vault", "-v0"),
                 ("manage.py", "shell", "-c",
                  "import uuid; from vault import keystore; keystore.create([uuid.uuid4()])")):
        done = _run(var, *args)
        assert done.returncode == 0, done.stderr
    yield var
    shutil.rmtree(var, ignore_errors=True)


def test_the_keyring_and_the_sqlite_files_are_owner_only(embedded_salon):
    for name in ("keyring.json", "salon_vault.sqlite3", "vault_keys.sqlite3", "secret_key"):
        assert stat.S_IMODE((embedded_salon / name).stat().st_mode) == 0o600, name


def test_no_process_starts_when_the_keyring_is_lost(embedded_salon):
    ring = embedded_salon / "keyring.json"
    backup = ring.read_bytes()
    ring.unlink()
    try:
        starts = {
            "vault_init": _run(embedded_salon, "manage.py", "vault_init"),
            "migrate": _run(embedded_salon, "manage.py", "migrate"),
            "vault_status": _run(embedded_salon, "manage.py", "vault_status"),
            "web": _run(embedded_salon, "-c", "import salon_vault.wsgi"),
            "worker": _run(embedded_salon, "-m", "celery", "-A", "salon_vault", "worker",
                           "--pool=solo"),
            "beat": _run(embedded_salon, "-m", "celery", "-A", "salon_vault", "beat",
                         "-s", str(embedded_salon / "beat-schedule")),
        }
        for name, done in starts.items():
            assert done.returncode != 0, name
            assert f"there is no keyring at {ring}" in done.stderr, name
            assert "KEK version(s) 1" in done.stderr, name
        assert not ring.exists()  # nothing made a new one
    finally:
        ring.write_bytes(backup)
        ring.chmod(0o600)
    assert _run(embedded_salon, "manage.py", "vault_status").returncode == 0

