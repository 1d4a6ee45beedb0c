"""Helpers for the vault core tests: opening a scope the way a system job does, fresh rows."""

from __future__ import annotations

import io

import pytest
from django.conf import settings as django_settings

from access import door
from vault import keyring
from vault.classes import DataClass


@pytest.fixture
def system_scope():
    """Open records of the given subjects (or all) as a named system job, through the door."""

    def open_(*subjects, ceiling=DataClass.L4, create=False):
        return door.open_for_system(actor="vault-tests", purpose="vault core test",
                                    subjects=list(subjects) or None, ceiling=ceiling,
                                    create=create)

    return open_


@pytest.fixture
def fresh():
    """Reload a model instance from the database: nothing cached on the instance."""

    def reload(instance):
        return type(instance).objects.get(pk=instance.pk)

    return reload


@pytest.fixture
def other_ring(monkeypatch):
    """Swap the process keyring for another one; returns a function that installs a ring."""

    def install(ring: keyring.Keyring) -> keyring.Keyring:
        monkeypatch.setattr(keyring, "provider", lambda: ring)
        return ring

    return install


@pytest.fixture
def isolated_keyring(settings, tmp_path):
    """Point SALON_VAULT_KEYRING at a file in tmp_path; the session keyring comes back after."""
    keyring.reset()
    settings.SALON_VAULT_KEYRING = str(tmp_path / "keyring.json")
    yield tmp_path / "keyring.json"
    keyring.reset()


def signature_data_url() -> str:
    """A signature as the tablet canvas sends it: a PNG data URL with one stroke drawn."""
    import base64

    from PIL import Image, ImageDraw

    image = Image.new("LA", (120, 40), (0, 0))
    ImageDraw.Draw(image).line((5, 30, 60, 5, 115, 30), fill=(0, 255), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def jpeg_with_gps(size=(64, 48), colour=(200, 80, 40)) -> bytes:
    """A small JPEG carrying EXIF with a camera model and GPS coordinates."""
    from PIL import Image

    img = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x0110] = "SalonCam 3000"  # Model
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}  # GPSInfo
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def gps_jpeg() -> bytes:
    data = jpeg_with_gps()
    from PIL import Image

    with Image.open(io.BytesIO(data)) as probe:  # the fixture really carries GPS data
        assert probe.getexif().get_ifd(0x8825)
    return data


def vault_files() -> set:
    root = django_settings.VAULT_FILES_ROOT
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()
