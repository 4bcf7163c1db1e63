"""The test suite: PostgreSQL unless DATABASE_URL names another database."""

import os

from .base import *  # noqa: F403
from .base import database_settings, env

SECRET_KEY = "test-only-secret-key"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
DATABASES = {"default": database_settings(env.TEST_DATABASE_URL)}
# One test database per run (xdist workers inherit the controller's id), so that runs started
# side by side on one server never drop each other's database.
_RUN_ID = os.environ.setdefault("SURVEYSITE_TEST_RUN_ID", str(os.getpid()))
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_RUN_ID}"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = None
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    **STORAGES,  # noqa: F405
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# django-axes is on, as in production (tests/test_login_throttle.py), but its backend refuses a
# login without a request, which is what the test client's login(username=..., password=...)
# does: in tests, such a login skips the throttle (tests/auth_support.py); logins through the
# login pages are throttled as in production.
AUTHENTICATION_BACKENDS = ["tests.auth_support.AxesBackendForTests", *AUTHENTICATION_BACKENDS[1:]]  # noqa: F405
# One process runs the tests: a per-process cache keeps counters out of the database, so
# fixtures that clear it need no database access. Production's shared cache (the database or
# Redis) is checked in a subprocess by tests/test_settings_hosts.py; the multi-host test uses it.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
