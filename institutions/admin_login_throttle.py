"""django-axes' login locks in the admin: who is locked out, and an audited way to unlock.

axes' own admin pages (AXES_ENABLE_ADMIN, off) let a superuser delete or edit the records
directly, which the audit trail would miss; these pages only list them, and the Unlock action
goes through institutions.services.account_unlock.
"""

from axes.admin import AccessAttemptAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessLog
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from institutions.services import account_unlock
from reporting.admin_audit import ReadOnlyAdminMixin
from reporting.models import AuditSource


@admin.register(AccessAttempt)
class LoginLockAdmin(ReadOnlyAdminMixin, AccessAttemptAdmin):
    actions = ["unlock"]

    @admin.action(description=_("Unlock the selected accounts"), permissions=["unlock"])
    def unlock(self, request, queryset):
        usernames = sorted({name for name in queryset.values_list("username", flat=True) if name})
        for username in usernames:
            account_unlock(username=username, actor=request.user, source=AuditSource.ADMIN)
        self.message_user(request, ngettext(
            "%(count)d account unlocked.", "%(count)d accounts unlocked.", len(usernames),
        ) % {"count": len(usernames)}, messages.SUCCESS)

    def has_unlock_permission(self, request):
        return request.user.has_perm("auth.change_user")


@admin.register(AccessLog)
class LoginLogAdmin(ReadOnlyAdminMixin, AccessLogAdmin):
    """Successful logins and logouts: who, when, from where."""
