"""The README's run command works from a fresh clone: it sets everything up and serves the login page.

(The README's test command is what CI runs on a fresh clone, so that one proves itself.)
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None, reason="needs a git checkout")
def test_run_command_from_a_fresh_clone_serves_the_login_page(tmp_path):
    clone = tmp_path / "surveysite"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SURVEYSITE_TEST_RUN_ID"}}
    # `make run` is `make demo` followed by runserver on port 8000; the port may be taken here,
    # so run the set-up target and then serve on a free port the same way.
    setup = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=1500)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    assert "password: " in setup.stdout  # the demo accounts are printed
    assert "Demo edition 2026 open for entry" in setup.stdout  # every role has something to do
    assert "First steps" in setup.stdout and "Continue the return" in setup.stdout
    assert (clone / "db.sqlite3").exists()  # SQLite: no server needed

    port = _free_port()
    server = subprocess.Popen(
        [str(clone / ".venv/bin/python"), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        body = ""
        for _ in range(60):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as response:
                    assert response.status == 200
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(1)
        assert "登录" in body  # Chinese first
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/vendor/bootstrap/bootstrap.min.css", timeout=5) as response:
            assert response.status == 200  # served from the project, no CDN
    finally:
        server.terminate()
        server.wait(timeout=30)
