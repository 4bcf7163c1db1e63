"""The national report: /report/<year>/ and its PDF, downloads and publishing page."""

from django.urls import path

from reporting.views import report

app_name = "report"

urlpatterns = [
    path("report/", report.report_index, name="index"),
    path("report/<int:year>/", report.report_page, name="page"),
    path("report/<int:year>/report.pdf", report.report_pdf, name="pdf"),
    path("report/<int:year>/figures.<str:file_type>", report.report_download, name="download"),
    path("report/<int:year>/publish/", report.report_publish, name="publish"),
    path("report/<int:year>/province/<str:code>/", report.report_province, name="province"),
]
