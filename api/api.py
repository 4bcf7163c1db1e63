"""The API object: authentication, error bodies, routers, the OpenAPI schema and its docs page.

``/api/v1/openapi.json`` is generated from the code; ``/api/v1/docs/`` is Swagger UI from
django-ninja's own static files (no CDN, no inline script).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from api.auth import read_auth
from api.errors import ApiError, RateLimited

DESCRIPTION = """The national nuclear medicine survey's data: editions, their questionnaire (a
codebook), indicators and figures; returns and their answers, scoped like the web pages; pushes
of values with a dry run; the review workflow.

Authenticate with a personal access token: `Authorization: Bearer svy_…` (create one on the site
under *API tokens*). Session cookies never authenticate the API. Lists are paged with a cursor:
follow `next` until it is null. Figures and returns carry `ETag` and `Last-Modified`; send
`If-None-Match` to get `304 Not Modified` when nothing changed. Messages follow
`Accept-Language` (Chinese by default, `en` for English). Large exports (an edition's returns,
the audit trail) run as background jobs: start one, poll it, download its file. See docs/api.md."""

class ApiJSONEncoder(NinjaJSONEncoder):
    """Times to the microsecond, as pydantic writes them in the large bodies (Django's encoder
    cuts them to milliseconds, and a cursor or changed_since needs the exact time)."""

    def default(self, o):
        if isinstance(o, dt.datetime):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        return super().default(o)


class Utf8JSONRenderer(JSONRenderer):
    encoder_class = ApiJSONEncoder
    json_dumps_params = {"ensure_ascii": False}  # Chinese labels as text, not \u escapes


api = NinjaAPI(
    renderer=Utf8JSONRenderer(),
    title="surveysite API",
    version="1",
    description=DESCRIPTION,
    auth=read_auth,
    urls_namespace="api",
    docs=Swagger(settings={"persistAuthorization": False, "tryItOutEnabled": False}),
    docs_url="/docs/",
    openapi_url="/openapi.json",
)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    response = api.create_response(request, exc.body(), status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    from django.utils.translation import gettext as _

    response = api.create_response(request, {
        "detail": _("Send a valid, unexpired token: Authorization: Bearer svy_…"), "code": "not_authenticated",
    }, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="surveysite"'
    return response


@api.exception_handler(Http404)
def _not_found(request, exc):
    from django.utils.translation import gettext as _

    return api.create_response(request, {"detail": _("Not found."), "code": "not_found"}, status=404)


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):
    from django.conf import settings
    from django.utils.translation import gettext as _

    return api.create_response(request, {
        "detail": _("The request body is larger than %(size)s MB; send fewer returns per push.")
        % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)},
        "code": "too_large",
    }, status=413)


@api.exception_handler(NinjaValidationError)
def _invalid(request, exc: NinjaValidationError):
    return api.create_response(request, {"detail": exc.errors, "code": "invalid_request"}, status=422)


from api.endpoints import editions, exports, returns  # noqa: E402  (the routers use `api` above)

api.add_router("", editions.router)
api.add_router("", returns.router)
api.add_router("", exports.router)
