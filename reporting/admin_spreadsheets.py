"""The admin's bulk import, templates and exports of returns (mixed into EditionAdmin).

Each edition row in the admin links to: upload a file of many institutions' returns
(dry-run preview, then confirm), the all-institutions template, and the CSV / XLSX exports.
The pages are the spreadsheet views (reporting/views/spreadsheets.py), reached through
admin URLs wrapped by ``admin_view`` so the admin's login applies; the views check that the
user is a society admin.
"""

from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from reporting.views import spreadsheets as views


class EditionSpreadsheetAdminMixin:
    def get_urls(self):
        wrap = self.admin_site.admin_view

        def by_pk(view, **extra):
            def edition_view(request, object_id):
                edition = self.get_object(request, object_id)
                if edition is None:
                    from django.http import Http404

                    raise Http404
                return view(request, year=edition.year, **extra)

            return wrap(edition_view)

        custom = [
            path("<path:object_id>/import-returns/", by_pk(views.edition_import), name="reporting_edition_import_returns"),
            path("<path:object_id>/template.xlsx", by_pk(views.edition_template), name="reporting_edition_template"),
            path("<path:object_id>/export.csv", by_pk(views.edition_export, fmt="csv"), name="reporting_edition_export_csv"),
            path("<path:object_id>/export.xlsx", by_pk(views.edition_export, fmt="xlsx"), name="reporting_edition_export_xlsx"),
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
        return [*super().get_list_display(request), "spreadsheets"]
