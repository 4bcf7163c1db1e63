"""Spreadsheet templates, uploads and exports (docs/spreadsheets.md)."""

from django.urls import path

from reporting import converters  # noqa: F401 (registers <id:…> and <year:…>)
from reporting.views import spreadsheets as views

app_name = "spreadsheets"

urlpatterns = [
    path("returns/<id:return_id>/template.xlsx", views.return_template, name="return_template"),
    path("returns/<id:return_id>/upload/", views.return_upload, name="return_upload"),
    path("spreadsheets/", views.index, name="index"),
    path("spreadsheets/<year:year>/template.xlsx", views.edition_template, name="edition_template"),
    path("spreadsheets/<year:year>/import/", views.edition_import, name="edition_import"),
    path("spreadsheets/<year:year>/export.<str:fmt>", views.edition_export, name="edition_export"),
    path("spreadsheets/uploads/<str:job_id>/", views.job_detail, name="job"),
    path("spreadsheets/uploads/<str:job_id>/status/", views.job_status, name="job_status"),
    path("spreadsheets/uploads/<str:job_id>/confirm/", views.job_confirm, name="job_confirm"),
]
