#!/usr/bin/env python
"""The load scenario, end to end: a scratch salon of N clients, the load staff, gunicorn
as `make run` starts it, locust headless for a fixed number of sessions and time, the
report (p50/p95 per kind of click, errors, req/s), and everything removed afterwards.

    .venv/bin/python bench/load/run.py --quick                      # about a minute
    .venv/bin/python bench/load/run.py --db postgresql --redis redis://127.0.0.1:6379/3 \\
        --keep var-load-100k --users 50 --time 5m --markdown     # see bench/README.md

It exits non-zero when any request failed: a load run with errors has found a fault.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:1] = [str(ROOT)]  # the project, not bench/load/, comes first

from bench.common import add_run_arguments, code_version, report, run_header, say  # noqa: E402
from bench.load import stats  # noqa: E402
from bench.salon import ensure_seeded, prepare_databases, scratch, setup_django  # noqa: E402

BIN = Path(sys.executable).parent
QUICK = {"clients": 2_000, "users": 8, "time": "20s", "think": "0.5,2"}
FULL = {"clients": 100_000, "users": 50, "time": "5m", "think": "2,8"}
SERVER_ENV = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "VAULT_DATABASE_URL", "REDIS_URL",
              "SALON_VAULT_KEYRING", "SECRET_KEY", "DEBUG")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_arguments(parser, quick=f"{QUICK['clients']:,} clients, {QUICK['users']} sessions "
                                    f"for {QUICK['time']}, short think time",
                      keep="a second run reuses the seeded salon and the load staff")
    parser.add_argument("--clients", type=int, help=f"default {FULL['clients']:,}")
    parser.add_argument("--users", type=int, help=f"simulated staff, each one session "
                                                  f"(default {FULL['users']})")
    parser.add_argument("--spawn-rate", type=float, default=2.0,
                        help="sessions started per second (default 2: each signs in)")
    parser.add_argument("--time", help=f"how long locust runs (default {FULL['time']})")
    parser.add_argument("--think", help=f"think time between clicks, min,max seconds "
                                        f"(default {FULL['think']}; 0,0 to find saturation)")
    parser.add_argument("--redis", metavar="URL", default="",
                        help="REDIS_URL for the server (cache, sessions' neighbours, broker); "
                             "default none: the embedded defaults")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def _no_think_time(think: str) -> bool:
    return all(float(part) == 0 for part in think.split(","))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.pop("REDIS_URL", None)
    if args.redis:
        os.environ["REDIS_URL"] = args.redis
    measured_code = code_version()
    with scratch("load", keep=args.keep, postgresql=args.db == "postgresql",
                 quick=args.quick) as place:
        database, vault_database = place.urls
        setup_django(place.var_dir, database=database, vault_database=vault_database)
        accounts = prepare(args, place.var_dir)
        prefix = place.var_dir / "locust"
        with server(place.var_dir) as url:
            swarm(args, url, accounts, prefix)
        results = stats.rows(stats.read_stats(prefix), stats.work_times(prefix), args.users,
                             steady=stats.steady_rate(prefix, args.users),
                             saturating=_no_think_time(args.think))
        failed = stats.failures(prefix)
        if failed:  # the server's account of them, before its directory is removed
            print(server_errors(place.var_dir / "gunicorn.log"))
    engine = "PostgreSQL" if args.db == "postgresql" else "SQLite"
    run_header("load scenario", f"{args.clients:,} clients, {args.users} sessions for "
                                f"{args.time}, think time {args.think} s, gunicorn + {engine}"
                                f"{' + Redis' if args.redis else ''}")
    print(f"code: {measured_code}")
    if args.quick:
        print("--quick: a smoke test of the scenario on a small salon; its figures are no "
              "measurement.")
    print()
    report(results, markdown=args.markdown,
           headers=("measure", "p50 / p95", "errors", "rate", "target", "result"))
    if failed:
        print("\nFailed requests:\n  " + "\n  ".join(failed))
        sys.exit(1)


def prepare(args: argparse.Namespace, var_dir: Path) -> Path:
    """The seeded salon and the load staff; returns the accounts file for locust."""
    from django.db import connections

    from bench.load.accounts import accounts_ensure
    from records import maintenance

    fresh = prepare_databases()
    # A photo for one client in fifty, so that every stylist has clients with photos.
    ensure_seeded(args.clients, fresh, photos=max(20, args.clients // 50))
    path = var_dir / "load-accounts.json"
    accounts = accounts_ensure(args.users, path)
    roles = sorted({(a["role"], a["location"]) for a in accounts})
    say(f"{len(accounts)} load staff ({', '.join(f'{r} {loc}' for r, loc in roles)}), "
        f"authenticator keys in {path.name}")
    maintenance.refresh_statistics()
    connections.close_all()  # the server has the databases to itself
    return path


class server:
    """gunicorn as `make run` starts it (salon_vault/gunicorn.conf.py, DEBUG off, plain
    HTTP on the loopback address), on a free port; stopped on the way out."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.log = var_dir / "gunicorn.log"

    def __enter__(self) -> str:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV}
        env.update({k: os.environ[k] for k in ("DATABASE_URL", "VAULT_DATABASE_URL", "REDIS_URL")
                    if k in os.environ})
        env.update(DJANGO_SETTINGS_MODULE="salon_vault.settings", DEBUG="false",
                   SALON_VAULT_HTTPS="false", SALON_VAULT_HOST="127.0.0.1",
                   SALON_VAULT_PORT=str(port), SALON_VAULT_VAR=str(self.var_dir))
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
                [str(BIN / "gunicorn"), "-c", "salon_vault/gunicorn.conf.py"], cwd=ROOT,
                env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        self._wait(url)
        say(f"gunicorn (pid {self.process.pid}) answers at {url}")
        return url

    def _wait(self, url: str) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/accounts/login/", timeout=5):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise SystemExit(f"gunicorn did not answer:\n{self.log.read_text()[-3000:]}")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def server_errors(log: Path, limit: int = 80) -> str:
    """The server log's errors and tracebacks (the first `limit` lines of them)."""
    lines = log.read_text(errors="replace").splitlines()
    first = next((i for i, line in enumerate(lines) if " ERROR " in line or
                  line.startswith("Traceback")), None)
    return "" if first is None else "Server errors (gunicorn.log):\n" + "\n".join(
        lines[first:first + limit])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def swarm(args: argparse.Namespace, url: str, accounts: Path, prefix: Path) -> None:
    """locust, headless, for the fixed number of sessions and time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_LOAD_ACCOUNTS": str(accounts),
           "BENCH_LOAD_THINK": args.think, "BENCH_LOAD_WORK": f"{prefix}_work.json"}
    command = [str(BIN / "locust"), "-f", str(ROOT / "bench" / "load" / "locustfile.py"),
               "--headless", "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
               "--run-time", args.time, "--host", url, "--csv", str(prefix), "--only-summary",
               "--stop-timeout", "15", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    say(f"locust: {args.users} sessions, {args.spawn_rate}/s, for {args.time}...")
    subprocess.run(command, cwd=ROOT, env=env, check=True,  # noqa: S603
                   stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
