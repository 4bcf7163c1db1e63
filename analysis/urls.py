from django.urls import path

from analysis import views
from reporting import converters  # noqa: F401 (registers <id:…> and <year:…>)

app_name = "analysis"

urlpatterns = [
    path("review/outliers/", views.outlier_index, name="outliers_index"),
    path("review/<year:year>/outliers/", views.outlier_list, name="outliers"),
    path("returns/<id:pk>/outlier-mark/", views.outlier_mark_view, name="mark"),
]
