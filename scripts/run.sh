#!/usr/bin/env bash
# Serve the demo salon on the embedded defaults: SQLite, a local keyring file, and a
# Celery worker with beat on a filesystem broker. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${SALON_VAULT_HOST:-127.0.0.1}
PORT=${SALON_VAULT_PORT:-8000}
export DEBUG=${DEBUG:-true}

mkdir -p var/celery/queue var/celery/processed
$PY manage.py vault_init
$PY manage.py migrate --noinput -v0
$PY manage.py migrate --database vault --noinput -v0
$PY manage.py compilemessages --ignore=.venv -v0 2>/dev/null || true
$PY manage.py seed_demo --once --clients "${SALON_VAULT_DEMO_CLIENTS:-300}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "Salon Vault stopped."
}
trap cleanup INT TERM EXIT

.venv/bin/celery -A salon_vault worker --beat --pool=solo --loglevel=INFO \
  --schedule=var/celery/beat-schedule >var/celery/worker.log 2>&1 &
pids+=($!)
$PY manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)

sleep 2
cat <<TXT

  Salon Vault is running at http://$HOST:$PORT/
  Celery worker + beat log: var/celery/worker.log
  Demo logins are printed above (password from SALON_VAULT_DEMO_PASSWORD, else var/demo_password).
  Press Ctrl-C to stop.

TXT
wait -n "${pids[@]}"
