"""The bench's baseline: the same settings with Django's default password hashers
(PBKDF2-SHA256, 1,000,000 iterations in Django 5.2) and sessions read from the database on
every request, as deployed before issue 9."""

from surge_settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

SESSION_ENGINE = "django.contrib.sessions.backends.db"
