"""django-axes' reset commands, audited: the same names, arguments and output as axes' own
(which these replace: the surveysite app comes before axes in INSTALLED_APPS), but each reset
goes through institutions.services.login_locks_lift, so an unlock from the command line is
in the audit trail (source system, no actor) like one from the admin.

axes_reset_logs and axes_reset_failure_logs stay axes' own: they delete old login records
(housekeeping), never a lock.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from institutions.services import login_locks_lift
from reporting.models import AuditSource


class LoginLockResetCommand(BaseCommand):
    def resets(self, options) -> list[dict]:
        """The (username, ip_address) filters to lift, one call each."""
        raise NotImplementedError

    def handle(self, *args, **options):
        command = type(self).__module__.rsplit(".", 1)[-1]
        count = 0
        for filters in self.resets(options):
            shown = " ".join(value for value in (filters.get("ip_address"), filters.get("username")) if value)
            count += login_locks_lift(
                actor=None, source=AuditSource.SYSTEM, comment=f"manage.py {command} {shown}".strip(), **filters,
            ).attempts
        self.stdout.write(f"{count} attempts removed." if count else "No attempts found.")
