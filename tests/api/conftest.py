import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from api.services.tokens import api_token_create


@pytest.fixture(autouse=True)
def fresh_counters():
    """Rate-limit and failed-authentication counters start at zero in every test."""
    cache.clear()
    yield
    cache.clear()


def token_for(user, scope="read", days=30) -> str:
    """A new token of `user` (the secret)."""
    _token, secret = api_token_create(
        user=user, name=f"test {scope}", scope=scope, expires_at=timezone.now() + dt.timedelta(days=days), actor=user,
    )
    return secret


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
