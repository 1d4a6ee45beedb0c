"""The scratch salon a bench measures: Django pointed at a scratch SALON_VAULT_VAR (SQLite
there, or scratch PostgreSQL databases), its keyring and schema, seeded clients, and 20
staff who have passed their gates.

Like bench/common.py, importing this module does not set Django up: a bench calls
``setup_django`` once its environment is chosen.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import say

PG_BASE = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/")
# Appended to the scratch database names, so that two runs at once (a smoke test beside a
# measurement) never share a database.
DB_TAG = os.environ.get("BENCH_DB_TAG", "")
# A migrated, empty salon to start from (bench/template.py makes one): its keyring, SQLite
# databases and static files are copied into a new scratch directory, and its PostgreSQL
# databases are the templates of new ones, so that a run need not migrate (about 20 s of
# CPU, most of a --quick run; the smoke test uses one for all the benches).
TEMPLATE = os.environ.get("BENCH_TEMPLATE", "")


# -- setup -----------------------------------------------------------------------------
def setup_django(var_dir: Path, *, database: str | None = None,
                 vault_database: str | None = None, settings: str = "bench.settings") -> None:
    """Point the embedded defaults at `var_dir` (SQLite there unless URLs are given)."""
    os.environ["SALON_VAULT_VAR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    # Plain HTTP on this machine, as `make run`: no redirect to HTTPS, no secure-only cookies.
    os.environ["SALON_VAULT_HTTPS"] = "false"
    for name, url in (("DATABASE_URL", database), ("VAULT_DATABASE_URL", vault_database)):
        if url:
            os.environ[name] = url
        else:
            os.environ.pop(name, None)
    import django

    django.setup()


def prepare_databases() -> bool:
    """Keyring and both databases; True when the keyring was created just now."""
    from django.conf import settings
    from django.core.management import call_command

    source = str(settings.SALON_VAULT_KEYRING)
    fresh = not source.startswith("env:") and not Path(source.removeprefix("file:")).exists()
    out = io.StringIO()
    call_command("vault_init", stdout=out)
    for alias in ("default", "vault"):
        call_command("migrate", database=alias, interactive=False, verbosity=0)
    # The pages name their static files through the manifest, as in production.
    call_command("collectstatic", interactive=False, verbosity=0)
    say(f"{out.getvalue().strip()}; migrated `default` and `vault`; static files collected")
    return fresh


def ensure_seeded(clients: int, fresh_keyring: bool, *, photos: int = 20,
                  treatments_per_client: int | None = None) -> int:
    """Seed the salon up to `clients` with records.demo.seed_demo, or reuse what is there.

    `photos` counts before/after pairs (seed_demo's argument: two Photo rows each);
    `treatments_per_client` sets the treatments of the clients seeded now (seed_demo's
    default, 3 each, when None)."""
    from records import demo
    from records.models import Client

    have = Client.objects.count()
    if have and fresh_keyring:
        sys.exit("The database already holds clients sealed under another keyring: pass "
                 "--keep DIR (the directory holding that keyring).")
    if have >= clients:
        say(f"reusing {have:,} seeded clients")
        return have
    say(f"seeding {clients - have:,} clients with records.demo.seed_demo (several minutes at "
        f"100,000)...")
    treatments = None if treatments_per_client is None \
        else (clients - have) * treatments_per_client
    result = demo.seed_demo(clients=clients - have, treatments=treatments, photos=photos,
                            stdout=sys.stdout)
    say(f"seeded {result.clients:,} clients, {result.treatments:,} treatments, "
        f"{result.photos} photos, {result.forms} forms in {result.seconds:.0f}s")
    return Client.objects.count()


# -- PostgreSQL scratch databases --------------------------------------------------------
def pg_url(name: str) -> str:
    return PG_BASE.rstrip("/") + "/" + name


def _pg_admin():
    import psycopg

    return psycopg.connect(pg_url("postgres"), autocommit=True)


def pg_exists(name: str) -> bool:
    with _pg_admin() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() \
            is not None


def template_names() -> tuple[str, str]:
    """The PostgreSQL databases of the template salon (default, vault)."""
    base = f"sv_bench_template{'_' + DB_TAG if DB_TAG else ''}"
    return base, f"{base}_keys"


def pg_create(name: str, *, fresh: bool, template: str | None = None) -> None:
    """Create database `name` (dropping it first when `fresh`), as a copy of `template` if
    given. Names are bench-owned."""
    from psycopg import sql

    assert name.startswith("sv_bench_"), name  # never anybody else's database
    with _pg_admin() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (name,)).fetchone() is not None
        if exists and fresh:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = False
        if not exists and template:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)))
        elif not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def pg_drop(name: str) -> None:
    from psycopg import sql

    assert name.startswith("sv_bench_"), name
    with _pg_admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@dataclass
class Scratch:
    """Where one run keeps its salon: SALON_VAULT_VAR, and PostgreSQL databases if any."""

    var_dir: Path
    databases: tuple[str, ...] = ()  # (default, vault) names; () on SQLite

    @property
    def urls(self) -> tuple[str | None, str | None]:
        return (pg_url(self.databases[0]), pg_url(self.databases[1])) if self.databases \
            else (None, None)


@contextlib.contextmanager
def scratch(kind: str, *, keep: Path | None, postgresql: bool, quick: bool) -> Iterator[Scratch]:
    """A scratch salon for bench `kind`, removed at the end unless kept (--keep DIR).

    The keys database matches the keyring in the directory: without --keep, or with a new
    --keep directory, both databases start empty.
    """
    var_dir = keep.resolve() if keep else Path(tempfile.mkdtemp(prefix=f"salon-vault-bench-{kind}-"))
    var_dir.mkdir(parents=True, exist_ok=True)
    names: tuple[str, ...] = ()
    templates: tuple[str | None, ...] = template_names() if TEMPLATE and not keep \
        else (None, None)
    if postgresql:
        base = f"sv_bench_{kind}{'_quick' if quick else ''}{'_' + DB_TAG if DB_TAG else ''}"
        names = (base, f"{base}_keys")
        fresh = not keep or not (var_dir / "keyring.json").exists() or not pg_exists(names[1])
        for name, template in zip(names, templates, strict=True):
            pg_create(name, fresh=fresh, template=template)
    if not keep:
        copy_template(var_dir)
    try:
        yield Scratch(var_dir, names)
    finally:
        _close_connections()
        if not keep:
            for name in names:
                pg_drop(name)
            shutil.rmtree(var_dir, ignore_errors=True)


def copy_template(var_dir: Path) -> None:
    """The template salon's files (keyring, SQLite databases, static files), if there is one."""
    if TEMPLATE:
        shutil.copytree(TEMPLATE, var_dir, dirs_exist_ok=True)


def _close_connections() -> None:
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        from audit import writer

        writer.close_all()  # the side connections of write-behind (PostgreSQL)
        connections.close_all()


# -- staff -----------------------------------------------------------------------------
# The demo salon has 12 staff; these 8 make the 20 of the benchmarks (usernames, role,
# branch). They are created like the demo staff: shared password hash, gates passed.
EXTRA_STAFF = (
    ("stylist3_bj", "stylist", "bj"), ("stylist4_bj", "stylist", "bj"),
    ("beautician2_bj", "beautician", "bj"), ("reception2_bj", "reception", "bj"),
    ("stylist3_sh", "stylist", "sh"), ("stylist4_sh", "stylist", "sh"),
    ("beautician2_sh", "beautician", "sh"), ("reception2_sh", "reception", "sh"),
)


def ensure_staff() -> dict:
    """The 12 demo staff (records.demo) plus EXTRA_STAFF: 20 users, by username."""
    from records.demo.staff import demo_password, demo_staff_ensure

    users = demo_staff_ensure(password=demo_password().value)
    users.update(staff_ensure(EXTRA_STAFF, password_hash=users["owner"].password))
    return users


def staff_ensure(staff, *, password_hash: str) -> dict:
    """Staff (username, role, location code) created like the demo staff if missing: the
    given password hash, the agreement accepted and training done. Returns them by name."""
    import datetime as dt

    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from access.models import (
        Agreement,
        AgreementAcceptance,
        Location,
        StaffProfile,
        TrainingRecord,
    )

    places = {p.code: p for p in Location.objects.all()}
    agreement = Agreement.objects.order_by("-version").first()
    today = timezone.localdate()
    users = {}
    with transaction.atomic():
        for username, role, place in staff:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create(username=username, password=password_hash)
                StaffProfile.objects.create(user=user, role=role, location=places[place],
                                            display_name=username)
                if agreement is not None:
                    AgreementAcceptance.objects.get_or_create(agreement=agreement, user=user)
                TrainingRecord.objects.create(user=user, course="bench", completed_on=today,
                                              expires_on=today + dt.timedelta(days=365))
            users[username] = user
    return users


def verify_second_factor(http, user) -> None:
    """Mark a test-client session as having passed two-factor (every role that reads\nhealth data signs in with one)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_static.models import StaticDevice

    device, _created = StaticDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True})
    session = http.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@contextlib.contextmanager
def request_facts(request_id: str = "0" * 32) -> Iterator[None]:
    """Bind the facts a request carries (IP, user agent) as the middleware does."""
    from audit import context

    token = context.bind(context.RequestFacts(
        request_id=request_id, ip="192.168.1.23",
        user_agent="Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                   "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"))
    try:
        yield
    finally:
        context.unbind(token)
