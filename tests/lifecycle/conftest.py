"""Lifecycle tests: a keyring file of their own (rotation rewrites it), Celery run eagerly."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.salons import new_salon


@pytest.fixture(autouse=True)
def own_keyring(settings, tmp_path):
    from vault import keyring

    keyring.reset()
    settings.SALON_VAULT_KEYRING = str(tmp_path / "keyring.json")
    call_command("vault_init", stdout=None)
    yield tmp_path / "keyring.json"
    keyring.reset()


@pytest.fixture
def schedules(db):
    from lifecycle.schedule import install_defaults

    install_defaults()


@pytest.fixture
def scratch_salon(tmp_path, scratch_databases):
    """A salon of its own (files under tmp_path; its databases from scratch_databases), run
    by `manage.py` and Python in subprocesses: for what a test database inside a
    transaction cannot show (a killed process, a restore that replaces the databases)."""
    return new_salon(tmp_path / "salon", scratch_databases("salon"))
