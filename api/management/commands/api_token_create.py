import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.models import TokenScope
from api.services.tokens import TokenRefused, api_token_create, token_max_days
from reporting.models import AuditSource


class Command(BaseCommand):
    help = (
        "Create a personal access token for USERNAME and print it once (only its hash is stored). "
        "The token acts as that user, within their survey role."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--scope", choices=["read", "write"], required=True,
                            help="read: read only; write: also send values and act on returns")
        parser.add_argument("--expires-in-days", type=int, required=True,
                            help=f"days until the token stops working (at most {token_max_days()})")
        parser.add_argument("--name", default="", help="what uses the token (default: command line)")

    def handle(self, *args, username, scope, expires_in_days, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if expires_in_days < 1:
            raise CommandError("--expires-in-days: give at least 1")
        try:
            token, secret = api_token_create(
                user=user, name=name or "command line", scope=TokenScope(scope),
                expires_at=timezone.now() + dt.timedelta(days=expires_in_days), actor=None, source=AuditSource.SYSTEM,
            )
        except TokenRefused as refused:
            raise CommandError(str(refused)) from refused
        self.stderr.write(
            f"Token {token.prefix}… for {username} ({scope}), expires {token.expires_at:%Y-%m-%d %H:%M %Z}. "
            "Store it now: it is not shown again."
        )
        self.stdout.write(secret)
