"""The embedded SQLite database is opened in WAL mode with the project's pragmas."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    pragmas = {name: cursor.execute(f"PRAGMA {name}").fetchone()[0]
               for name in ("journal_mode", "synchronous", "cache_size", "foreign_keys")}
print(json.dumps({"pragmas": pragmas, "transaction_mode": connection.transaction_mode}))
"""


def test_sqlite_uses_wal_normal_sync_and_immediate_transactions(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(DJANGO_SETTINGS_MODULE="surveysite.settings.local",
                       DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["pragmas"] == {"journal_mode": "wal", "synchronous": 1, "cache_size": -65536, "foreign_keys": 1}
    assert probe["transaction_mode"] == "IMMEDIATE"
