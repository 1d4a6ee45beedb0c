"""Helpers shared by the benchmarks in bench/ (audit.py, access.py).

Importing this module touches neither Django nor the project: each bench sets its
environment (SALON_VAULT_VAR, DATABASE_URL, ...) first and then calls ``setup_django``.
A bench run as ``python bench/NAME.py`` must first put the project root, not bench/, at
the head of sys.path (see the top of bench/audit.py): bench/audit.py and bench/access.py
would otherwise shadow the ``audit`` and ``access`` apps.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/")

# -- output ----------------------------------------------------------------------------
BEGAN = time.monotonic()


def say(message: str = "") -> None:
    print(f"[{time.monotonic() - BEGAN:6.0f}s] {message}" if message else "", flush=True)


@dataclass
class Result:
    measure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None  # None: information only, no target


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs"


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank


HEADERS = ("measure", "ours", "baseline", "ratio", "target", "result")


def verdict(result: Result) -> str:
    return "—" if result.passed is None else ("PASS" if result.passed else "FAIL")


def print_table(results: list[Result], headers=HEADERS) -> None:
    rows = [(r.measure, r.ours, r.baseline, r.ratio, r.target, verdict(r)) for r in results]
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def print_markdown(results: list[Result], headers=HEADERS) -> None:
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for r in results:
        result = {"PASS": "pass", "FAIL": "**FAIL**"}.get(verdict(r), "—")
        print(f"| {r.measure} | {r.ours} | {r.baseline} | {r.ratio} | {r.target} | {result} |")


def report(results: list[Result], *, markdown: bool, headers=HEADERS) -> None:
    """The table, as Markdown too when asked, and whether every target was met."""
    print_table(results, headers)
    if markdown:
        print()
        print_markdown(results, headers)
    failed = [r for r in results if r.passed is False]
    print()
    print(f"{len(results) - len(failed)} of {len(results)} rows meet or have no target; "
          f"{len(failed)} missed." if failed else "All targets met.")
    say("done")


def code_version(paths=("access", "audit", "records", "vault")) -> str:
    """The commit measured, and whether the measured apps had uncommitted changes."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,  # noqa: S603, S607
                                  timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--", *paths)
    return f"commit {head}" + (" + uncommitted changes in " + ", ".join(
        sorted({line[3:] for line in dirty.splitlines() if line.strip()})) if dirty.strip()
        else "")


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


# -- setup -----------------------------------------------------------------------------
def setup_django(var_dir: Path, *, database: str | None = None,
                 vault_database: str | None = None) -> None:
    """Point the embedded defaults at `var_dir` (SQLite there unless URLs are given)."""
    os.environ["SALON_VAULT_VAR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
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
    say(f"{out.getvalue().strip()}; migrated `default` and `vault`")
    return fresh


def ensure_seeded(clients: int, fresh_keyring: bool) -> int:
    """Seed the salon up to `clients` with records.demo.seed_demo, or reuse what is there."""
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
    result = demo.seed_demo(clients=clients - have, stdout=sys.stdout)
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


def pg_create(name: str, *, fresh: bool) -> None:
    """Create database `name` (dropping it first when `fresh`). Names are bench-owned."""
    from psycopg import sql

    assert name.startswith("sv_bench_"), name  # never anybody else's database
    with _pg_admin() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (name,)).fetchone() is not None
        if exists and fresh:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = False
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def pg_drop(name: str) -> None:
    from psycopg import sql

    assert name.startswith("sv_bench_"), name
    with _pg_admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


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
    from records.demo.staff import demo_password, demo_staff_ensure

    users = demo_staff_ensure(password=demo_password().value)
    places = {p.code: p for p in Location.objects.all()}
    hashed = users["owner"].password
    agreement = Agreement.objects.order_by("-version").first()
    today = timezone.localdate()
    with transaction.atomic():
        for username, role, place in EXTRA_STAFF:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create(username=username, password=hashed)
                StaffProfile.objects.create(user=user, role=role, location=places[place],
                                            display_name=username)
                if agreement is not None:
                    AgreementAcceptance.objects.get_or_create(agreement=agreement, user=user)
                TrainingRecord.objects.create(user=user, course="bench", completed_on=today,
                                              expires_on=today + dt.timedelta(days=365))
            users[username] = user
    return users


def verify_second_factor(http, user) -> None:
    """Mark a test-client session as having passed two-factor (owner, auditor)."""
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
