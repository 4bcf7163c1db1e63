"""Exports prepared in the background: started from the Spreadsheets page, written by a
worker into the shared storage, downloaded by the admin who asked (and other admins)."""

import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from jobs.models import BackgroundJob, JobState
from reporting.models import ReturnStatus
from reporting.services.export_jobs import EXPORT_KIND
from tests.factories import InstitutionFactory, liaison, reporter, society_admin, survey_return

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def returns(edition):
    survey_return(edition=edition, institution=InstitutionFactory(code="A001", name="=HYPERLINK(1)"),
                  values={"eq_pet_ct": 2, "svc_pet": True, "ownership": "public"}, status=ReturnStatus.APPROVED)
    survey_return(edition=edition, institution=InstitutionFactory(code="A002", name="第二医院"),
                  values={"eq_pet_ct": 5})
    survey_return(edition=edition, institution=InstitutionFactory(code="A003"))


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    """POST the export form and run the worker's task (eager, after the commit)."""

    def run(client, fmt="csv", **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("spreadsheets:edition_export_job", kwargs={"year": 2024}),
                               {"fmt": fmt, **extra})

    return run


def _job(response) -> BackgroundJob:
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    return BackgroundJob.objects.get(pk=job_id)


def test_a_csv_export_job_gives_the_streamed_export_byte_for_byte(edition, returns, start):
    admin = society_admin()
    client = _client(admin)
    job = _job(start(client))
    assert (job.kind, job.state, job.owner, job.file_label) == (EXPORT_KIND, JobState.DONE, admin, "returns-2024.csv")
    assert (job.done, job.total, job.result["returns"]) == (3, 3, 3)

    page = client.get(reverse("spreadsheets:export_job", kwargs={"job_id": job.pk})).content.decode()
    download_url = reverse("jobs:file", kwargs={"job_id": job.pk})
    assert 'id="job-done"' in page and download_url in page
    downloaded = b"".join(client.get(download_url).streaming_content)
    streamed = b"".join(
        chunk if isinstance(chunk, bytes) else chunk.encode()
        for chunk in client.get(reverse("spreadsheets:edition_export", kwargs={"year": 2024, "fmt": "csv"})).streaming_content
    )
    assert downloaded == streamed
    assert b"'=HYPERLINK(1)" in downloaded  # neutralised, as the streamed export
    assert job.file_size == len(downloaded)


def test_an_xlsx_export_job_of_approved_returns_only(edition, returns, start):
    client = _client(society_admin())
    job = _job(start(client, fmt="xlsx", approved_only="1"))
    assert job.state == JobState.DONE and job.file_label == "returns-2024-approved.xlsx"
    response = client.get(reverse("jobs:file", kwargs={"job_id": job.pk}))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    data = [row for row in rows[1:] if row[0] and not str(row[0]).startswith("#")]
    assert [row[0] for row in data] == ["A001"]
    assert data[0][header.index("eq_pet_ct")] == 2


def test_the_spreadsheets_page_offers_the_export_and_lists_the_admins_files(edition, returns, start):
    admin = society_admin()
    client = _client(admin)
    page = client.get(reverse("spreadsheets:index")).content.decode()
    assert reverse("spreadsheets:edition_export_job", kwargs={"year": 2024}) in page
    job = _job(start(client))
    page = client.get(reverse("spreadsheets:index")).content.decode()
    assert reverse("jobs:file", kwargs={"job_id": job.pk}) in page
    # Another admin's list does not show it (though, as an admin, they may fetch it).
    other = _client(society_admin())
    assert reverse("jobs:file", kwargs={"job_id": job.pk}) not in other.get(reverse("spreadsheets:index")).content.decode()
    assert other.get(reverse("jobs:file", kwargs={"job_id": job.pk})).status_code == 200


def test_a_running_export_shows_its_progress(edition, returns):
    from reporting.services.export_jobs import returns_export_job_start

    admin = society_admin()
    job = returns_export_job_start(edition=edition, actor=admin, fmt="csv")  # not run: no commit in a test
    BackgroundJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, phase="rows", done=1, total=4)
    page = _client(admin).get(reverse("spreadsheets:export_job", kwargs={"job_id": job.pk})).content.decode()
    assert 'id="job-progress"' in page and "25%" in page
    assert reverse("jobs:status", kwargs={"job_id": job.pk}) in page
    assert "js/upload-job.js" in page


@pytest.mark.parametrize("who", ["reporter", "liaison"])
def test_only_society_admins_start_exports_or_see_them(edition, returns, start, who):
    user = reporter(InstitutionFactory()) if who == "reporter" else liaison("11")
    client = _client(user)
    assert start(client).status_code == 404
    assert not BackgroundJob.objects.exists()
    job = _job(start(_client(society_admin())))
    assert client.get(reverse("spreadsheets:export_job", kwargs={"job_id": job.pk})).status_code == 404
    assert client.get(reverse("jobs:file", kwargs={"job_id": job.pk})).status_code == 404


def test_an_unknown_format_is_refused(edition, returns, start):
    assert start(_client(society_admin()), fmt="pdf").status_code == 404
    assert not BackgroundJob.objects.exists()


def test_the_service_refuses_non_admins(edition):
    from django.core.exceptions import PermissionDenied

    from reporting.services.export_jobs import returns_export_job_start

    with pytest.raises(PermissionDenied):
        returns_export_job_start(edition=edition, actor=reporter(InstitutionFactory()), fmt="csv")


def test_the_pages_speak_chinese_first(edition, returns, start):
    admin = society_admin()
    client = Client()  # no Accept-Language: the site's default, Chinese
    client.force_login(admin)
    assert "在后台生成文件" in client.get(reverse("spreadsheets:index")).content.decode()
    job = _job(start(client))
    page = client.get(reverse("spreadsheets:export_job", kwargs={"job_id": job.pk})).content.decode()
    assert "文件已生成：共 3 份报表。" in page and "下载" in page
