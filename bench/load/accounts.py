"""The load staff: stylists and receptionists of both locations, each with an
authenticator (TOTP) device whose key the load script knows, in the scratch database.

The keys are made here, by the bench, for accounts that exist only in a scratch salon,
and handed to locust in a file readable by its owner only: the product gains no way to
read or set anyone's second factor.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from bench.salon import staff_ensure

ROLES = (("stylist", "bj"), ("reception", "bj"), ("stylist", "sh"), ("reception", "sh"))
PHOTO_CLIENTS = 5  # clients with photos granted to each load stylist: "her" clients today


def load_staff(users: int) -> list[tuple[str, str, str]]:
    """(username, role, location) of `users` staff, the roles and locations in turn."""
    return [(f"load_{role}_{place}_{n // len(ROLES) + 1:02d}", role, place)
            for n, (role, place) in ((n, ROLES[n % len(ROLES)]) for n in range(users))]


def accounts_ensure(users: int, path: Path) -> list[dict]:
    """Create the load staff, enrol their TOTP devices, grant each stylist a few clients
    with photos, and write what locust needs (password, key, clients) to `path` (0600)."""
    from records.demo.staff import demo_password, demo_staff_ensure

    password = demo_password().value
    owner = demo_staff_ensure(password=password)["owner"]
    people = staff_ensure(load_staff(users), password_hash=owner.password)
    accounts = [_account(user, password) for user in people.values()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(accounts, fh, indent=1)
    return accounts


def _account(user, password: str) -> dict:
    return {"username": user.username, "password": password, "role": user.staff.role,
            "location": user.staff.location.code, "totp_key": _totp_key(user),
            "photo_clients": _photo_clients(user)}


def _totp_key(user) -> str | None:
    """The hex key of the user's confirmed TOTP device, enrolled now if need be (only the
    roles that must sign in with a second factor)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from access.middleware import needs_otp

    if not needs_otp(user):
        return None
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="load", confirmed=True,
                                           key=secrets.token_hex(20))
    return device.key


def _photo_clients(user) -> list[str]:
    """Clients of the stylist's location with photos, granted to her (as an assignment)."""
    from access import services
    from access.models import Grant
    from records.models import Client

    if user.staff.role != "stylist":
        return []
    with_photos = Client.objects.filter(location=user.staff.location,
                                        photos__isnull=False).distinct()
    held = list(Grant.objects.filter(user=user, revoked_at__isnull=True,
                                     client_id__in=with_photos.values("pk"))
                .values_list("client_id", flat=True)[:PHOTO_CLIENTS])
    if len(held) < PHOTO_CLIENTS:
        more = list(with_photos.exclude(pk__in=held).order_by("?")[:PHOTO_CLIENTS - len(held)])
        services.grants_for_assignments(pairs=[(user, client) for client in more])
        held += [client.pk for client in more]
    return [str(pk) for pk in held]
