"""Creating and revoking personal access tokens (audited, kind ``token``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import TOKEN_PREFIX, ApiToken, TokenScope
from institutions.selectors import user_is_society_admin, user_membership
from reporting.models import AuditEvent, AuditSource
from reporting.services.audit import audit_change_events

# Letters and digits only: a token selects with one double-click and needs no escaping.
SECRET_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 40  # 40 × log2(62) ≈ 238 random bits
DISPLAY_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
AUDITED_FIELDS = ["name", "scope", "expires_at", "revoked_at"]


class TokenRefused(ValueError):
    """A token cannot be created or revoked; the message says why, for a person."""


def token_secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_max_days() -> int:
    return settings.API_TOKEN_MAX_DAYS


def _audit_state(token: ApiToken) -> dict[str, str]:
    return {
        "name": token.name,
        "scope": token.scope,
        "expires_at": token.expires_at.isoformat() if token.expires_at else "",
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else "",
    }


def _audit_label(token: ApiToken) -> str:
    return f"{token.user.get_username()}: {token.name} ({token.prefix}…)"[:255]


def user_may_hold_token(user) -> bool:
    """Tokens are for people with a survey role: without one a token would reach nothing."""
    return bool(user and user.is_active and (user_membership(user) is not None or user_is_society_admin(user)))


@transaction.atomic
def api_token_create(
    *, user, name: str, scope: str, expires_at: dt.datetime, actor, source: str = AuditSource.WEB,
) -> tuple[ApiToken, str]:
    """A new token for `user`: (the stored token, the secret to show once)."""
    name = (name or "").strip()
    if not name:
        raise TokenRefused(_("Give the token a name that says what uses it."))
    if scope not in TokenScope.values:
        raise TokenRefused(_("The scope is “read” or “write”."))
    if not user_may_hold_token(user):
        raise TokenRefused(_("Only an active account with a survey role can hold a token."))
    if actor is not None and actor.pk != user.pk and not user_is_society_admin(actor):
        raise TokenRefused(_("You can create tokens only for yourself."))
    now = timezone.now()
    if expires_at <= now:
        raise TokenRefused(_("The expiry must be in the future."))
    if expires_at > now + dt.timedelta(days=token_max_days()):
        raise TokenRefused(_("A token expires within %(days)s days at most.") % {"days": token_max_days()})
    secret = TOKEN_PREFIX + "".join(secrets.choice(SECRET_ALPHABET) for _position in range(SECRET_LENGTH))
    token = ApiToken.objects.create(
        user=user, name=name, scope=scope, expires_at=expires_at,
        prefix=secret[:DISPLAY_PREFIX_LENGTH], secret_hash=token_secret_hash(secret),
    )
    AuditEvent.objects.bulk_create(audit_change_events(
        kind=AuditEvent.Kind.TOKEN, subject=token, old={}, new=_audit_state(token),
        actor=actor, source=source, label=_audit_label(token),
    ))
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor, source: str = AuditSource.WEB) -> ApiToken:
    """Revoke a token at once: its owner or a society admin. Revoking twice changes nothing."""
    if actor is not None and actor.pk != token.user_id and not user_is_society_admin(actor):
        raise TokenRefused(_("You can revoke only your own tokens."))
    token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    old = _audit_state(token)
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    AuditEvent.objects.bulk_create(audit_change_events(
        kind=AuditEvent.Kind.TOKEN, subject=token, old=old, new=_audit_state(token),
        actor=actor, source=source, label=_audit_label(token),
    ))
    return token
