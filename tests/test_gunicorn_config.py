"""gunicorn.conf.py: the server settings production runs with (`gunicorn -c gunicorn.conf.py`)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def _gunicorn(*arguments):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="survey.example.org")
    return subprocess.run([GUNICORN, "-c", "gunicorn.conf.py", *arguments], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_settings_follow_the_cores_and_the_command_line_overrides_them():
    result = _gunicorn("--print-config")
    assert result.returncode == 0, result.stderr
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))
    assert config["workers"] == str(2 * os.cpu_count() + 1)
    assert (config["worker_class"], config["threads"], config["preload_app"]) == ("gthread", "1", "True")
    assert (config["max_requests"], config["max_requests_jitter"], config["keepalive"]) == ("2000", "400", "5")
    assert config["wsgi_app"] == "surveysite.wsgi:application"

    overridden = _gunicorn("--workers", "7", "--print-config")
    assert re.search(r"^workers\s+= 7$", overridden.stdout, re.MULTILINE)


@pytest.mark.slow
def test_the_app_loads_with_these_settings():
    result = _gunicorn("--check-config")
    assert result.returncode == 0, result.stdout + result.stderr
