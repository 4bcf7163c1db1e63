"""Exports as background jobs through the API: who may start and read them (every role × own and
another's job, read-only, expired and revoked tokens), the files equal to the web pages', the
same jobs as the web pages', progress, expiry, paging."""

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from api.models import ApiToken
from jobs.models import BackgroundJob, JobState
from jobs.services import job_create, jobs_sweep
from jobs.storage import survey_files
from reporting.models import ReturnStatus
from reporting.services.audit_export_jobs import AUDIT_EXPORT_KIND
from reporting.services.export_jobs import EXPORT_KIND
from reporting.services.returns import extension_grant
from tests.api.conftest import bearer, token_for
from tests.factories import InstitutionFactory, society_admin, survey_return
from tests.reporting import entry_support

open_edition, world = entry_support.open_edition, entry_support.world

ROLES = ["reporter", "liaison", "admin", "admin_other"]
STARTS = [
    ("/api/v1/editions/2024/exports/returns", {"format": "csv"}),
    ("/api/v1/editions/2024/exports/returns", {"format": "xlsx", "statuses": ["approved"]}),
    ("/api/v1/editions/2024/exports/audit", None),
    ("/api/v1/exports/audit", None),
]


@pytest.fixture
def people(world):
    world["admin_other"] = society_admin()
    survey_return(edition=world["edition"], institution=InstitutionFactory(code="X0001", name="=HYPERLINK(1)"),
                  values={"eq_pet_ct": 2, "svc_pet": True}, status=ReturnStatus.APPROVED)
    extension_grant(edition=world["edition"], institution=world["shanghai"], until=dt.date(2099, 1, 1),
                    actor=world["admin"])
    return world


def _api(user, scope="read") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.defaults.update(bearer(token_for(user, scope)))
    return client


def _web(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    """POST a start URL; the worker's task runs (eagerly) once the request has committed."""

    def run(client, url, body=None, *, form=None):
        with django_capture_on_commit_callbacks(execute=True):
            if form is not None:  # a web page's form
                return client.post(url, form)
            if body is None:
                return client.post(url)
            return client.post(url, body, content_type="application/json")

    return run


def _body(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.content
    content = response.streaming_content if response.streaming else [response.content]
    return b"".join(c if isinstance(c, bytes) else c.encode() for c in content)


def _started(response) -> dict:
    assert response.status_code == 202, response.content
    job = response.json()
    assert response["Location"] == job["url"] and job["url"].endswith(f"/api/v1/exports/{job['id']}")
    return job


def _done(client, job: dict) -> dict:
    job = client.get(job["url"]).json()
    assert job["state"] == "done", job
    assert job["percent"] == 100 and job["done"] == job["total"] == job["rows"]
    assert job["file_url"].endswith(f"/api/v1/exports/{job['id']}/file")
    return job


# --- who may do what -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reporter", "liaison"])
@pytest.mark.parametrize("url, body", STARTS)
def test_only_society_admins_start_exports_as_on_the_web(people, start, role, url, body):
    response = start(_api(people[role], "write"), url, body)
    assert response.status_code == 403 and response.json()["code"] == "not_permitted"
    assert not BackgroundJob.objects.exists()
    # The web pages refuse them too (404: the admins' pages are nobody else's business).
    web = _web(people[role])
    assert web.post(reverse("spreadsheets:edition_export_job", kwargs={"year": 2024}), {"fmt": "csv"}).status_code == 404
    assert web.post(reverse("entry:audit_export_job"), {"edition": "2024"}).status_code == 404


@pytest.mark.parametrize("scope", ["read", "write"])
@pytest.mark.parametrize("url, body", STARTS)
def test_an_admin_starts_each_export_with_either_scope(people, start, scope, url, body):
    client = _api(people["admin"], scope)
    job = _started(start(client, url, body))
    assert job["owner"] == people["admin"].username and job["state"] == "queued"
    assert job["file_url"] is None and job["rows"] is None
    job = _done(client, job)
    assert job["content_type"] == ("text/csv; charset=utf-8" if job["format"] == "csv"
                                   else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    stored = BackgroundJob.objects.get(pk=job["id"])
    assert stored.kind == (EXPORT_KIND if "returns" in url else AUDIT_EXPORT_KIND)
    assert job["file_size"] == stored.file_size == len(_body(client, job["file_url"]))


def _owned_job(owner, *, kind=EXPORT_KIND) -> BackgroundJob:
    """A finished export of `owner` with a file (for a reporter or liaison: an admin's since demoted)."""
    job = job_create(kind=kind, owner=owner, parameters={"year": 2024, "format": "csv", "statuses": None},
                     step="export", state=JobState.DONE, file=b"\xef\xbb\xbfinstitution_code\r\n",
                     file_label="returns-2024.csv")
    BackgroundJob.objects.filter(pk=job.pk).update(result={"returns": 0, "content_type": "text/csv; charset=utf-8"},
                                                   finished_at=timezone.now())
    return job


# The status each role gets for each job: an admin reads their own and another admin's; nobody
# else reads any, not even one they own from when they were an admin.
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("whose", ["own", "admin", "admin_other"])
def test_reading_a_job_and_its_file_by_role_and_owner(people, role, whose):
    owner = people[role] if whose == "own" else people[whose]
    job = _owned_job(owner)
    expected = 200 if role.startswith("admin") else 404
    client = _api(people[role])
    detail = client.get(f"/api/v1/exports/{job.pk}")
    assert detail.status_code == expected, (role, whose)
    file = client.get(f"/api/v1/exports/{job.pk}/file")
    assert file.status_code == expected, (role, whose)
    if expected == 404:
        assert detail.json()["code"] == file.json()["code"] == "not_found"  # never 403: nothing leaks
    else:
        assert detail.json()["owner"] == owner.username
        assert b"".join(file.streaming_content) == b"\xef\xbb\xbfinstitution_code\r\n"
    listed = {item["id"] for item in client.get("/api/v1/exports").json()["items"]}
    assert listed == ({str(job.pk)} if role.startswith("admin") and owner == people[role] else set())


def test_an_upload_job_is_not_an_export(people):
    admin = people["admin"]
    upload = job_create(kind="spreadsheet_import", owner=admin, parameters={}, file=b"x", file_label="a.csv")
    client = _api(admin)
    assert client.get(f"/api/v1/exports/{upload.pk}").status_code == 404
    assert client.get(f"/api/v1/exports/{upload.pk}/file").status_code == 404
    assert client.get("/api/v1/exports").json()["items"] == []


def test_an_expired_or_revoked_token_reads_nothing(people):
    job = _owned_job(people["admin"])
    client = _api(people["admin"])
    assert client.get(f"/api/v1/exports/{job.pk}").status_code == 200
    ApiToken.objects.filter(user=people["admin"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    for url in (f"/api/v1/exports/{job.pk}", f"/api/v1/exports/{job.pk}/file", "/api/v1/exports"):
        assert client.get(url).status_code == 401
    assert client.post("/api/v1/exports/audit").status_code == 401
    revoked = _api(people["admin"])
    ApiToken.objects.filter(user=people["admin"]).update(revoked_at=timezone.now())
    assert revoked.get(f"/api/v1/exports/{job.pk}/file").status_code == 401
    assert BackgroundJob.objects.count() == 1


def test_a_session_does_not_authenticate_the_api(people):
    job = _owned_job(people["admin"])
    web = _web(people["admin"])
    assert web.get(f"/api/v1/exports/{job.pk}/file").status_code == 401
    assert web.post("/api/v1/exports/audit").status_code == 401


# --- the same files and the same jobs as the web pages -------------------------------------------


def test_the_returns_csv_equals_the_web_export_byte_for_byte(people, start):
    admin = people["admin"]
    client = _api(admin)
    job = _done(client, _started(start(client, "/api/v1/editions/2024/exports/returns", {"format": "csv"})))
    downloaded = client.get(job["file_url"])
    assert downloaded["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="returns-2024.csv"' in downloaded["Content-Disposition"]
    content = b"".join(downloaded.streaming_content)
    web = _web(admin)
    assert content == _body(web, reverse("spreadsheets:edition_export", kwargs={"year": 2024, "fmt": "csv"}))
    # And the web page's job of the same kind writes the same file.
    assert start(web, reverse("spreadsheets:edition_export_job", kwargs={"year": 2024}),
                 form={"fmt": "csv"}).status_code == 302
    web_job = BackgroundJob.objects.exclude(pk=job["id"]).get(kind=EXPORT_KIND)
    assert _body(web, reverse("jobs:file", kwargs={"job_id": web_job.pk})) == content
    assert job["rows"] == 4 and b"'=HYPERLINK(1)" in content


def test_the_approved_returns_xlsx_equals_the_web_export(people, start):
    admin = people["admin"]
    client = _api(admin)
    job = _done(client, _started(start(client, "/api/v1/editions/2024/exports/returns",
                                       {"format": "xlsx", "statuses": ["approved"]})))
    assert (job["file_name"], job["statuses"], job["rows"]) == ("returns-2024-approved.xlsx", ["approved"], 1)

    def rows(content: bytes) -> list:
        return list(load_workbook(io.BytesIO(content), read_only=True).worksheets[0].iter_rows(values_only=True))

    web = _web(admin)
    expected = rows(_body(web, reverse("spreadsheets:edition_export", kwargs={"year": 2024, "fmt": "xlsx"})
                          + "?status=approved"))
    assert rows(_body(client, job["file_url"])) == expected


@pytest.mark.parametrize("url, query", [("/api/v1/editions/2024/exports/audit", "?edition=2024"),
                                        ("/api/v1/exports/audit", "")])
def test_the_audit_csv_equals_the_web_export_byte_for_byte(people, start, url, query):
    admin = people["admin"]
    client = _api(admin)
    job = _done(client, _started(start(client, url)))
    content = _body(client, job["file_url"])
    assert content == _body(_web(admin), reverse("entry:audit_export") + query)
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert job["rows"] == len(rows) >= 1 and {"extension"} <= {row["kind"] for row in rows}
    assert job["edition"] == (2024 if query else None) and job["kind"] == "audit"


def test_the_web_pages_and_the_api_share_the_jobs(people, start):
    admin = people["admin"]
    client, web = _api(admin), _web(admin)
    api_job = _started(start(client, "/api/v1/editions/2024/exports/audit"))
    # Started with the API: on the audit trail page, with its progress page and download.
    assert reverse("jobs:file", kwargs={"job_id": api_job["id"]}) in web.get(reverse("entry:audit")).content.decode()
    assert web.get(reverse("entry:audit_export_job_detail", kwargs={"job_id": api_job["id"]})).status_code == 200
    # Started on the web pages: in the API's list, readable and downloadable.
    start(web, reverse("spreadsheets:edition_export_job", kwargs={"year": 2024}), form={"fmt": "xlsx"})
    start(web, reverse("entry:audit_export_job"), form={"edition": ""})
    listed = client.get("/api/v1/exports").json()["items"]
    assert [(item["kind"], item["format"], item["edition"], item["state"]) for item in listed] == [
        ("audit", "csv", None, "done"), ("returns", "xlsx", 2024, "done"), ("audit", "csv", 2024, "done")]
    for item in listed:
        assert _body(client, item["file_url"])


# --- progress, readiness, expiry, limits, paging ---------------------------------------------------


def test_a_queued_or_running_job_shows_its_progress_and_has_no_file_yet(people):
    admin = people["admin"]
    client = _api(admin)
    job = _started(client.post("/api/v1/editions/2024/exports/audit"))  # no commit: the task is not run
    BackgroundJob.objects.filter(pk=job["id"]).update(state=JobState.RUNNING, phase="events", done=1, total=4)
    polled = client.get(job["url"])
    assert polled["Cache-Control"] == "private, no-store"
    assert {k: polled.json()[k] for k in ("state", "phase", "done", "total", "percent", "file_url")} == {
        "state": "running", "phase": "events", "done": 1, "total": 4, "percent": 25, "file_url": None}
    response = client.get(f"{job['url']}/file")
    assert response.status_code == 404 and response.json()["code"] == "not_ready"
    BackgroundJob.objects.filter(pk=job["id"]).update(state=JobState.FAILED)
    response = client.get(f"{job['url']}/file")
    assert response.status_code == 404 and response.json()["code"] == "export_failed"


def test_a_job_past_its_expiry_is_gone(people, start):
    admin = people["admin"]
    client = _api(admin)
    job = _done(client, _started(start(client, "/api/v1/exports/audit")))
    stored = BackgroundJob.objects.get(pk=job["id"])
    assert timezone.now() + dt.timedelta(hours=23) < stored.expires_at <= timezone.now() + dt.timedelta(days=1)
    assert job["expires_at"] == stored.expires_at.isoformat().replace("+00:00", "Z")
    BackgroundJob.objects.filter(pk=stored.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(job["url"]).status_code == 404
    assert client.get(job["file_url"]).status_code == 404
    assert client.get("/api/v1/exports").json()["items"] == []
    assert survey_files().exists(stored.file_name)
    jobs_sweep()
    assert not survey_files().exists(stored.file_name) and not BackgroundJob.objects.exists()


def test_at_most_a_few_exports_wait_at_once(people, settings):
    settings.API_EXPORT_JOBS_ACTIVE_MAX = 2
    client = _api(people["admin"])
    for _ in range(2):
        _started(client.post("/api/v1/exports/audit"))  # queued: no commit, no worker
    response = client.post("/api/v1/editions/2024/exports/returns", {"format": "csv"}, content_type="application/json")
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    assert BackgroundJob.objects.count() == 2
    # Another admin has their own allowance; a finished job frees a place.
    _started(_api(people["admin_other"]).post("/api/v1/exports/audit"))
    BackgroundJob.objects.filter(owner=people["admin"]).update(state=JobState.DONE)
    _started(client.post("/api/v1/exports/audit"))


def test_the_list_is_paged_newest_first_with_a_cursor(people):
    admin = people["admin"]
    jobs = [_owned_job(admin, kind=AUDIT_EXPORT_KIND if n % 2 else EXPORT_KIND) for n in range(5)]
    _owned_job(people["admin_other"])
    client = _api(admin)
    seen, url = [], "/api/v1/exports?limit=2"
    while url:
        page = client.get(url).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        url = page["next"]
    newest_first = sorted(jobs, key=lambda job: (job.created_at, job.pk), reverse=True)
    assert seen == [str(job.pk) for job in newest_first]
    audit = client.get("/api/v1/exports?kind=audit&limit=100").json()["items"]
    assert {item["id"] for item in audit} == {str(job.pk) for job in jobs[1::2]}
    assert client.get("/api/v1/exports?cursor=bm9wZQ").status_code == 422
    assert client.get("/api/v1/exports?limit=1001").status_code == 422


@pytest.mark.parametrize("url, body, status", [
    ("/api/v1/editions/1999/exports/returns", {"format": "csv"}, 404),
    ("/api/v1/editions/1999/exports/audit", None, 404),
    ("/api/v1/editions/2024/exports/returns", {"format": "pdf"}, 422),
    ("/api/v1/editions/2024/exports/returns", {"format": "csv", "statuses": ["lost"]}, 422),
])
def test_a_bad_request_starts_nothing(people, url, body, status):
    client = _api(people["admin"])
    response = client.post(url, body, content_type="application/json") if body else client.post(url)
    assert response.status_code == status
    assert not BackgroundJob.objects.exists()


def test_a_malformed_job_id_is_not_found_or_refused(people):
    client = _api(people["admin"])
    assert client.get("/api/v1/exports/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/api/v1/exports/not-a-uuid").status_code in (404, 422)
