"""The admin's bulk import, templates and exports of returns (mixed into EditionAdmin).

Each edition row in the admin links to: upload a file of many institutions' returns
(dry-run preview, then confirm), the all-institutions template, and the CSV / XLSX exports.
The pages are the spreadsheet views (reporting/views/spreadsheets.py), reached through
admin URLs wrapped by ``admin_view`` so the admin's login applies. Like the institution
import and export, they need their own permission (``reporting.import_edition`` to import,
``reporting.export_edition`` for templates and exports: a template lists every institution),
which the society admin role gives; without it the answer is 403. The views then check the
role themselves.
"""

from django.conf import settings
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from reporting.views import spreadsheets as views

IMPORT, EXPORT = "import", "export"


class EditionSpreadsheetAdminMixin:
    def has_spreadsheet_permission(self, request, action: str) -> bool:
        """The same permission codes as django-import-export's admin imports and exports."""
        code = getattr(settings, f"IMPORT_EXPORT_{action.upper()}_PERMISSION_CODE", None) or action
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename(code, self.opts)}")

    def get_urls(self):
        wrap = self.admin_site.admin_view

        def by_pk(view, action, **extra):
            def edition_view(request, object_id):
                if not self.has_spreadsheet_permission(request, action):
                    raise PermissionDenied
                edition = self.get_object(request, object_id)
                if edition is None:
                    raise Http404
                return view(request, year=edition.year, **extra)

            return wrap(edition_view)

        custom = [
            path("<path:object_id>/import-returns/", by_pk(views.edition_import, IMPORT),
                 name="reporting_edition_import_returns"),
            path("<path:object_id>/template.xlsx", by_pk(views.edition_template, EXPORT),
                 name="reporting_edition_template"),
            path("<path:object_id>/export.csv", by_pk(views.edition_export, EXPORT, fmt="csv"),
                 name="reporting_edition_export_csv"),
            path("<path:object_id>/export.xlsx", by_pk(views.edition_export, EXPORT, fmt="xlsx"),
                 name="reporting_edition_export_xlsx"),
        ]
        return custom + super().get_urls()

    @staticmethod
    def _spreadsheet_links(obj) -> str:
        if not obj.items.exists():
            return "—"
        name = "admin:reporting_edition_{}"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">CSV</a> · <a href="{}">XLSX</a>',
            reverse(name.format("import_returns"), args=[obj.pk]), _("Import returns"),
            reverse(name.format("template"), args=[obj.pk]), _("Template"),
            reverse(name.format("export_csv"), args=[obj.pk]),
            reverse(name.format("export_xlsx"), args=[obj.pk]),
        )

    def spreadsheets(self, obj):
        return self._spreadsheet_links(obj)

    spreadsheets.short_description = _("Spreadsheets")

    def get_list_display(self, request):
        display = super().get_list_display(request)
        if self.has_spreadsheet_permission(request, IMPORT) and self.has_spreadsheet_permission(request, EXPORT):
            display = [*display, "spreadsheets"]
        return display
