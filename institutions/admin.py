from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX

from institutions.models import Institution, Membership, Province
from institutions.resources import InstitutionResource

User = get_user_model()


@admin.register(Province)
class ProvinceAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Institution)
class InstitutionAdmin(ImportExportModelAdmin):
    """Registry pages; CSV/XLSX import and export use the same resource as the command."""

    resource_classes = [InstitutionResource]
    formats = [CSV, XLSX]
    list_display = ["code", "name", "province", "city", "ownership", "hospital_level", "active", "is_synthetic"]
    list_filter = ["province", "ownership", "hospital_level", "active", "is_synthetic"]
    search_fields = ["code", "name", "name_en", "city"]
    list_select_related = ["province"]


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = True
    extra = 0
    max_num = 1
    autocomplete_fields = ["institution", "province"]


admin.site.unregister(User)


@admin.register(User)
class SurveyUserAdmin(UserAdmin):
    """Users with their survey role (reporter, liaison or society admin) on the same page."""

    inlines = [MembershipInline]
    list_display = ["username", "email", "first_name", "last_name", "role", "is_staff", "is_active"]
    list_select_related = ["membership"]

    @admin.display(description="role")
    def role(self, user):
        membership = getattr(user, "membership", None)
        return membership.get_role_display() if membership else ""


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "institution", "province"]
    list_filter = ["role", "province"]
    search_fields = ["user__username", "institution__name", "institution__code"]
    autocomplete_fields = ["user", "institution", "province"]
