"""Admin pages of the registry, roles and accounts.

Every change made here goes through ``institutions.services`` and is in the audit trail with
source *admin*. Survey data pages (institutions, roles) need the society admin role
(``institutions.backends.SurveyRoleBackend``); accounts need Django's user permissions, which
only superusers have (groups and per-user permissions are not used: roles decide).
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX

from institutions import admin_login_throttle  # noqa: F401  (registers the login-lock pages)
from institutions.models import Institution, Membership, Province
from institutions.resources import InstitutionResource
from institutions.services import (
    ACCOUNT_AUDITED_FIELDS,
    INSTITUTION_AUDITED_FIELDS,
    InstitutionImportInvalid,
    InstitutionImportResult,
    account_create,
    account_delete,
    account_password_set,
    account_update,
    institution_create,
    institution_import,
    institution_update,
    membership_remove,
    membership_set,
)
from reporting.admin_audit import (
    AuditTrailHistoryMixin,
    ReadOnlyAdminMixin,
    audit_trail_url,
    form_changes,
    instance_adopt,
)
from reporting.models import AuditSource

User = get_user_model()


@admin.register(Province)
class ProvinceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The 31 provincial divisions come from a data migration (GB/T 2260); shown, not changed."""

    list_display = ["code", "name_zh", "name_en"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Institution)
class InstitutionAdmin(AuditTrailHistoryMixin, ImportExportModelAdmin):
    """Registry pages; CSV/XLSX import and export use the same resource and service as the command.

    Institutions are deactivated, not deleted: their returns and audit trail refer to them.
    """

    resource_classes = [InstitutionResource]
    formats = [CSV, XLSX]
    fields = INSTITUTION_AUDITED_FIELDS
    list_display = ["code", "name", "province", "city", "ownership", "hospital_level", "active", "is_synthetic"]
    list_filter = ["province", "ownership", "hospital_level", "active", "is_synthetic"]
    search_fields = ["code", "name", "name_en", "city"]
    list_select_related = ["province"]
    list_per_page = 100

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            institution_update(
                institution=obj, changes=form_changes(form, INSTITUTION_AUDITED_FIELDS),
                actor=request.user, source=AuditSource.ADMIN,
            )
        else:
            institution_create(institution=obj, actor=request.user, source=AuditSource.ADMIN)

    # The confirmed import (after the dry-run preview) is the registry service's import: checked
    # again as a whole (a rejected file writes nothing) and audited.
    def is_skip_import_confirm_enabled(self):
        return False  # process_dataset returns the service's result, which the one-step import cannot show

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except InstitutionImportInvalid as rejected:
            messages.error(request, gettext("The file was rejected; nothing was written."))
            for problem in rejected.problems:
                messages.error(request, str(problem))
            return HttpResponseRedirect(reverse("admin:institutions_institution_import"))

    def process_dataset(self, dataset, form, request, **kwargs):
        file_name = kwargs.get("file_name") or form.cleaned_data.get("original_file_name") or ""
        dataset.headers = [str(header or "").strip().lower() for header in (dataset.headers or [])]
        return institution_import(
            dataset=dataset, actor=request.user, source=AuditSource.ADMIN, comment=f"admin import {file_name}".strip(),
        )

    def process_result(self, result, request):
        if not isinstance(result, InstitutionImportResult):
            return super().process_result(result, request)
        messages.success(request, gettext(
            "Import finished: %(created)d created, %(updated)d updated, %(unchanged)d unchanged."
        ) % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged})
        return HttpResponseRedirect(reverse("admin:institutions_institution_changelist"))


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = True
    extra = 0
    max_num = 1
    fields = ["role", "institution", "province"]
    autocomplete_fields = ["institution", "province"]


admin.site.unregister(User)
# Groups would be a second way to hand out permissions; survey access comes from roles.
admin.site.unregister(Group)


@admin.register(User)
class SurveyUserAdmin(AuditTrailHistoryMixin, UserAdmin):
    """Users with their survey role (reporter, liaison or society admin) on the same page."""

    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ["last_login", "date_joined"]
    list_display = ["username", "email", "first_name", "last_name", "role", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active", "membership__role"]
    list_select_related = ["membership"]
    filter_horizontal = []

    @admin.display(description=_("role"))
    def role(self, user):
        membership = getattr(user, "membership", None)
        return membership.get_role_display() if membership else ""

    def save_model(self, request, obj, form, change):
        if change:
            account_update(user=obj, changes=form_changes(form, ACCOUNT_AUDITED_FIELDS),
                           actor=request.user, source=AuditSource.ADMIN)
        else:
            account_create(user=obj, actor=request.user, source=AuditSource.ADMIN)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        # What formset.save() would report, for the admin's change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        user = form.instance
        for inline in formset.forms:
            if inline in formset.deleted_forms:
                if inline.instance.pk:
                    membership_remove(user=user, actor=request.user, source=AuditSource.ADMIN)
                    formset.deleted_objects.append(inline.instance)
            elif inline.has_changed():
                data = inline.cleaned_data
                membership = membership_set(
                    user=user, role=data["role"], institution=data.get("institution"),
                    province=data.get("province"), actor=request.user, source=AuditSource.ADMIN,
                )
                if inline.instance.pk:
                    formset.changed_objects.append((membership, inline.changed_data))
                else:
                    formset.new_objects.append(membership)

    def delete_model(self, request, obj):
        account_delete(user=obj, actor=request.user, source=AuditSource.ADMIN)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            account_delete(user=user, actor=request.user, source=AuditSource.ADMIN)

    def user_change_password(self, request, id, form_url=""):
        """Django's page, but the new password is set by the accounts service (audited)."""
        if request.method != "POST":
            return super().user_change_password(request, id, form_url)
        user = self.get_object(request, unquote(id))
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if user is None:
            raise Http404
        form = self.change_password_form(user, request.POST)
        usable = form.is_valid() and form.cleaned_data["set_usable_password"]
        if not form.is_valid() or not (usable or "unset-password" in request.POST):
            return super().user_change_password(request, id, form_url)  # shows the errors
        account_password_set(user=user, password=form.cleaned_data["password1"] if usable else None,
                             actor=request.user, source=AuditSource.ADMIN)
        self.log_change(request, user, self.construct_change_message(request, form, None))
        messages.success(request, gettext("Password changed successfully.") if usable
                         else gettext("Password-based authentication was disabled."))
        update_session_auth_hash(request, user)
        return HttpResponseRedirect(reverse("admin:auth_user_change", args=[user.pk]))


@admin.register(Membership)
class MembershipAdmin(AuditTrailHistoryMixin, admin.ModelAdmin):
    list_display = ["user", "role", "institution", "province"]
    list_filter = ["role", "province"]
    list_select_related = ["user", "institution", "province"]
    search_fields = ["user__username", "institution__name", "institution__code"]
    fields = ["user", "role", "institution", "province"]
    autocomplete_fields = ["user", "institution", "province"]

    def get_readonly_fields(self, request, obj=None):
        # A role belongs to its user: give another user a role of their own instead.
        return ["user"] if obj else []

    def save_model(self, request, obj, form, change):
        membership = membership_set(
            user=obj.user, role=obj.role, institution=obj.institution, province=obj.province,
            actor=request.user, source=AuditSource.ADMIN,
        )
        instance_adopt(obj, membership)

    def delete_model(self, request, obj):
        membership_remove(user=obj.user, actor=request.user, source=AuditSource.ADMIN)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user"):
            membership_remove(user=membership.user, actor=request.user, source=AuditSource.ADMIN)

    def history_view(self, request, object_id, extra_context=None):
        # Role changes are filed under the user whose role it is.
        membership = self.get_object(request, unquote(object_id))
        if membership is None:
            raise Http404
        return redirect(audit_trail_url(User, membership.user_id))
