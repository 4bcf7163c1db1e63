"""The API under /api/v1/ and the tokens page under /account/tokens/."""

from django.urls import path

from api import views
from reporting import converters  # noqa: F401 (registers <id:…>)

app_name = "api_tokens"

urlpatterns = [
    path("account/tokens/", views.token_list, name="list"),
    path("account/tokens/<id:pk>/revoke/", views.token_revoke, name="revoke"),
]
