"""The README's production steps, run as an operator would, against a fresh PostgreSQL database.

Each step is a subprocess with DJANGO_SETTINGS_MODULE=surveysite.settings.production, then
gunicorn serves the login page and a static file to requests carrying the headers a
TLS-terminating proxy sends. The database, the static files and gunicorn are removed whatever
happens.
"""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import dj_database_url
import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "survey.example.org"
PROXY_HEADERS = {"Host": HOST, "X-Forwarded-Proto": "https"}
STEP_TIMEOUT = 300  # seconds for one step on a loaded 2-core machine
SERVE_TIMEOUT = 60

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fresh_database():
    """A database of its own on the test server, dropped afterwards."""
    server = dj_database_url.parse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/surveysite"))
    assert server["ENGINE"] == "django.db.backends.postgresql", "the production steps run on PostgreSQL"
    name = f"surveysite_production_{os.getpid()}_{secrets.token_hex(3)}"
    admin = psycopg.connect(
        dbname="postgres", user=server["USER"], password=server["PASSWORD"] or None,
        host=server["HOST"], port=server["PORT"] or 5432, autocommit=True, connect_timeout=10,
    )
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        credentials = server["USER"] + (f":{server['PASSWORD']}" if server["PASSWORD"] else "")
        yield f"postgres://{credentials}@{server['HOST']}:{server['PORT'] or 5432}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _get(url: str, headers: dict) -> tuple[int, dict, bytes]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_readme_production_steps_deploy_and_serve(fresh_database, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "CELERY_", "SURVEYSITE_")) and k != "DATABASE_URL"}
    env.update({
        "DJANGO_SETTINGS_MODULE": "surveysite.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DATABASE_URL": fresh_database,
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        # Behind the proxy of the README's example, which sets X-Forwarded-Proto.
        "DJANGO_SECURE_PROXY_SSL_HEADER": "1",
    })

    def step(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=STEP_TIMEOUT)
        assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    step("migrate", "--noinput")
    step("compilemessages", "--ignore=.venv")
    step("collectstatic", "--noinput")
    step("setup_survey")
    check = step("check", "--deploy", "--fail-level", "WARNING")
    assert "System check identified no issues" in check.stdout + check.stderr

    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "surveysite.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its workers go with it below
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVE_TIMEOUT
        while True:
            try:
                status, headers, body = _get(f"{base}/accounts/login/", PROXY_HEADERS)
                break
            except OSError:
                assert server.poll() is None, "gunicorn stopped"
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.5)

        # The login page, in Chinese, with the security headers of an HTTPS site.
        assert status == 200
        page = body.decode()
        assert "登录" in page and 'name="password"' in page
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "Secure" in headers["Set-Cookie"]  # the CSRF cookie

        # A static file, by its hashed name (manifest storage), served by WhiteNoise.
        stylesheet = re.search(r'href="(/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]{12}\.css)"', page)
        assert stylesheet, "the login page links the hashed stylesheet"
        status, headers, body = _get(base + stylesheet.group(1), PROXY_HEADERS)
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert "immutable" in headers["Cache-Control"] and body.startswith(b"@charset")

        # Plain HTTP (no X-Forwarded-Proto) is sent to HTTPS.
        status, headers, _ = _get(f"{base}/accounts/login/", {"Host": HOST})
        assert status == 301 and headers["Location"] == f"https://{HOST}/accounts/login/"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()
