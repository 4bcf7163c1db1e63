from surveysite.management.login_locks import LoginLockResetCommand


class Command(LoginLockResetCommand):
    help = "Reset all access attempts and lockouts (audited)"

    def resets(self, options):
        return [{}]
