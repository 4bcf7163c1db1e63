"""Production settings refuse to start without their secrets and database, and are secure by default."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CONFIGURED = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "survey.example.org",
    "DATABASE_URL": "postgres://survey:secret@db.internal:5432/survey",
}


def _import_production(code: str = "", **env):
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"
    }
    environment.update(env, DJANGO_SETTINGS_MODULE="surveysite.settings.production")
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_refuses_to_start_without_secret_key_hosts_and_database(missing):
    env = {k: v for k, v in CONFIGURED.items() if k != missing}
    result = _import_production(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{missing} must be set in production" in result.stderr


def test_production_starts_when_configured():
    result = _import_production(**CONFIGURED)
    assert result.returncode == 0, result.stderr


SHOW_SECURITY = """
import json
from django.conf import settings
print(json.dumps({name: getattr(settings, name) for name in [
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "DEBUG",
    "AXES_IPWARE_META_PRECEDENCE_ORDER", "AUTHENTICATION_BACKENDS", "MIDDLEWARE",
]}))
"""


def _security(**env) -> dict:
    result = _import_production(SHOW_SECURITY, **CONFIGURED, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_is_https_only_by_default_and_trusts_no_proxy_header():
    settings = _security()
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert settings["SECURE_HSTS_PRELOAD"] is False
    assert settings["SECURE_PROXY_SSL_HEADER"] is None
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["CSRF_COOKIE_SECURE"] is True
    assert settings["DEBUG"] is False
    assert settings["AXES_IPWARE_META_PRECEDENCE_ORDER"] == ["REMOTE_ADDR"]
    # django-axes refuses a locked account before any other backend checks its password.
    assert settings["AUTHENTICATION_BACKENDS"][0] == "axes.backends.AxesStandaloneBackend"
    assert settings["MIDDLEWARE"][-1] == "axes.middleware.AxesMiddleware"


def test_production_switches_for_a_tls_terminating_proxy():
    settings = _security(
        DJANGO_SECURE_PROXY_SSL_HEADER="1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_HSTS_SECONDS="3600",
        DJANGO_SECURE_HSTS_PRELOAD="1",
        DJANGO_AXES_IPWARE_META_PRECEDENCE_ORDER="HTTP_X_REAL_IP,REMOTE_ADDR",
    )
    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 3600
    assert settings["SECURE_HSTS_PRELOAD"] is True
    assert settings["AXES_IPWARE_META_PRECEDENCE_ORDER"] == ["HTTP_X_REAL_IP", "REMOTE_ADDR"]


SHOW_DATABASE_OPTIONS = """
import json
from django.conf import settings
from django.db import connection
print(json.dumps([settings.DATABASES["default"].get("OPTIONS", {}), type(connection).__module__]))
"""


@pytest.mark.parametrize(("switch", "expected"), [
    ({}, {"server_side_binding": True, "prepare_threshold": 2}),
    ({"DJANGO_DATABASE_PREPARED_STATEMENTS": "0"}, {}),
])
def test_production_prepares_repeated_queries_unless_told_not_to(switch, expected):
    result = _import_production(SHOW_DATABASE_OPTIONS, **CONFIGURED, **switch)
    assert result.returncode == 0, result.stderr
    options, _backend = json.loads(result.stdout.strip().splitlines()[-1])
    assert options == expected


@pytest.mark.sqlite
def test_the_test_suite_runs_its_database_with_the_options_of_production():
    from django.conf import settings

    options = settings.DATABASES["default"].get("OPTIONS", {})
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        assert options == {"server_side_binding": True, "prepare_threshold": 2}
    else:
        assert options["transaction_mode"] == "IMMEDIATE" and "journal_mode=WAL" in options["init_command"]
