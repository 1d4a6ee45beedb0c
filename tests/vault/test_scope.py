"""The unsealing scope: nested scopes, and nothing held once a scope has closed."""

from __future__ import annotations

import contextvars
import re
import threading
from pathlib import Path

import pytest
from django.conf import settings

from access import door
from records.models import HealthNote
from vault import scope
from vault.classes import DataClass
from vault.errors import SealedError
from vault.scope import Sealed


def test_no_scope_is_open_by_default():
    assert scope.current() is None


def test_an_inner_scope_governs_and_the_outer_one_is_restored(client_record, receptionist,
                                                              system_scope, fresh):
    with system_scope(client_record.pk):
        outer = scope.current()
        assert fresh(client_record).health.allergies == "对PPD染发剂过敏"
        with door.open_client(user=receptionist, client=client_record, purpose="front desk"):
            inner = scope.current()
            assert inner is not outer
            client = fresh(client_record)
            assert client.full_name == "李娜"
            assert isinstance(client.health.allergies, Sealed)  # the inner L2 ceiling governs
        assert scope.current() is outer
        assert fresh(client_record).health.allergies == "对PPD染发剂过敏"
    assert scope.current() is None


def test_a_narrower_outer_scope_does_not_limit_a_wider_inner_one(client_record, receptionist,
                                                                 stylist, fresh):
    with door.open_client(user=receptionist, client=client_record, purpose="front desk"):
        assert isinstance(fresh(client_record).health.allergies, Sealed)
        with door.open_client(user=stylist, client=client_record, purpose="consultation"):
            assert fresh(client_record).health.allergies == "对PPD染发剂过敏"
        assert isinstance(fresh(client_record).health.allergies, Sealed)


def test_an_inner_scope_for_another_client_does_not_open_the_outer_client(
        make_client, system_scope, fresh):
    a, b = make_client(full_name="甲方"), make_client(full_name="乙方")
    with system_scope(a.pk):
        with system_scope(b.pk):
            assert isinstance(fresh(a).full_name, Sealed)
            assert fresh(b).full_name == "乙方"
        assert fresh(a).full_name == "甲方"
        assert isinstance(fresh(b).full_name, Sealed)


def test_the_scope_holds_no_plaintext_while_open_or_after(client_record, system_scope, fresh):
    with system_scope(client_record.pk):
        opened = scope.current()
        client = fresh(client_record)
        assert client.full_name == "李娜"
        assert "李娜" not in repr(vars(opened))
    assert "李娜" not in repr(vars(opened))


def test_unwrapped_keys_are_not_held_after_the_scope_closes(client_record, system_scope, fresh):
    with system_scope(client_record.pk):
        opened = scope.current()
        assert fresh(client_record).full_name == "李娜"
        assert opened._keys and opened._current and opened._by_header and opened._sealing
    assert opened._keys == opened._current == opened._by_header == opened._sealing == {}


def test_a_scope_closed_by_an_exception_holds_nothing(client_record, system_scope, fresh):
    with pytest.raises(ZeroDivisionError), system_scope(client_record.pk):
        opened = scope.current()
        assert fresh(client_record).phone == "13812345678"
        1 / 0  # noqa: B018
    assert opened._keys == {} and opened._by_header == {}
    assert scope.current() is None


def test_a_scope_does_not_leak_into_another_thread(client_record, system_scope, fresh):
    seen = {}

    def other_thread():
        seen["scope"] = scope.current()

    with system_scope(client_record.pk):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert seen["scope"] is None


def test_a_scope_does_not_leak_into_a_fresh_context(client_record, system_scope):
    with system_scope(client_record.pk):
        assert contextvars.Context().run(scope.current) is None


def test_the_scope_prints_no_plaintext_and_no_keys(client_record, system_scope, fresh):
    with system_scope(client_record.pk):
        opened = scope.current()
        assert fresh(client_record).full_name == "李娜"
        text = repr(opened)
    assert "李娜" not in text and "AESGCM" not in text and "vault core test" in text


def test_a_scope_without_key_creation_cannot_seal_a_new_subject(location, system_scope):
    from records.models import Client

    client = Client(code="BJ-NEW", location=location)
    client.full_name = "新客"
    with system_scope(client.pk, create=False), pytest.raises(SealedError):
        client.save()


def test_the_ceiling_of_a_system_scope_over_all_subjects_applies_to_every_client(
        client_record, system_scope, fresh):
    with system_scope(ceiling=DataClass.L2):
        client = fresh(client_record)
        assert client.full_name == "李娜"
        assert isinstance(HealthNote.objects.get(client=client_record).allergies, Sealed)


# -- static: only the door opens scopes ----------------------------------------------------
CALLS_OPEN = re.compile(
    r"scope\._open\b"                              # vault_scope._open(...), vault.scope._open
    r"|from\s+vault\.scope\s+import\s[^\n]*\b_open\b"  # from vault.scope import _open
    r"|from\s+vault\.scope\s+import\s*\([^)]*\b_open\b"
    r"|getattr\([^)]*[\"']_open[\"']"              # getattr(scope, "_open")
)


def _python_sources():
    root = Path(settings.BASE_DIR)
    skip = {".venv", "node_modules", "var", ".git", "vault", "tests", "__pycache__"}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if parts[0] in skip or any(p.startswith(".") for p in parts):
            continue
        yield root, path


def test_the_pattern_finds_the_ways_of_calling_open():
    for text in ("with vault_scope._open(ceilings={}):", "vault.scope._open(actor='x')",
                 "from vault.scope import Sealed, _open", "from vault.scope import (\n    _open,\n)",
                 "getattr(vault_scope, '_open')"):
        assert CALLS_OPEN.search(text), text
    assert not CALLS_OPEN.search("door.open_client(user=u)")


def test_only_the_door_opens_an_unsealing_scope_outside_the_vault():
    callers = sorted(str(path.relative_to(root)) for root, path in _python_sources()
                     if CALLS_OPEN.search(path.read_text(encoding="utf-8")))
    assert callers == ["access/door.py"]
