"""Development and the demo: SQLite unless DATABASE_URL says otherwise, Celery in-process."""

from .base import *  # noqa: F403
from .base import env

DEBUG = True
SECRET_KEY = env.SECRET_KEY or "django-insecure-local-development-only"
ALLOWED_HOSTS = env.ALLOWED_HOSTS or ["127.0.0.1", "localhost"]
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend" if not env.EMAIL_URL_HOST else EMAIL_BACKEND  # noqa: F405
