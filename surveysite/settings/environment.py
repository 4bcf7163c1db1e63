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


def _list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def _int(name: str, default: int | None = None) -> int | None:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


SECRET_KEY = _str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = _list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = _list("DJANGO_CSRF_TRUSTED_ORIGINS")
DEBUG = _bool("DJANGO_DEBUG", False)
# Empty when unset: development then uses SQLite in the project folder (no database server
# needed), and production refuses to start.
DATABASE_URL = _str("DATABASE_URL")
SQLITE_DATABASE_URL = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
# PostgreSQL prepared statements (settings/base.py); off behind a pooler that cannot keep them.
DATABASE_PREPARED_STATEMENTS = _bool("DJANGO_DATABASE_PREPARED_STATEMENTS", True)
# PostgreSQL for the test suite unless the caller names another database.
TEST_DATABASE_URL = _str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/surveysite")
# No broker: Celery runs tasks in-process (eager).
CELERY_BROKER_URL = _str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = _str("CELERY_RESULT_BACKEND")
# Redis only: seconds a job may go unacknowledged before Redis hands it to another worker
# (its worker died, or is still running it). Longer than the longest task, shorter than the
# stalled-job sweep (settings/base.py, BACKGROUND_TASK_LONGEST).
CELERY_VISIBILITY_TIMEOUT = int(_str("CELERY_VISIBILITY_TIMEOUT", "3600") or 3600)
EMAIL_URL_HOST = _str("EMAIL_HOST")
EMAIL_PORT = int(_str("EMAIL_PORT", "25") or 25)
EMAIL_HOST_USER = _str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = _str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = _bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = _str("DEFAULT_FROM_EMAIL", "survey@cnms.example")
STATIC_ROOT = _str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))
LOG_LEVEL = _str("DJANGO_LOG_LEVEL", "INFO")

# HTTPS in production (see the README's Production section). Secure by default; a deployment
# behind a TLS-terminating proxy says so instead of the app guessing from request headers.
SECURE_SSL_REDIRECT = _bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = _int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_PRELOAD = _bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# Only when the proxy sets X-Forwarded-Proto itself (and overwrites what clients send).
SECURE_PROXY_SSL_HEADER = _bool("DJANGO_SECURE_PROXY_SSL_HEADER", False)

# Where django-axes reads the client address of a failed login (request.META keys, in order).
# REMOTE_ADDR unless a reverse proxy sets a header with the client's address and overwrites
# what clients send, e.g. HTTP_X_REAL_IP,REMOTE_ADDR (not X-Forwarded-For, which clients extend).
AXES_IPWARE_META_PRECEDENCE_ORDER = tuple(_list("DJANGO_AXES_IPWARE_META_PRECEDENCE_ORDER", "REMOTE_ADDR"))

# Several machines (README, "Several machines"). The cache every host shares: Redis when one
# is named, otherwise the database's cache table.
CACHE_URL = _str("DJANGO_CACHE_URL") or _str("REDIS_URL")
# Where kept files (uploads awaiting confirmation, finished exports) live: "database" (the
# default; nothing to set up) or "s3" (an S3-compatible object store through django-storages;
# credentials from the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables).
SURVEY_FILES_BACKEND = _str("SURVEY_FILES_BACKEND", "database").strip().lower()
SURVEY_FILES_S3_BUCKET = _str("SURVEY_FILES_S3_BUCKET")
SURVEY_FILES_S3_ENDPOINT_URL = _str("SURVEY_FILES_S3_ENDPOINT_URL")
SURVEY_FILES_S3_REGION = _str("SURVEY_FILES_S3_REGION")
# This host's own folders: request bodies too large for memory while they are received, and
# media (no shared disk is assumed; kept files go to SURVEY_FILES_BACKEND).
FILE_UPLOAD_TEMP_DIR = _str("DJANGO_FILE_UPLOAD_TEMP_DIR") or None
MEDIA_ROOT = _str("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media"))
