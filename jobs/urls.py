"""Background jobs: progress and files (jobs/views.py)."""

from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("jobs/<uuid:job_id>/status/", views.job_status, name="status"),
    path("jobs/<uuid:job_id>/file/", views.job_file, name="file"),
]
