"""The `--user USERNAME` option of the import commands: the actor the audit trail records."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def actor_for_option(username: str | None):
    """The user named by --user (None when the option is not given), or a CommandError."""
    if not username:
        return None
    actor = get_user_model().objects.filter(username=username).first()
    if actor is None:
        raise CommandError(f"No user {username}")
    return actor
