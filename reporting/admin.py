"""Admin pages of the survey: editions, extensions, returns, the questionnaire, the audit trail.

What can change here (an edition's status and entry dates, entry extensions) goes through the
same services as the app's pages and is in the audit trail with source *admin*. Everything
else is shown read-only: the questionnaire comes from the definition files, returns change
through the workflow pages and imports, figures through aggregation and publication.
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from reporting.admin_audit import (
    AuditTrailHistoryMixin,
    ReadOnlyAdminMixin,
    form_changes,
    instance_adopt,
)
from reporting.admin_spreadsheets import EditionSpreadsheetAdminMixin
from reporting.models import (
    AuditEvent,
    AuditSource,
    Edition,
    EditionStatus,
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
from reporting.services.editions import EDITION_SCHEDULE_FIELDS, edition_schedule_update
from reporting.services.returns import extension_grant


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Shown here, changed elsewhere (definition files, workflow, aggregation)."""


class EditionForm(forms.ModelForm):
    class Meta:
        model = Edition
        fields = list(EDITION_SCHEDULE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "status" in self.fields:
            # Publishing freezes the figures: it is done on the report page, not by a status.
            self.fields["status"].choices = [
                choice for choice in self.fields["status"].choices if choice[0] != EditionStatus.PUBLISHED
            ]

    def clean(self):
        cleaned = super().clean()
        opens_on, closes_on = cleaned.get("opens_on"), cleaned.get("closes_on")
        if opens_on and closes_on and closes_on < opens_on:
            self.add_error("closes_on", gettext("The closing date must not be before the opening date."))
        return cleaned


@admin.register(Edition)
class EditionAdmin(EditionSpreadsheetAdminMixin, admin.ModelAdmin):
    """Status and entry dates change here (as on the edition page); the rest comes from the
    edition's definition files (``setup_survey``)."""

    form = EditionForm
    list_display = ["year", "data_year", "status_shown_label", "opens_on", "closes_on", "definition_version"]
    fields = [
        "year", "data_year", "title_zh", "title_en", "previous", *EDITION_SCHEDULE_FIELDS,
        "definition_version", "definition_checksum", "created_at", "updated_at",
    ]

    @admin.display(description=_("status"), ordering="status")
    def status_shown_label(self, edition):
        # As the site's pages show it: an "open" edition past its closing date is closed.
        return edition.status_shown.label

    def get_readonly_fields(self, request, obj=None):
        editable = list(EDITION_SCHEDULE_FIELDS)
        if obj is not None and obj.status == EditionStatus.PUBLISHED:
            editable.remove("status")
        return [name for name in self.fields if name not in editable]

    def has_add_permission(self, request):
        return False  # an edition is a folder of definition files, loaded by setup_survey

    def has_delete_permission(self, request, obj=None):
        return False

    def history_view(self, request, object_id, extra_context=None):
        # The edition's own events (opening, closing, dates, publication), not its returns'.
        query = urlencode({"edition__id__exact": unquote(object_id), "kind__exact": AuditEvent.Kind.EDITION})
        return redirect(f"{reverse('admin:reporting_auditevent_changelist')}?{query}")

    def save_model(self, request, obj, form, change):
        edition_schedule_update(
            edition=obj, actor=request.user, changes=form_changes(form, EDITION_SCHEDULE_FIELDS), source=AuditSource.ADMIN,
        )


@admin.register(Section)
class SectionAdmin(ReadOnlyAdmin):
    list_display = ["edition", "position", "code", "title_zh", "title_en"]
    list_filter = ["edition"]
    list_select_related = ["edition"]


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = ["code", "edition", "section", "type", "unit_zh", "applies_if", "part_of", "label_zh"]
    list_filter = ["edition", "section__code", "type"]
    list_select_related = ["edition", "section"]
    search_fields = ["code", "label_zh", "label_en"]


@admin.register(ValidationRule)
class ValidationRuleAdmin(ReadOnlyAdmin):
    list_display = ["code", "edition", "severity", "kind", "when", "condition"]
    list_filter = ["edition", "severity"]
    list_select_related = ["edition"]


@admin.register(Indicator)
class IndicatorAdmin(ReadOnlyAdmin):
    list_display = ["key", "edition", "format", "definition"]
    list_filter = ["edition"]
    list_select_related = ["edition"]
    search_fields = ["key"]


@admin.register(PublishedFigure)
class PublishedFigureAdmin(ReadOnlyAdmin):
    list_display = ["key", "edition", "value", "format"]
    list_filter = ["edition"]
    list_select_related = ["edition"]
    search_fields = ["key"]


@admin.register(SurveyReturn)
class SurveyReturnAdmin(ReadOnlyAdmin):
    """Returns change through the workflow pages and imports, which record who did what."""

    list_display = ["institution", "province", "edition", "status", "version", "updated_at", "updated_by"]
    list_filter = [
        "edition", "status", "institution__province", "institution__ownership", "institution__hospital_level",
    ]
    search_fields = ["institution__code", "institution__name"]
    list_select_related = ["institution__province", "edition", "updated_by"]
    list_per_page = 100

    @admin.display(description=_("province"), ordering="institution__province")
    def province(self, survey_return):
        return survey_return.institution.province


class EntryExtensionForm(forms.ModelForm):
    class Meta:
        model = EntryExtension
        fields = ["edition", "institution", "until", "reason"]


@admin.register(EntryExtension)
class EntryExtensionAdmin(AuditTrailHistoryMixin, admin.ModelAdmin):
    """Granted (or changed) through ``extension_grant``, as on the edition page: the admin who
    saves is the one who granted it. An extension is shortened, not deleted."""

    form = EntryExtensionForm
    list_display = ["institution", "edition", "until", "granted_by", "granted_at"]
    list_filter = ["edition"]
    list_select_related = ["institution", "edition", "granted_by"]
    search_fields = ["institution__code", "institution__name"]
    autocomplete_fields = ["institution"]

    def get_fields(self, request, obj=None):
        return ["edition", "institution", "until", "reason", *(["granted_by", "granted_at"] if obj else [])]

    def get_readonly_fields(self, request, obj=None):
        return ["edition", "institution", "granted_by", "granted_at"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        extension = extension_grant(
            edition=obj.edition, institution=obj.institution, until=obj.until, reason=obj.reason,
            actor=request.user, source=AuditSource.ADMIN,
        )
        instance_adopt(obj, extension)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "at", "edition", "kind", "source", "actor", "institution_code", "subject_label", "item_code",
        "old_value", "new_value",
    ]
    list_filter = ["kind", "source", "edition"]
    search_fields = ["subject_label", "item_code", "survey_return__institution__code", "institution__code"]
    list_select_related = ["actor", "edition", "institution", "survey_return__institution"]
    list_per_page = 100

    @admin.display(description=_("institution"))
    def institution_code(self, event):
        institution = event.survey_return.institution if event.survey_return_id else event.institution
        return institution.code if institution else ""


@admin.register(FigureValue)
class FigureValueAdmin(ReadOnlyAdmin):
    list_display = ["edition", "breakdown", "group", "key", "value", "computed_at"]
    list_filter = ["edition", "breakdown"]
    list_select_related = ["edition"]
    search_fields = ["key", "group"]


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    list_display = ["edition", "revision", "published_at", "published_by", "note"]
    list_select_related = ["edition", "published_by"]
