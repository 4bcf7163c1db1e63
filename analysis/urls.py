from django.urls import path

from analysis import views

app_name = "analysis"

urlpatterns = [
    path("review/outliers/", views.outlier_index, name="outliers_index"),
    path("review/<int:year>/outliers/", views.outlier_list, name="outliers"),
    path("returns/<int:pk>/outlier-mark/", views.outlier_mark_view, name="mark"),
]
