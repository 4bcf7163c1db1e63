"""bench/surge keeps working: its quick mode runs the whole scenario end to end.

A real gunicorn, a Celery worker on Redis and a database of its own; the bench itself checks
every write and the figures and exits non-zero when a request failed or a check did not hold.
With ``--hosts 1,2`` the same run goes on with two app hosts behind the bench's round-robin
proxy, each reporter's requests alternating between them.
"""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_surge_bench_quick_mode_with_one_then_two_hosts_completes_and_verifies():
    with socket.socket() as sock:
        sock.settimeout(1)
        if sock.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x").rsplit("/", 1)[0]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment["BENCH_SERVER_URL"] = server
    result = subprocess.run(
        [sys.executable, "bench/surge/run.py", "--quick", "--hosts", "1,2"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "RESULT: no request failed; every write checked" in output
    assert output.count("(0 lost writes)") == 3  # one host, two hosts, the baseline
    assert output.count("figures after the approvals equal aggregate --rebuild's") == 2
    assert "=== 1 host against baseline (same run)" in output
    # The two hosts share out the one-host run's gunicorn workers.
    total = re.search(r"2 app hosts \(gunicorn -c \S+ --workers \d+ \+ \d+ = (\d+) workers in all\)", output)
    assert total and f"1 app host (gunicorn -c {ROOT / 'gunicorn.conf.py'} --workers {total.group(1)})" in output
    assert "=== 1 host against 2 hosts (same run" in output
    # Both hosts served, and every reporter went from one to the other at each request.
    alternation = re.findall(r"requests per app host: app1 [\d,]+, app2 [\d,]+; .*: ([\d,]+) of ([\d,]+)", output)
    assert len(alternation) == 2 and all(done == reporters != "0" for done, reporters in alternation), alternation
