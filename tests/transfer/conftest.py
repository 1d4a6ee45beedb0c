from __future__ import annotations

import pyrage
import pytest

from tests.conftest import _person


@pytest.fixture
def recipient_key() -> str:
    return str(pyrage.x25519.Identity.generate().to_public())


def _owner_with_authenticator(username):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = _person(username, "owner", None)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


@pytest.fixture
def owner2(location):
    return _owner_with_authenticator("owner2")


@pytest.fixture
def owner3(location):
    return _owner_with_authenticator("owner3")
