"""The audit trail exported in the background: started from the audit trail page (or an
edition's page), written by a worker into the shared storage, downloaded by the admin who
asked (and other admins), the same file as the streamed download."""

import datetime as dt
import io
import tracemalloc

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from institutions.services import institution_update
from jobs.models import BackgroundJob, JobState, StoredFile
from reporting.models import AuditEvent
from reporting.services.audit_export_jobs import (
    AUDIT_EXPORT_KIND,
    audit_export_job_run,
    audit_export_job_start,
    csv_file_write,
)
from reporting.services.export_jobs import returns_export_job_start
from reporting.services.returns import extension_grant
from tests.factories import InstitutionFactory, liaison, reporter, society_admin
from tests.reporting import entry_support

open_edition, world = entry_support.open_edition, entry_support.world


def _client(user, language="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language) if language else Client()
    client.force_login(user)
    return client


@pytest.fixture
def trail(world):
    """Edition events (extensions) and registry events (an institution renamed, =formula)."""
    admin = world["admin"]
    for day in range(1, 4):
        extension_grant(edition=world["edition"], institution=world["shanghai"], until=dt.date(2099, 1, day), actor=admin)
    institution_update(institution=world["beijing"], changes={"name": "=HYPERLINK(1)"}, actor=admin)
    return world


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    """POST the audit export form and run the worker's task (eager, after the commit)."""

    def run(client, edition="2024"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("entry:audit_export_job"), {"edition": edition})

    return run


def _job(response) -> BackgroundJob:
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    return BackgroundJob.objects.get(pk=job_id)


def _streamed(client, query: str = "") -> bytes:
    response = client.get(reverse("entry:audit_export") + query)
    assert response.status_code == 200
    return b"".join(c if isinstance(c, bytes) else c.encode() for c in response.streaming_content)


def _downloaded(client, job) -> bytes:
    response = client.get(reverse("jobs:file", kwargs={"job_id": job.pk}))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


def test_an_editions_audit_job_gives_the_streamed_export_byte_for_byte(trail, start):
    admin = trail["admin"]
    client = _client(admin)
    job = _job(start(client))
    assert (job.kind, job.state, job.owner, job.file_label) == (AUDIT_EXPORT_KIND, JobState.DONE, admin,
                                                                 "audit-trail-2024.csv")
    events = AuditEvent.objects.filter(edition=trail["edition"]).count()
    assert events >= 3  # the extensions (the rename belongs to no edition)
    assert (job.done, job.total, job.result["events"]) == (events, events, events)
    page = client.get(reverse("entry:audit_export_job_detail", kwargs={"job_id": job.pk})).content.decode()
    assert 'id="job-done"' in page and reverse("jobs:file", kwargs={"job_id": job.pk}) in page
    assert f"The file is ready: {events} events." in page
    downloaded = _downloaded(client, job)
    assert downloaded == _streamed(client, "?edition=2024")
    assert downloaded.startswith("\ufeff".encode()) and job.file_size == len(downloaded)


def test_a_job_of_every_event_has_the_registry_events_too(trail, start):
    client = _client(trail["admin"])
    job = _job(start(client, edition=""))
    assert job.file_label == "audit-trail.csv" and job.parameters["edition_id"] is None
    downloaded = _downloaded(client, job)
    assert downloaded == _streamed(client)
    assert b"'=HYPERLINK(1)" in downloaded  # neutralised, as in the streamed export
    assert job.result["events"] == AuditEvent.objects.count() == downloaded.count(b"\r\n") - 1


def test_the_audit_page_offers_both_ways_and_lists_the_admins_files(trail, start):
    admin = trail["admin"]
    client = _client(admin)
    page = client.get(reverse("entry:audit")).content.decode()
    assert reverse("entry:audit_export_job") in page and 'name="edition" value="2024"' in page
    assert reverse("entry:audit_export") + "?edition=2024" in page
    job = _job(start(client))
    file_url = reverse("jobs:file", kwargs={"job_id": job.pk})
    assert file_url in client.get(reverse("entry:audit")).content.decode()
    # Another admin's list does not show it (though, as an admin, they may fetch it).
    other = _client(society_admin())
    assert file_url not in other.get(reverse("entry:audit")).content.decode()
    assert other.get(file_url).status_code == 200
    # The returns exports' list is the Spreadsheets page's, not this one's.
    returns_job = returns_export_job_start(edition=trail["edition"], actor=admin, fmt="csv")
    assert str(returns_job.pk) not in client.get(reverse("entry:audit")).content.decode()
    assert client.get(reverse("entry:audit_export_job_detail", kwargs={"job_id": returns_job.pk})).status_code == 404


def test_the_home_and_edition_pages_lead_to_it(trail, start):
    client = _client(trail["admin"])
    assert reverse("entry:audit") in client.get(reverse("home")).content.decode()
    edition_page = client.get(reverse("entry:edition", kwargs={"year": 2024})).content.decode()
    assert reverse("entry:audit_export_job") in edition_page and reverse("entry:audit") in edition_page


def test_a_running_export_shows_its_progress(trail):
    admin = trail["admin"]
    job = audit_export_job_start(actor=admin, edition=trail["edition"])  # not run: no commit in a test
    BackgroundJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, phase="events", done=1, total=4)
    page = _client(admin).get(reverse("entry:audit_export_job_detail", kwargs={"job_id": job.pk})).content.decode()
    assert 'id="job-progress"' in page and "25%" in page
    assert reverse("jobs:status", kwargs={"job_id": job.pk}) in page and "js/upload-job.js" in page
    status = _client(admin).get(reverse("jobs:status", kwargs={"job_id": job.pk})).json()
    assert (status["state"], status["percent"]) == ("running", 25)


@pytest.mark.parametrize("who", ["reporter", "liaison"])
def test_only_society_admins_start_audit_exports_or_see_them(trail, start, who):
    user = reporter(InstitutionFactory()) if who == "reporter" else liaison("11")
    client = _client(user)
    assert client.get(reverse("entry:audit")).status_code == 404
    assert start(client).status_code == 404
    assert not BackgroundJob.objects.exists()
    job = _job(start(_client(trail["admin"])))
    assert client.get(reverse("entry:audit_export_job_detail", kwargs={"job_id": job.pk})).status_code == 404
    assert client.get(reverse("jobs:file", kwargs={"job_id": job.pk})).status_code == 404
    assert client.get(reverse("jobs:status", kwargs={"job_id": job.pk})).status_code == 404
    with pytest.raises(PermissionDenied):
        audit_export_job_start(actor=user, edition=trail["edition"])


@pytest.mark.parametrize("year", ["1999", "abc", "２０２４", "2024\x00"])
def test_a_year_naming_no_edition_starts_nothing(trail, start, year):
    assert start(_client(trail["admin"]), edition=year).status_code in (400, 404)  # a NUL is refused at the door
    assert not BackgroundJob.objects.exists()


def test_the_page_wants_a_post_to_start_a_job(trail):
    assert _client(trail["admin"]).get(reverse("entry:audit_export_job")).status_code == 405


def test_a_run_that_breaks_fails_the_job_and_stores_nothing(trail, monkeypatch):
    admin = trail["admin"]
    job = audit_export_job_start(actor=admin, edition=trail["edition"])

    def broken(**kwargs):
        yield ["at"]
        raise RuntimeError("the database went away")

    monkeypatch.setattr("reporting.services.audit_export_jobs.audit_export_rows", broken)
    audit_export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and not job.file_name
    assert not StoredFile.objects.exists()
    page = _client(admin).get(reverse("entry:audit_export_job_detail", kwargs={"job_id": job.pk})).content.decode()
    assert 'id="job-failed"' in page


def test_the_run_reads_a_fixed_number_of_queries_whatever_the_trail(trail, django_assert_max_num_queries):
    admin = trail["admin"]
    for n in range(40):
        institution_update(institution=trail["beijing"], changes={"city": f"城{n}"}, actor=admin)
    job = audit_export_job_start(actor=admin)
    # Advisory lock, claim, edition, count, the events (a server-side cursor), finish, file, unlock:
    # about 20 whatever the events' number (the progress writes are at most one per half second).
    with django_assert_max_num_queries(25):
        audit_export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.result["events"] == AuditEvent.objects.count() >= 44


def test_the_writer_holds_no_more_than_a_few_rows_whatever_their_number():
    def rows(count):
        yield ["at", "kind", "comment"]
        for n in range(count):
            yield [f"2024-01-01T00:00:{n % 60:02d}", "value", f"第{n}次修改 " * 5]

    tracemalloc.start()
    try:
        handle = io.BytesIO()
        csv_file_write(rows(50_000), _Discard())
        tracemalloc.reset_peak()
        csv_file_write(rows(50_000), _Discard())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"peak {peak} bytes for 50,000 rows"  # the rows are ~6 MB in all
    csv_file_write(rows(2), handle)
    assert handle.getvalue().decode("utf-8-sig").splitlines()[0] == "at,kind,comment"


class _Discard(io.RawIOBase):
    """A binary file that forgets what it is given (so only the writer's own memory counts)."""

    def writable(self):
        return True

    def write(self, data):
        return len(data)


def test_the_pages_speak_chinese_first(trail, start):
    client = _client(trail["admin"], language=None)  # no Accept-Language: the site's default, Chinese
    assert "在后台生成文件" in client.get(reverse("entry:audit")).content.decode()
    job = _job(start(client))
    page = client.get(reverse("entry:audit_export_job_detail", kwargs={"job_id": job.pk})).content.decode()
    events = AuditEvent.objects.filter(edition=trail["edition"]).count()
    assert f"文件已生成：共 {events} 条记录。" in page and "下载" in page
