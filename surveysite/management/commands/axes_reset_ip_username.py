from surveysite.management.login_locks import LoginLockResetCommand


class Command(LoginLockResetCommand):
    help = "Reset all access attempts and lockouts for a given IP address and username (audited)"

    def add_arguments(self, parser):
        parser.add_argument("ip", type=str)
        parser.add_argument("username", type=str)

    def resets(self, options):
        return [{"ip_address": options["ip"], "username": options["username"]}]
