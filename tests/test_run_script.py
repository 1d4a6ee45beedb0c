"""`make run` (scripts/run.sh) is a real server: gunicorn with DEBUG off and static files
from WhiteNoise, a taken port said plainly before anything is set up, and the URL printed
only once the server answers it."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings

BASE = Path(settings.BASE_DIR)
SCRIPT = BASE / "scripts" / "run.sh"
pytestmark = pytest.mark.skipif(not (BASE / ".venv" / "bin" / "gunicorn").exists(),
                                reason="the project's .venv (make install) is not there")


def _env(var: Path, port: int, **extra: str) -> dict[str, str]:
    # A clean environment, as on a fresh machine: none of the test run's databases.
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    return {**keep, "SALON_VAULT_VAR": str(var), "SALON_VAULT_PORT": str(port), **extra}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_taken_port_is_named_before_anything_is_set_up(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([str(SCRIPT)], cwd=BASE, env=_env(tmp_path, port),
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"Port {port} on 127.0.0.1 is not available" in done.stderr
    assert f"SALON_VAULT_PORT={port + 1} make run" in done.stderr
    assert "is running at" not in done.stdout
    assert not (tmp_path / "keyring.json").exists()  # nothing was set up
    assert not (tmp_path / "salon_vault.sqlite3").exists()


def test_a_port_that_is_not_a_number_is_refused(tmp_path):
    done = subprocess.run([str(SCRIPT)], cwd=BASE, env=_env(tmp_path, "80a"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "SALON_VAULT_PORT must be a port number (1-65535), not '80a'" in done.stderr


def _wait_for(log: Path, text: str, server: subprocess.Popen, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        out = log.read_text(errors="replace")
        if text in out:
            return out
        assert server.poll() is None, f"run.sh stopped early:\n{out[-3000:]}"
        time.sleep(0.5)
    pytest.fail(f"{text!r} did not appear within {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def served(tmp_path):
    """`make run` on a scratch folder with a small demo salon; stopped as Ctrl-C would."""
    port, var, log = _free_port(), tmp_path / "var", tmp_path / "run.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(SCRIPT)], cwd=BASE, stdout=out, stderr=subprocess.STDOUT,
                                  env=_env(var, port, SALON_VAULT_DEMO_CLIENTS="3"),
                                  start_new_session=True)
    try:
        printed = _wait_for(log, "Salon Vault is running at", server, 300)
        yield port, var, printed
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
    response = conn.getresponse()
    return response, response.read()


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="run.sh serves the embedded SQLite whatever this run's database: "
                           "checked once, in the SQLite run")
def test_make_run_serves_through_gunicorn_with_static_files_and_debug_off(served):
    port, var, printed = served
    assert f"Salon Vault is running at http://127.0.0.1:{port}/" in printed
    assert "Listening at: http://127.0.0.1:" in printed  # gunicorn, not runserver
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    # The URL was printed once the server answered: the first request succeeds at once.
    login, body = _get(conn, "/accounts/login/")
    assert login.status == 200 and login.getheader("Server", "").startswith("gunicorn")
    assert "no-store" in login.getheader("Cache-Control")
    assert "script-src 'self'" in login.getheader("Content-Security-Policy")

    # Static files: collected into var/static under hashed names, served by WhiteNoise with
    # a long cache lifetime and compressed.
    css = re.search(rb'href="(/static/css/app\.[0-9a-f]{12}\.css)"', body)
    assert css, "the page does not link the collected, hashed stylesheet"
    static, content = _get(conn, css.group(1).decode())
    assert static.status == 200 and content
    assert "immutable" in static.getheader("Cache-Control")
    assert static.getheader("Content-Encoding") == "gzip"
    assert (var / "static" / "staticfiles.json").exists()

    # Longer than gunicorn's 2 s default keep-alive: the idle connection is still open.
    time.sleep(3)
    again, _ = _get(conn, "/accounts/login/")
    assert again.status == 200

    # DEBUG is off: an unknown address shows the plain page, not Django's debug page.
    missing, page = _get(conn, "/no-such-page/")
    assert missing.status == 404
    assert b"URLconf" not in page and b"Django" not in page
    conn.close()

    # The Celery broker keeps every file under the var folder.
    assert {p.name for p in (var / "celery").iterdir()} >= {"queue", "processed", "control"}
