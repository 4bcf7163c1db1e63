"""bench/surge keeps working: its quick mode runs the whole scenario end to end.

A real gunicorn, a Celery worker on Redis and a database of its own; the bench itself checks
every write and the figures and exits non-zero when a request failed or a check did not hold.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_surge_bench_quick_mode_completes_and_verifies():
    with socket.socket() as sock:
        sock.settimeout(1)
        if sock.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x").rsplit("/", 1)[0]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment["BENCH_SERVER_URL"] = server
    result = subprocess.run(
        [sys.executable, "bench/surge/run.py", "--quick"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "RESULT: no request failed; every write checked" in output
    assert "0 lost writes" in output
    assert "equal aggregate --rebuild's" in output
    assert "=== optimised against baseline (same run)" in output
