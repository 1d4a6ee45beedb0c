#!/usr/bin/env bash
# Serve the demo salon on the embedded defaults: SQLite, a local keyring file, and a
# Celery worker with beat on a filesystem broker. Ctrl-C stops everything it started.
#   scripts/run.sh       gunicorn with DEBUG off, static files by WhiteNoise (`make run`)
#   scripts/run.sh dev   Django's runserver with DEBUG on, reloading on changes (`make dev`)
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-serve}
PY=.venv/bin/python
HOST=${SALON_VAULT_HOST:-127.0.0.1}
PORT=${SALON_VAULT_PORT:-8000}
VAR=${SALON_VAULT_VAR:-var}
if [ "$MODE" = dev ]; then
  export DEBUG=${DEBUG:-true}
else
  export DEBUG=${DEBUG:-false}
fi
# Plain HTTP on this machine: no HTTPS redirect, HSTS or secure-only cookies (a deployment
# behind TLS leaves this unset; see the README's environment table).
export SALON_VAULT_HTTPS=${SALON_VAULT_HTTPS:-false}

# The port first, before anything is set up, so that a taken port is said plainly.
if ! $PY - "$HOST" "$PORT" <<'PY'
import socket
import sys

host, port = sys.argv[1], sys.argv[2]
if not port.isdigit() or not 0 < int(port) < 65536:
    sys.exit(f"SALON_VAULT_PORT must be a port number (1-65535), not {port!r}.")
family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
with socket.socket(family, socket.SOCK_STREAM) as probe:
    # The same option gunicorn sets: a port left in TIME_WAIT by a stopped server is free.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host.strip("[]"), int(port)))
    except OSError as exc:
        sys.exit(f"Port {port} on {host} is not available ({exc.strerror}): another program "
                 f"(perhaps another Salon Vault) is using it.\nStop that program, or choose "
                 f"another port, for example:  SALON_VAULT_PORT={int(port) + 1} make run")
PY
then
  exit 1
fi

# A keyring from before backups existed gets its backup keys (nothing else changes).
$PY manage.py vault_init --add-backup-keys
$PY manage.py migrate --noinput -v0
$PY manage.py migrate --database vault --noinput -v0
$PY manage.py compilemessages --ignore=.venv -v0 2>/dev/null || true
[ "$MODE" = dev ] || $PY manage.py collectstatic --noinput -v0
$PY manage.py seed_demo --once --clients "${SALON_VAULT_DEMO_CLIENTS:-300}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "Salon Vault stopped."
}
trap cleanup INT TERM EXIT

mkdir -p "$VAR/celery"
.venv/bin/celery -A salon_vault worker --beat --pool=solo --loglevel=INFO \
  >"$VAR/celery/worker.log" 2>&1 &
pids+=($!)
if [ "$MODE" = dev ]; then
  $PY manage.py runserver "$HOST:$PORT" --noreload &
else
  .venv/bin/gunicorn -c salon_vault/gunicorn.conf.py &
fi
web=$!
pids+=("$web")

# The URL is printed only once the server answers it.
url="http://$HOST:$PORT/"
probe_url="http://$([ "$HOST" = 0.0.0.0 ] && echo 127.0.0.1 || echo "$HOST"):$PORT/accounts/login/"
if ! $PY - "$probe_url" "$web" <<'PY'
import os
import sys
import time
import urllib.error
import urllib.request

url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("The web server stopped before it answered; its messages are above.")
    try:
        with urllib.request.urlopen(url, timeout=2):
            sys.exit(0)
    except urllib.error.HTTPError as exc:
        # It answers; a 400 means this host name is missing from ALLOWED_HOSTS.
        sys.exit(0 if exc.code != 400 else
                 f"The server answers {url} with 400: add the host to ALLOWED_HOSTS.")
    except OSError:
        pass
    time.sleep(0.3)
sys.exit(f"The web server did not answer {url} within 90 seconds.")
PY
then
  exit 1
fi
cat <<TXT

  Salon Vault is running at $url
  Celery worker + beat log: $VAR/celery/worker.log
  Demo logins are printed above (password from SALON_VAULT_DEMO_PASSWORD, else $VAR/demo_password).
  Press Ctrl-C to stop.

TXT
wait -n "${pids[@]}"
