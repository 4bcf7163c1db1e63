"""Every personal access token, for society admins: listed, filtered, revoked (audited)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from api.models import ApiToken
from api.services.tokens import api_token_revoke
from reporting.models import AuditSource


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only but for revoking: tokens are created by their owner (or ``api_token_create``)."""

    list_display = ["name", "user", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter), "expires_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["user", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at",
                       "revoked_by"]
    fields = readonly_fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # nothing on a token is edited; revoking is the action below

    def has_delete_permission(self, request, obj=None):
        return False  # a revoked token stays listed, with who revoked it

    def has_revoke_permission(self, request):
        return request.user.has_perm("api.change_apitoken")

    @admin.action(description=_("Revoke the selected tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, actor=request.user, source=AuditSource.ADMIN)
            revoked += 1
        self.message_user(request, ngettext(
            "%(count)d token revoked.", "%(count)d tokens revoked.", revoked) % {"count": revoked}, messages.SUCCESS)
