from surveysite.management.login_locks import LoginLockResetCommand


class Command(LoginLockResetCommand):
    help = "Reset all access attempts and lockouts for given IP addresses (audited)"

    def add_arguments(self, parser):
        parser.add_argument("ip", nargs="+", type=str)

    def resets(self, options):
        return [{"ip_address": ip} for ip in options["ip"]]
