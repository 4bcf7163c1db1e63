#!/usr/bin/env bash
# The whole test suite on PostgreSQL, then the portable subset on SQLite.
# DATABASE_URL may name another PostgreSQL server; by default postgres@127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/surveysite}"
case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) echo "scripts/test.sh runs the suite on PostgreSQL; DATABASE_URL is '$DATABASE_URL'." >&2; exit 2 ;;
esac

# Fail loudly rather than fall back to SQLite: the production database is PostgreSQL.
if ! .venv/bin/python - <<'PY'
import os, sys
import psycopg
url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
try:
    psycopg.connect(url, connect_timeout=5).close()
except Exception as exc:
    sys.exit(f"Cannot reach PostgreSQL at {url}: {exc}")
PY
then
  echo "The tests need PostgreSQL (start it, or set DATABASE_URL). Not falling back to SQLite." >&2
  exit 1
fi

.venv/bin/python manage.py compilemessages --ignore=.venv -v0
# loadgroup: tests marked xdist_group (the demo tests sharing one load_demo) stay on one worker.
.venv/bin/pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup --create-db "$@"

echo "--- The portable subset on the embedded SQLite database"
DATABASE_URL="sqlite:///$(mktemp -d)/test.sqlite3" .venv/bin/pytest -m sqlite --create-db -q
