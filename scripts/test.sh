#!/usr/bin/env bash
# Lint, migration check, the suite on SQLite, then again on PostgreSQL + Redis.
# With CI=true the PostgreSQL run and the browser tests are required, never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export SALON_VAULT_VAR="${SALON_VAULT_VAR:-$(mktemp -d)}"

echo "== ruff"
$BIN/ruff check .
echo "== migrations are committed"
$BIN/python manage.py makemigrations --check --dry-run
echo "== pytest on SQLite"
$BIN/pytest "$@"

PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/salon_vault}
PG_VAULT_URL=${TEST_VAULT_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/salon_vault_keys}
TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
if $BIN/python scripts/services_up.py "$PG_URL" "$TEST_REDIS_URL"; then
  echo "== pytest on PostgreSQL + Redis"
  DATABASE_URL=$PG_URL VAULT_DATABASE_URL=$PG_VAULT_URL REDIS_URL=$TEST_REDIS_URL \
    $BIN/pytest "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL and Redis are required in CI but are not reachable." >&2
  exit 1
else
  echo "== PostgreSQL or Redis not reachable: skipped the second run (required in CI)"
fi
