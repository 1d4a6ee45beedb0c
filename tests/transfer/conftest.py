from __future__ import annotations

import pyrage
import pytest

from tests.conftest import _person


@pytest.fixture
def recipient_key() -> str:
    return str(pyrage.x25519.Identity.generate().to_public())


@pytest.fixture
def owner2(location):
    return _person("owner2", "owner", None)


@pytest.fixture
def owner3(location):
    return _person("owner3", "owner", None)
