"""The API against its own OpenAPI schema (schemathesis): requests generated from the schema are
sent over HTTP to the live app on PostgreSQL; no answer may be a server error, and every
answer must match the schema (status code, content type, body).

The number of examples per operation is bounded (SCHEMATHESIS_EXAMPLES, default 10) so the
suite stays fast; raise it locally to search harder.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reporting.models import ReturnStatus
from reporting.services.audit_export_jobs import audit_export_job_start
from tests.api.conftest import token_for
from tests.factories import InstitutionFactory, society_admin, survey_return

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(live_server, edition):
    """The schema as the live app serves it, and a world to call it on: an admin's read-write
    token, returns in every state, answers of every type, computed figures, a finished export."""
    from django.core.management import call_command

    admin = society_admin(username="schema-admin")
    returns = []
    for n, status in enumerate(ReturnStatus.values):
        returns.append(survey_return(edition=edition, institution=InstitutionFactory(code=f"S{n}"), status=status,
                      values={"eq_pet_ct": n, "svc_pet": True, "ownership": "public", "op_suggestions": "文字"}))
    call_command("aggregate", "--edition", "2024", stdout=open(os.devnull, "w"))
    # A finished export (its task runs in-process once committed), for /exports/{job_id}.
    export = audit_export_job_start(actor=admin, edition=edition)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    schema.token = token_for(admin, "write")
    schema.existing = {"year": 2024, "return_id": returns[0].pk, "job_id": str(export.pk)}
    return schema


def test_api_answers_match_the_schema_and_never_fail(api_schema):
    # One test walks every operation (schemathesis' own pytest parametrisation needs pytest < 9);
    # every operation is tried and the failures of all of them are reported together.
    headers = {"Authorization": f"Bearer {api_schema.token}"}
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        # A few cases as generated (made-up years and ids: 404s), then most of them naming what
        # exists (the 2024 edition, a real return), so generated filters and bodies reach the code.
        for real, examples in ((False, max(3, EXAMPLES // 4)), (True, EXAMPLES)):

            @given(case=operation.as_strategy())
            @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
                      derandomize=True, database=None)
            def check(case):
                if real:  # noqa: B023  (check runs within this iteration)
                    for name, value in api_schema.existing.items():
                        if name in (case.path_parameters or {}):
                            case.path_parameters[name] = value
                    if case.query and "edition" in case.query:
                        case.query["edition"] = 2024
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                check()
            except Exception as failure:  # noqa: BLE001  (collected, then reported all at once)
                failures.append(f"{operation.label}: {failure}")
    assert operations >= 15
    assert not failures, "\n\n".join(failures)


def test_the_schema_is_openapi_3_and_names_bearer_auth(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert "/api/v1/editions/{year}/figures" in schema["paths"]


def test_the_docs_page_uses_only_local_assets(client, db):
    html = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui-bundle.js" in html and "cdn" not in html.lower() and "https://" not in html
    assert "<script>" not in html  # no inline script: the settings are a JSON data block
    for asset in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui.css", "ninja/swagger-ui-init.js"):
        from django.contrib.staticfiles import finders

        assert finders.find(asset), asset
        assert f"/static/{asset}" in html
