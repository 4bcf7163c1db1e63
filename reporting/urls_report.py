"""The national report: /report/<year>/ and its PDF, downloads and publishing page."""

from django.urls import path

from reporting import converters  # noqa: F401 (registers <id:…> and <year:…>)
from reporting.views import report

app_name = "report"

urlpatterns = [
    path("report/", report.report_index, name="index"),
    path("report/<year:year>/", report.report_page, name="page"),
    path("report/<year:year>/report.pdf", report.report_pdf, name="pdf"),
    path("report/<year:year>/figures.<str:file_type>", report.report_download, name="download"),
    path("report/<year:year>/publish/", report.report_publish, name="publish"),
    path("report/<year:year>/province/<str:code>/", report.report_province, name="province"),
]
