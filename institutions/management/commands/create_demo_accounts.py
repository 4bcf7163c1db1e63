from django.core.management.base import BaseCommand, CommandError

from institutions.services import demo_accounts_create


class Command(BaseCommand):
    help = "Create (or reset) one demo account per role and print the usernames and passwords."

    def handle(self, *args, **options):
        try:
            accounts = demo_accounts_create()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("Demo accounts (for trying the app only; never use them in production):")
        for username, password, description in accounts:
            self.stdout.write(f"  {username:<10} password: {password:<18} {description}")
