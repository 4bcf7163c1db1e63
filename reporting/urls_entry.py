"""Data entry, review, completeness and the audit trail."""

from django.urls import path

from reporting import converters  # noqa: F401 (registers <id:…> and <year:…>)
from reporting.views import completeness, editions, entry, history, review

app_name = "entry"

urlpatterns = [
    path("returns/", entry.return_list, name="returns"),
    path("returns/start/", entry.return_start, name="return_start"),
    path("returns/<id:pk>/", entry.return_detail, name="return"),
    path("returns/<id:pk>/review/", review.return_review, name="review"),
    path("returns/<id:pk>/history/", history.return_history, name="history"),
    path("completeness/", completeness.completeness, name="completeness"),
    path("completeness/reminders/", completeness.reminders_send, name="reminders"),
    path("editions/<year:year>/", editions.edition_manage, name="edition"),
    path("audit/", history.audit_index, name="audit"),
    path("audit/export.csv", history.audit_export, name="audit_export"),
    path("audit/exports/", history.audit_export_job, name="audit_export_job"),
    path("audit/exports/<uuid:job_id>/", history.audit_export_job_detail, name="audit_export_job_detail"),
]
