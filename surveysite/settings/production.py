"""Production: PostgreSQL, a Celery broker, HTTPS, and no defaults for secrets."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

if not env.SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production.")
if not env.ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set in production (comma-separated).")
if not env.DATABASE_URL:
    # Development falls back to SQLite in the project folder; production must not, or the
    # survey's returns would silently go to a file next to the code.
    raise ImproperlyConfigured(
        "DATABASE_URL must be set in production, e.g. postgres://survey:secret@db.internal:5432/survey."
    )

DEBUG = False
SECRET_KEY = env.SECRET_KEY
ALLOWED_HOSTS = env.ALLOWED_HOSTS
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# HTTPS only, unless the environment says otherwise (README, Production).
SECURE_SSL_REDIRECT = env.SECURE_SSL_REDIRECT
SECURE_HSTS_SECONDS = env.SECURE_HSTS_SECONDS
# Covers only the subdomains of the host the app is served from (e.g. *.survey.example.org).
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.SECURE_HSTS_PRELOAD
if not SECURE_HSTS_PRELOAD:
    # Asking browsers to preload HTTPS for the whole registrable domain is its owner's decision
    # (DJANGO_SECURE_HSTS_PRELOAD=1), not a default of one application on it.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Trust X-Forwarded-Proto only when told the proxy sets it; otherwise any client could claim
# its plain-HTTP request was HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.SECURE_PROXY_SSL_HEADER else None
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
