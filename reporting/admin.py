from django.contrib import admin

from reporting.admin_spreadsheets import EditionSpreadsheetAdminMixin
from reporting.models import (
    AuditEvent,
    Edition,
    EntryExtension,
    FigureValue,
    Indicator,
    Item,
    Publication,
    PublishedFigure,
    Section,
    SurveyReturn,
    ValidationRule,
)


class ReadOnlyDefinitionAdmin(admin.ModelAdmin):
    """Questionnaire rows come from the definition files: shown here, changed there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Edition)
class EditionAdmin(EditionSpreadsheetAdminMixin, admin.ModelAdmin):
    list_display = ["year", "data_year", "status", "opens_on", "closes_on", "definition_version"]
    readonly_fields = ["definition_version", "definition_checksum", "created_at", "updated_at"]


@admin.register(Section)
class SectionAdmin(ReadOnlyDefinitionAdmin):
    list_display = ["edition", "position", "code", "title_zh", "title_en"]
    list_filter = ["edition"]


@admin.register(Item)
class ItemAdmin(ReadOnlyDefinitionAdmin):
    list_display = ["code", "edition", "section", "type", "unit_zh", "applies_if", "part_of", "label_zh"]
    list_filter = ["edition", "section__code", "type"]
    search_fields = ["code", "label_zh", "label_en"]


@admin.register(ValidationRule)
class ValidationRuleAdmin(ReadOnlyDefinitionAdmin):
    list_display = ["code", "edition", "severity", "kind", "when", "condition"]
    list_filter = ["edition", "severity"]


@admin.register(Indicator)
class IndicatorAdmin(ReadOnlyDefinitionAdmin):
    list_display = ["key", "edition", "format", "definition"]
    list_filter = ["edition"]
    search_fields = ["key"]


@admin.register(PublishedFigure)
class PublishedFigureAdmin(ReadOnlyDefinitionAdmin):
    list_display = ["key", "edition", "value", "format"]
    list_filter = ["edition"]
    search_fields = ["key"]


@admin.register(SurveyReturn)
class SurveyReturnAdmin(admin.ModelAdmin):
    """Returns change through the workflow pages and imports, which record who did what."""

    list_display = ["institution", "edition", "status", "version", "updated_at", "updated_by"]
    list_filter = ["edition", "status", "institution__province"]
    search_fields = ["institution__code", "institution__name"]
    list_select_related = ["institution", "edition", "updated_by"]
    readonly_fields = [f.name for f in SurveyReturn._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EntryExtension)
class EntryExtensionAdmin(admin.ModelAdmin):
    list_display = ["institution", "edition", "until", "granted_by", "granted_at"]
    list_filter = ["edition"]
    readonly_fields = ["granted_by", "granted_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyDefinitionAdmin):
    list_display = ["at", "edition", "survey_return", "kind", "source", "actor", "item_code", "old_value", "new_value"]
    list_filter = ["edition", "kind", "source"]
    list_select_related = ["actor", "survey_return__institution"]


@admin.register(FigureValue)
class FigureValueAdmin(ReadOnlyDefinitionAdmin):
    list_display = ["edition", "breakdown", "group", "key", "value", "computed_at"]
    list_filter = ["edition", "breakdown"]
    search_fields = ["key", "group"]


@admin.register(Publication)
class PublicationAdmin(ReadOnlyDefinitionAdmin):
    list_display = ["edition", "revision", "published_at", "published_by", "note"]
