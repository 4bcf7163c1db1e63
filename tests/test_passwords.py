"""Passwords are hashed with Argon2id at OWASP's cost; older hashes still log in and are upgraded.

The test settings hash with MD5 for speed; these tests put the project's list back.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.test import override_settings

from surveysite.settings.base import PASSWORD_HASHERS

ROOT = Path(__file__).resolve().parent.parent

project_hashers = override_settings(PASSWORD_HASHERS=PASSWORD_HASHERS)


@project_hashers
def test_new_hashes_are_argon2id_with_owasp_parameters():
    encoded = make_password("correct horse battery staple")
    algorithm, variety, version, parameters, _salt, _hash = encoded.split("$")
    assert (algorithm, variety, version) == ("argon2", "argon2id", "v=19")
    assert parameters == "m=7168,t=5,p=1"
    assert identify_hasher(encoded).__class__.__name__ == "Argon2idPasswordHasher"
    assert check_password("correct horse battery staple", encoded)
    assert not check_password("correct horse battery stapler", encoded)


@pytest.mark.django_db
@project_hashers
@pytest.mark.parametrize("old_hasher", ["pbkdf2_sha256", "argon2_django_default", "argon2id_19_mib"])
def test_an_older_hash_logs_in_and_is_rewritten(client, old_hasher):
    from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher

    class Argon2id19MiB(Argon2PasswordHasher):  # the project's parameters before 29 Nov 2026
        time_cost, memory_cost, parallelism = 2, 19456, 1

    hasher = {"pbkdf2_sha256": PBKDF2PasswordHasher, "argon2_django_default": Argon2PasswordHasher,
              "argon2id_19_mib": Argon2id19MiB}[old_hasher]()
    user = get_user_model().objects.create(username="reporter-old-hash", password=hasher.encode("s3cret-Pass", hasher.salt()))
    old = user.password

    refused = client.post("/accounts/login/", {"username": "reporter-old-hash", "password": "wrong"})
    assert refused.status_code == 200
    user.refresh_from_db()
    assert user.password == old  # a failed login changes nothing

    response = client.post("/accounts/login/", {"username": "reporter-old-hash", "password": "s3cret-Pass"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password != old
    assert user.password.startswith("argon2$argon2id$v=19$m=7168,t=5,p=1$")
    assert check_password("s3cret-Pass", user.password)


def test_production_settings_hash_with_argon2id():
    """What production loads, not only the base module this test imports."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(DJANGO_SETTINGS_MODULE="surveysite.settings.production",
                       DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="survey.example.org")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.contrib.auth.hashers import make_password;"
         " print(make_password('x'))"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("argon2$argon2id$v=19$m=7168,t=5,p=1$")
