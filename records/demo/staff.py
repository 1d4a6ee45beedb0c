"""The demo staff: their accounts, shared password, agreement and training gates, and
two-factor recovery codes."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from access.models import (
    Agreement,
    AgreementAcceptance,
    Location,
    StaffProfile,
    TrainingRecord,
)

from ..models import Client
from .vocabulary import DEMO_NAMES, LOCATIONS, STAFF


@dataclass(frozen=True)
class DemoPassword:
    value: str
    source: str


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    location: str  # "" for all locations


def demo_password() -> DemoPassword:
    """SALON_VAULT_DEMO_PASSWORD if set, else one generated once and kept in VAR_DIR."""
    if settings.DEMO_PASSWORD:
        return DemoPassword(settings.DEMO_PASSWORD, "SALON_VAULT_DEMO_PASSWORD")
    path = Path(settings.VAR_DIR) / "demo_password"
    if not path.exists():
        alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # nothing to misread on a tablet
        _write_once(path, "-".join("".join(secrets.choice(alphabet) for _ in range(5))
                                   for _ in range(4)))
    path.chmod(0o600)
    return DemoPassword(path.read_text().strip(), str(path))


def _write_once(path: Path, text: str) -> None:
    # Written in full under a private name, then linked into place: a second process
    # starting at the same moment keeps the first password and never reads a half file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _logins(users: dict[str, User]) -> list[DemoLogin]:
    return [DemoLogin(s.username, s.role, s.location or "") for s in STAFF if s.username in users]


@transaction.atomic
def demo_staff_ensure(*, password: str) -> dict[str, User]:
    """Create the branches and the demo staff that are missing; return users by name."""
    places = {code: Location.objects.get_or_create(code=code, defaults={"name": name})[0]
              for code, name in LOCATIONS.items()}
    users = _demo_users(password=password)
    # A name someone already uses for a real account is left alone, never taken over.
    taken = set(User.objects.filter(username__in=DEMO_NAMES).values_list("username", flat=True))
    # One hash for every demo user: they share the password anyway, and each hash costs
    # a second of PBKDF2.
    hashed = None
    for spec in STAFF:
        if spec.username in taken:
            continue
        hashed = hashed or make_password(password)
        user = User.objects.create(username=spec.username, password=hashed)
        StaffProfile.objects.create(user=user, role=spec.role, display_name=spec.display_name,
                                    location=places[spec.location] if spec.location else None)
        users[spec.username] = user
    _demo_gates_ensure(users)
    return users


AGREEMENT_TITLE = "客户信息保密协议 · Client confidentiality agreement"
AGREEMENT_BODY = (
    "本人承诺：仅为提供服务所需查看客户信息；不复制、拍摄、转发或带离任何客户资料；"
    "离职后继续履行保密义务。所有访问均被记录并接受审计。\n\n"
    "I will open client information only as my work requires; I will not copy, photograph, "
    "forward or take away any client record; my duty of confidentiality continues after I "
    "leave. Every access is recorded and audited."
)


def _demo_gates_ensure(users: dict[str, User]) -> None:
    """The demo staff have accepted the agreement and completed training, so every page
    of the demo opens; an owner can publish a new version to see the gate at work."""
    agreement = Agreement.objects.order_by("-version").first() or Agreement.objects.create(
        version=1, title=AGREEMENT_TITLE, body=AGREEMENT_BODY)
    today = timezone.localdate()
    for user in users.values():
        AgreementAcceptance.objects.get_or_create(agreement=agreement, user=user)
        if not TrainingRecord.objects.filter(user=user, expires_on__gte=today).exists():
            TrainingRecord.objects.create(user=user, course="客户隐私与个人信息保护法基础",
                                          completed_on=today,
                                          expires_on=today + dt.timedelta(days=365))


def demo_recovery_codes(*, usernames: Iterable[str]) -> dict[str, list[str]]:
    """Unused two-factor recovery codes of the demo users whose role needs two-factor, made
    on first use, so the demo can be tried without an authenticator app at hand."""
    codes = {}
    for user in User.objects.filter(username__in=list(usernames), staff__isnull=False):
        if user.staff.role not in settings.OTP_REQUIRED_ROLES:
            continue
        device, _created = StaticDevice.objects.get_or_create(
            user=user, name="recovery", defaults={"confirmed": True})
        if not device.token_set.exists():
            StaticToken.objects.bulk_create(
                [StaticToken(device=device, token=StaticToken.random_token()) for _ in range(5)])
        codes[user.username] = list(device.token_set.values_list("token", flat=True))
    return codes


def _demo_users(*, password: str) -> dict[str, User]:
    """The demo users that exist, with passwords brought in line with `password`.

    `make run` prints the current demo password, so a changed SALON_VAULT_DEMO_PASSWORD
    must reach users created by an earlier run. Checking one user costs one hash. Only
    staff accounts count as demo users: a superuser called "owner" keeps its password.
    """
    users = {u.username: u for u in User.objects.filter(
        username__in=DEMO_NAMES, is_superuser=False, staff__isnull=False)}
    probe = next(iter(users.values()), None)
    if probe is not None and not probe.check_password(password):
        User.objects.filter(pk__in=[u.pk for u in users.values()]).update(
            password=make_password(password))
    return users


def salon_has_data() -> bool:
    """True once there are clients, or staff other than the demo staff: `--once` then
    leaves the salon alone. A run that crashed before its first batch counts as not loaded.
    """
    return (Client.objects.exists()
            or StaffProfile.objects.exclude(user__username__in=DEMO_NAMES).exists())


def demo_logins(*, password: str) -> list[DemoLogin]:
    with transaction.atomic():
        return _logins(_demo_users(password=password))
