"""HTTP hardening: a Content-Security-Policy that runs no inline script, pages that no
browser or proxy keeps, HTTPS settings from the environment, and `check --deploy` clean
with the production environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

BASE = Path(settings.BASE_DIR)
# The production environment the README documents (docker-compose.yml sets the same).
PRODUCTION = {
    "SECRET_KEY": "k7Qf2vXr9LmP4sT8wYb1Nc6Hd3Jg5Ze0Ua-Ri_Eo.Ty;Ik,Ol:Pq!Ws@Ex#Rc$Vb%",
    "ALLOWED_HOSTS": "salon.example.cn",
    "CSRF_TRUSTED_ORIGINS": "https://salon.example.cn",
    "TRUSTED_PROXY_HEADER": "X-Forwarded-Proto",
}


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


# -- Content-Security-Policy ------------------------------------------------------------


def _assert_strict_policy(response):
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["style-src"] == ["'self'"]  # no <style> element; attributes see settings
    assert not any("unsafe" in value or "*" in value
                   for name, values in policy.items() if name != "style-src-attr"
                   for value in values)


def test_the_sign_in_page_carries_a_policy_without_inline_script(client):
    _assert_strict_policy(client.get(reverse("login")))


def test_a_client_page_carries_the_policy(login, stylist, client_record):
    response = login(stylist).get(reverse("records:client_detail", args=[client_record.pk]))
    assert response.status_code == 200
    _assert_strict_policy(response)


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S)
JS_URL = re.compile(r"""(?:href|action|formaction|src)\s*=\s*["']?\s*javascript:""", re.I)


def _templates() -> list[Path]:
    roots = [BASE / "templates", *BASE.glob("*/templates")]
    return sorted(path for root in roots for path in root.rglob("*.html")
                  if ".venv" not in path.parts)


def test_no_template_has_inline_script_or_handler_attributes():
    """The policy would block them: their behaviour belongs in static/js/*.js."""
    offenders = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, HANDLER, JS_URL):
            offenders += [f"{path.relative_to(BASE)}: {m.group(0)[:80]}"
                          for m in pattern.finditer(text)]
    assert _templates(), "no templates were found"
    assert offenders == []


def test_every_script_a_template_names_is_a_static_file_of_the_project():
    named = set()
    for path in _templates():
        named |= set(re.findall(r"""\{%\s*static\s+["']([^"']+\.js)["']""", path.read_text()))
    assert named, "no script is loaded at all"
    missing = [name for name in named if not (BASE / "static" / name).is_file()]
    assert missing == []


# -- Cache-Control ----------------------------------------------------------------------


@pytest.mark.parametrize("as_role", ["stylist", "receptionist", "owner"])
def test_pages_with_personal_data_are_never_stored(request, login, client_record, as_role):
    http = login(request.getfixturevalue(as_role))
    for url in (reverse("records:client_list"),
                reverse("records:client_detail", args=[client_record.pk]),
                reverse("home")):
        response = http.get(url)
        assert response.status_code in (200, 302), url
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= directives, url
        assert not any(d.startswith(("max-age=", "s-maxage=")) and d[-1] != "0"
                       for d in directives), url


def test_audit_pages_are_never_stored(login, auditor):
    response = login(auditor).get(reverse("audit:events"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_sign_in_page_is_not_stored_either(client):
    assert "no-store" in client.get(reverse("login"))["Cache-Control"]


def test_static_files_are_cached_and_carry_no_no_store(client):
    response = client.get(settings.STATIC_URL + "css/app.css")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body and "no-store" not in response.get("Cache-Control", "")
    assert "max-age=" in response["Cache-Control"]


# -- HTTPS ------------------------------------------------------------------------------


def test_plain_http_is_redirected_to_https_when_the_setting_is_on(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("login"))
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_the_trusted_proxy_header_marks_a_request_secure_and_it_gets_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = False
    response = client.get(reverse("login"), headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert client.get(reverse("login")).status_code == 301  # the header absent: plain HTTP


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    # Only the variables named here and the basics of a shell: none of the test run's own.
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TZ"}}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE, capture_output=True,
                          text=True, timeout=120,
                          env={**keep, "SALON_VAULT_VAR": str(tmp_path), **env})


def _settings_under(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    names = ["DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE",
             "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS"]
    done = _run(["shell", "-c", "from django.conf import settings as s; "
                 f"print(*(repr(getattr(s, n, None)) for n in {names!r}), sep='|')"],
                env, tmp_path)
    assert done.returncode == 0, done.stderr
    return dict(zip(names, done.stdout.strip().splitlines()[-1].split("|"), strict=True))


def test_with_debug_off_every_https_setting_defaults_to_on(tmp_path):
    seen = _settings_under(PRODUCTION, tmp_path)
    assert seen == {
        "DEBUG": "False", "SECURE_SSL_REDIRECT": "True", "SECURE_HSTS_SECONDS": "31536000",
        "SESSION_COOKIE_SECURE": "True", "CSRF_COOKIE_SECURE": "True",
        "SECURE_PROXY_SSL_HEADER": "('HTTP_X_FORWARDED_PROTO', 'https')",
        "CSRF_TRUSTED_ORIGINS": "['https://salon.example.cn']"}


def test_the_local_plain_http_switch_turns_them_off(tmp_path):
    seen = _settings_under({**PRODUCTION, "SALON_VAULT_HTTPS": "false"}, tmp_path)
    assert (seen["SECURE_SSL_REDIRECT"], seen["SECURE_HSTS_SECONDS"],
            seen["SESSION_COOKIE_SECURE"]) == ("False", "0", "False")


def test_a_badly_written_switch_stops_the_start(tmp_path):
    done = _run(["check"], {**PRODUCTION, "SECURE_SSL_REDIRECT": "sometimes"}, tmp_path)
    assert done.returncode != 0
    assert "SECURE_SSL_REDIRECT must be a boolean" in done.stderr


def test_check_deploy_with_the_production_environment_prints_no_warning(tmp_path):
    done = _run(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    assert "WARNING" not in done.stdout + done.stderr


def test_check_deploy_does_warn_when_https_is_switched_off(tmp_path):
    """The clean result above means something: the same check sees plain HTTP."""
    done = _run(["check", "--deploy"], {**PRODUCTION, "SALON_VAULT_HTTPS": "false"}, tmp_path)
    said = done.stderr + done.stdout
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in said, said


# -- static files -----------------------------------------------------------------------


def test_pages_link_hashed_static_names_once_collected_and_plain_names_before(
        client, settings, tmp_path):
    from django.core.management import call_command

    from salon_vault.storage import StaticFilesStorage

    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "salon_vault.storage.StaticFilesStorage"}}
    # Nothing collected (a benchmark, a command run with DEBUG off): the page still renders.
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'href="/static/css/app.css"' in page.content

    call_command("collectstatic", interactive=False, verbosity=0)
    collected = StaticFilesStorage(location=settings.STATIC_ROOT, base_url="/static/")
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", collected.url("css/app.css"))
    assert (settings.STATIC_ROOT / "css" / "app.css.gz").exists()
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        collected.url("css/not-there.css")  # once collected, a wrong name is an error again
