from surveysite.management.login_locks import LoginLockResetCommand


class Command(LoginLockResetCommand):
    help = "Reset all access attempts and lockouts for given usernames (audited)"

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="+", type=str)

    def resets(self, options):
        return [{"username": username} for username in options["username"]]
