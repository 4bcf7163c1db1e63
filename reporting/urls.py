"""URL map of the survey. Each area keeps its own list in reporting/urls_<area>.py."""

from django.urls import include, path

from reporting.views import home

urlpatterns = [
    path("", home.home, name="home"),
    path("", include("reporting.urls_entry")),
    path("", include("reporting.urls_report")),
    path("", include("reporting.urls_spreadsheets")),
    path("", include("analysis.urls")),
]
