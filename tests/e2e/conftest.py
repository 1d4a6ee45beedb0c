"""Browser tests: Playwright driving Debian's Chromium against the live test server.

No browser is ever downloaded. Outside CI the tests skip when Chromium is missing; with
CI=true a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which(
    "chromium-browser")

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# to set up data are synchronous and safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.django_db(transaction=True,
                                                  databases=["default", "vault"]))


def authenticator(username: str):
    """The person's authenticator app (set up if missing) when their role signs in with a
    second factor; returns a function that reads its current code, or None."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.get(username=username)
    if user.staff.role not in settings.OTP_REQUIRED_ROLES:
        return None
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or \
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return lambda: f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required for browser tests in CI")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN",
                                  viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in_with(page, username: str, code, password: str = "correct-horse-battery-9"):  # noqa: S107
    """Sign in through the pages; `code` reads the authenticator (None: no second factor)."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    if code is not None:  # a role that reads health data: the second factor
        page.wait_for_url("**/accounts/otp/**")
        page.fill("#id_token", code())
        page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.fixture
def sign_in(page):
    def as_(username: str, password: str = "correct-horse-battery-9"):  # noqa: S107
        sign_in_with(page, username, authenticator(username), password)
        page.wait_for_url("**/clients/**")
        return page

    return as_


@pytest.fixture
def staff(browser, live_server):
    """Sign a staff member in, in a browser of their own. The page's `recovery` gives
    recovery codes for the password page that sensitive steps ask for (the app's code was
    just used to sign in)."""
    from django.contrib.auth.models import User
    from django_otp.plugins.otp_static.models import StaticDevice

    contexts = []

    def as_(username: str):
        user = User.objects.get(username=username)
        device = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
        codes = [f"rc{user.pk % 100_000}-{n}" for n in range(3)]  # django-otp keeps 16 chars
        for code in codes:
            device.token_set.create(token=code)
        context = browser.new_context(base_url=live_server.url, locale="zh-CN",
                                      viewport={"width": 1024, "height": 768})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.recovery = iter(codes)
        sign_in_with(page, username, authenticator(username))
        assert "/accounts/" not in page.url
        return page

    yield as_
    for context in contexts:
        context.close()
