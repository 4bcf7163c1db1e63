"""The one place that reads the process environment.

Every setting that can change between machines is read here, so that a deployment's
configuration is the list below and nothing else.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


SECRET_KEY = _str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = _list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = _list("DJANGO_CSRF_TRUSTED_ORIGINS")
DEBUG = _bool("DJANGO_DEBUG", False)
# SQLite in the project folder when unset: the app runs with no database server.
DATABASE_URL = _str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
# PostgreSQL for the test suite unless the caller names another database.
TEST_DATABASE_URL = _str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/surveysite")
# No broker: Celery runs tasks in-process (eager).
CELERY_BROKER_URL = _str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = _str("CELERY_RESULT_BACKEND")
# Redis only: seconds before a job whose worker died unacknowledged is handed out again.
# Longer than the longest task (a national import), or a running job is started twice.
CELERY_VISIBILITY_TIMEOUT = int(_str("CELERY_VISIBILITY_TIMEOUT", "3600") or 3600)
EMAIL_URL_HOST = _str("EMAIL_HOST")
EMAIL_PORT = int(_str("EMAIL_PORT", "25") or 25)
EMAIL_HOST_USER = _str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = _str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = _bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = _str("DEFAULT_FROM_EMAIL", "survey@cnms.example")
STATIC_ROOT = _str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))
LOG_LEVEL = _str("DJANGO_LOG_LEVEL", "INFO")
