"""More people and clients for the access tests, and small helpers to read their pages."""

from __future__ import annotations

import io

import pytest
from django.test import Client as Browser
from django.urls import reverse
from django_otp.oath import TOTP
from PIL import Image

from tests.conftest import _person, verify_otp

PASSWORD = "correct-horse-battery-9"

# What each part of the client page shows, by the data made in the fixtures below.
CONTACT = "13812345678"
PROFILE = "混合性"
HEALTH = "对PPD染发剂过敏"
# A break-glass reason that says who needs what, and why now.
REASON_OK = "客户今天要染发，需要确认她的过敏史后再调配方"


def detail_url(client) -> str:
    return reverse("records:client_detail", args=[client.pk])


def detail_page(http, client) -> str:
    response = http.get(detail_url(client))
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def shows(page: str) -> dict[str, bool]:
    return {"contact": CONTACT in page, "profile": PROFILE in page, "health": HEALTH in page}


def totp_token(device) -> str:
    """The code an authenticator app would show now for `device`."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def password_and_code(user) -> dict[str, str]:
    """What the re-authentication page takes from `user`: the password, and the current
    code of their authenticator when they have one (every role that reads health data)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return {"password": PASSWORD} | ({"token": totp_token(device)} if device else {})


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (180, 120, 90)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def browser():
    """A second, independent browser (its own cookies and session)."""
    return Browser()


@pytest.fixture
def sign_in():
    """Sign a person in on a fresh browser of their own."""

    def as_(user, *, verified=True):
        http = Browser()
        http.force_login(user)
        if verified:
            verify_otp(http, user)
        return http

    return as_


@pytest.fixture
def second_owner(location):
    return _person("owner2", "owner", None)


@pytest.fixture
def unassigned_client(make_client):
    """A client of the stylist's location assigned to nobody, with the same kinds of data."""
    return make_client(full_name="周洁", phone=CONTACT, allergies=HEALTH, skin_type=PROFILE)


@pytest.fixture
def far_client(make_client, other_location):
    """A client of the other location."""
    return make_client(location=other_location, full_name="陈静", phone=CONTACT,
                       allergies=HEALTH, skin_type=PROFILE)


@pytest.fixture
def with_photo(owner):
    """Add a before photo to a client through the real service."""
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile

    from records import services

    def add(client):
        upload = SimpleUploadedFile("before.jpg", jpeg(), content_type="image/jpeg")
        return services.photo_add(actor=owner, client=client, upload=upload, kind="before",
                                  taken_on=dt.date(2024, 5, 1))

    return add
