"""Who is calling: ``Authorization: Bearer svy_…`` and nothing else.

Session cookies never authenticate the API (so it has no CSRF surface): the token's user is
put on ``request.user`` for the request, replacing whoever the session named. Failed
authentications are counted per client address and throttled; successful requests are
counted per token against its rate limit. Both answer 429 with ``Retry-After``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from api.errors import ApiError, RateLimited
from api.models import TOKEN_PREFIX, ApiToken
from api.services.tokens import token_secret_hash, user_may_hold_token
from api.throttling import window_count, window_hit

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def client_address(request) -> str:
    """The caller's address as the login throttle reads it: the first of the deployment's
    AXES_IPWARE_META_PRECEDENCE_ORDER present (REMOTE_ADDR unless a proxy that overwrites a
    header is configured; never a forwarded-for list the caller could extend)."""
    for key in getattr(settings, "AXES_IPWARE_META_PRECEDENCE_ORDER", None) or ("REMOTE_ADDR",):
        value = request.META.get(key, "").split(",")[0].strip()
        if value:
            return value[:64]
    return "unknown"


def _failure_key(request) -> str:
    return f"api:auth-failures:{client_address(request)}"


def token_find(secret: str) -> ApiToken | None:
    """The usable token whose secret this is (one query), or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.usable()
        .select_related("user", "user__membership")
        .filter(secret_hash=token_secret_hash(secret))
        .first()
    )
    if token is None or not user_may_hold_token(token.user):
        return None
    return token


class TokenAuth(HttpBearer):
    """Bearer token authentication; `write=True` also requires a read-write token."""

    def __init__(self, *, write: bool = False):
        super().__init__()
        self.write = write

    def __call__(self, request):
        failures, retry_after = window_count(
            _failure_key(request), window_seconds=settings.API_AUTH_FAILURE_WINDOW_SECONDS
        )
        if failures >= settings.API_AUTH_FAILURE_LIMIT:
            raise RateLimited(retry_after, _("Too many failed authentications from this address; wait before trying again."))
        token = super().__call__(request)
        if token is None:
            window_hit(_failure_key(request), window_seconds=settings.API_AUTH_FAILURE_WINDOW_SECONDS)
        return token

    def authenticate(self, request, token: str) -> ApiToken | None:
        found = token_find(token.strip())
        if found is None:
            return None
        hits, retry_after = window_hit(
            f"api:rate:{found.pk}", window_seconds=settings.API_RATE_WINDOW_SECONDS
        )
        if hits > settings.API_RATE_LIMIT:
            raise RateLimited(retry_after, _("This token made too many requests; wait before the next one."))
        if self.write and not found.can_write:
            raise ApiError(403, "read_only_token", _("This token is read-only; this call needs a read-write token."))
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        # Everything below decides from request.user, as the web pages do: the token's owner.
        request.user = found.user
        return found


read_auth = TokenAuth()
write_auth = TokenAuth(write=True)
