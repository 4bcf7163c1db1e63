"""Three hosts, no shared disk: two app hosts behind a (simulated) proxy and a Celery worker.

The issue's scenarios, through the two app hosts alternately, as a browser would:
a session started on host 1 continues on host 2; an upload received by host 1 is checked
by the worker and confirmed on host 2, and its values are stored once and audited; a worker
killed in the middle of an import leaves nothing half-written and the import finishes once
after its restart; an export started on host 2 is downloaded from host 1; an approval on
host 1 makes the worker recompute, and both hosts show the new figures.

The hosts are network namespaces with private disks (tests/multihost/cluster.py). Their
traffic stays on this machine: veth links to the root namespace, and a relay there to the
machine's PostgreSQL (this test's database) and Redis (a queue and cache prefix of this run).
Everything started is stopped and the namespaces removed, whatever happens; every wait is
bounded.
"""

from __future__ import annotations

import re
import signal
import time

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.utils import timezone

from institutions.models import Institution, Province
from jobs.models import BackgroundJob, JobState, StoredFile
from reporting.models import Answer, AuditEvent, FigureValue, ReturnStatus, SurveyReturn
from reporting.services.aggregation import edition_figures_compute
from tests import factories
from tests.multihost.browser import Browser, wait_for
from tests.multihost.cluster import Cluster
from tests.multihost.network import Network, netns_available, process_kill, process_stop
from tests.reporting.entry_support import clean_values
from tests.reporting.spreadsheet_support import csv_bytes, returns_rows

pytestmark = [pytest.mark.multihost, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-multihost-password"
BULK_INSTITUTIONS = 1237  # the national scale: the import runs long enough to be cut short
REDIS_DB = 11


def _user(factory, **kwargs):
    """A user whose password the hosts can check (production hashers, not the test suite's MD5)."""
    user = factory(**kwargs)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user.save(update_fields=["password"])
    return user


def _open_for_entry(edition):
    today = timezone.localdate()
    edition.status = "open"
    edition.opens_on, edition.closes_on = today - timezone.timedelta(days=10), today + timezone.timedelta(days=10)
    edition.save()


def _job_id(response) -> str:
    assert response.status_code == 302, f"{response.status_code}: {response.text[:800]}"
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def _status(browser, host, job_id) -> dict:
    response = browser.get(host, f"/spreadsheets/uploads/{job_id}/status/")
    assert response.status_code == 200, response.text[:500]
    return response.json()


def _national(browser, host) -> dict:
    response = browser.get(host, "/report/2024/figures.json?by=national")
    assert response.status_code == 200, response.text[:500]
    return {row["key"]: row["value"] for row in response.json()}


@pytest.fixture
def cluster(tmp_path, django_db_setup):
    reason = netns_available()
    if reason:
        pytest.skip(f"the multi-host test needs network namespaces: {reason}")
    run_dir = tmp_path / "multihost"
    (run_dir / "logs").mkdir(parents=True)
    with Network(["app1", "app2", "worker"]) as network:
        cluster = Cluster(network=network, run_dir=run_dir, database=connection.settings_dict["NAME"],
                          redis_db=REDIS_DB)
        try:
            cluster.relay_start()
            for host in cluster.app_hosts.values():
                cluster.app_start(host)
            cluster.worker_start(network.hosts["worker"])
            for host in cluster.app_hosts.values():
                cluster.app_wait(host, timeout=240)
            cluster.worker_wait(network.hosts["worker"], timeout=180)
            yield cluster
        finally:
            for process in cluster.workers.values():
                process_stop(process)
            cluster.relay_stop()
            _redis_clean(cluster)


def _redis_clean(cluster: Cluster) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=cluster.redis_db)
    for key in client.scan_iter(f"*{cluster.queue}*"):
        client.delete(key)
    client.close()


def test_three_hosts_share_sessions_uploads_jobs_and_figures(cluster, edition):
    started = time.monotonic()
    try:
        _scenarios(cluster, edition)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n\n{cluster.logs_tail()}") from None
    assert time.monotonic() - started < 900, "the scenarios took more than 15 minutes"


def _scenarios(cluster: Cluster, edition) -> None:
    _open_for_entry(edition)
    province = Province.objects.get(code="11")
    own = factories.InstitutionFactory(code="MH0000", name="多主机测试医院")
    own_return = factories.survey_return(edition=edition, institution=own, values={"ownership": "public"})
    reporter = _user(factories.reporter, institution=own, username="mh-reporter")
    admin = _user(factories.society_admin, username="mh-admin")
    urls = cluster.urls
    values = clean_values(edition)

    # 1. A reporter logs in on host 1 and continues on host 2 with the same session.
    person = Browser(urls)
    person.login("app1", reporter.username, PASSWORD)
    page = person.get("app2", f"/returns/{own_return.pk}/")
    assert page.status_code == 200 and own.name in page.text, "the session did not carry over to host 2"
    assert person.get("app1", f"/returns/{own_return.pk}/").status_code == 200

    # 2. An upload received by host 1, checked by the worker, confirmed on host 2: stored once, audited.
    upload_page = person.get("app1", f"/returns/{own_return.pk}/upload/")
    assert upload_page.status_code == 200
    content = csv_bytes(returns_rows(edition, [own], values))
    response = person.post("app1", f"/returns/{own_return.pk}/upload/",
                           files={"file": ("filled-template.csv", content, "text/csv")})
    job_id = _job_id(response)
    wait_for("the worker's preview", lambda: _status(person, "app2", job_id)["state"] == "previewed", timeout=180)
    preview = person.get("app2", f"/spreadsheets/uploads/{job_id}/")
    assert 'id="job-preview"' in preview.text and "staff_physician" in preview.text
    assert not Answer.objects.filter(survey_return=own_return, item__code="staff_physician").exists()
    confirmed = person.post("app2", f"/spreadsheets/uploads/{job_id}/confirm/")
    assert confirmed.status_code == 302
    again = person.post("app1", f"/spreadsheets/uploads/{job_id}/confirm/")  # a double click reaching host 1
    assert again.status_code == 302
    wait_for("the import", lambda: _status(person, "app1", job_id)["state"] == "done", timeout=180)
    own_return.refresh_from_db()
    assert own_return.version == 2, "the upload was not imported exactly once"
    changed = len(values) - 1  # ownership was already "public"
    events = AuditEvent.objects.filter(survey_return=own_return, kind="value", source="import", actor=reporter)
    assert events.count() == changed
    assert Answer.objects.filter(survey_return=own_return).count() == len(values)
    assert 'id="job-done"' in person.get("app1", f"/spreadsheets/uploads/{job_id}/").text

    # 3. A worker killed in the middle of an import leaves nothing half-written; restarted, it
    #    finishes the import once.
    office = Browser(urls)
    office.login("app2", admin.username, PASSWORD)
    Institution.objects.bulk_create([
        Institution(code=f"MH{n:04d}", name=f"多主机医院{n}", name_en=f"Multihost Hospital {n}", province=province,
                    city="北京", ownership="public", hospital_level="tertiary_a")
        for n in range(1, BULK_INSTITUTIONS + 1)
    ])
    bulk = list(Institution.objects.filter(code__startswith="MH").exclude(pk=own.pk).order_by("code"))
    assert office.get("app1", "/spreadsheets/2024/import/").status_code == 200
    response = office.post("app1", "/spreadsheets/2024/import/",
                           files={"file": ("national.csv", csv_bytes(returns_rows(edition, bulk, values)), "text/csv")})
    bulk_job = _job_id(response)
    wait_for("the national file's preview",
             lambda: _status(office, "app2", bulk_job)["state"] == "previewed", timeout=300)
    assert office.post("app2", f"/spreadsheets/uploads/{bulk_job}/confirm/").status_code == 302
    answers_before = Answer.objects.count()
    events_before = AuditEvent.objects.count()
    hosts = iter(["app1", "app2"] * 10_000)

    def writing():
        status = _status(office, next(hosts), bulk_job)
        assert status["state"] == "importing", f"the import ended before it could be cut short: {status}"
        return status["state"] == "importing" and status["phase"] == "write" and status["done"] > 0

    wait_for("the import writing (its progress seen from both hosts before it commits)", writing,
             timeout=300, interval=0.1)
    worker = cluster.network.hosts["worker"]
    process_kill(cluster.workers["worker"], signal.SIGKILL)
    cluster.workers["worker"].wait(timeout=30)
    # Nothing of the cut-short transaction is there; the job waits, still importing.
    assert not SurveyReturn.objects.filter(institution__in=bulk).exists(), "a killed import left returns behind"
    assert Answer.objects.count() == answers_before and AuditEvent.objects.count() == events_before
    assert _status(office, "app1", bulk_job)["state"] == "importing"
    assert BackgroundJob.objects.get(pk=bulk_job).state == JobState.RUNNING
    log_size = cluster.log(worker).stat().st_size
    cluster.worker_start(worker)
    cluster.worker_wait(worker, timeout=180, after=log_size)
    wait_for("the import after the worker's restart",
             lambda: _status(office, "app2", bulk_job)["state"] == "done", timeout=420, interval=1)
    job = BackgroundJob.objects.get(pk=bulk_job)
    assert job.attempts == 2 and job.result["import"]["returns_created"] == BULK_INSTITUTIONS
    imported = SurveyReturn.objects.filter(institution__in=bulk)
    assert imported.count() == BULK_INSTITUTIONS
    assert set(imported.values_list("version", flat=True)) == {2}
    assert Answer.objects.filter(survey_return__in=imported).count() == BULK_INSTITUTIONS * len(values)
    assert AuditEvent.objects.filter(survey_return__in=imported, kind="value").count() == BULK_INSTITUTIONS * len(values)

    # 4. An admin starts a large export on host 2 and downloads it from host 1.
    assert office.get("app2", "/spreadsheets/").status_code == 200
    export_id = _job_id(office.post("app2", "/spreadsheets/2024/exports/", {"fmt": "csv"}))
    wait_for("the export", lambda: office.get("app1", f"/jobs/{export_id}/status/").json()["state"] == "done",
             timeout=300)
    page = office.get("app1", f"/spreadsheets/exports/{export_id}/")
    assert f"/jobs/{export_id}/file/" in page.text
    download = office.get("app1", f"/jobs/{export_id}/file/")
    assert download.status_code == 200
    streamed = office.get("app2", "/spreadsheets/2024/export.csv")
    assert download.content == streamed.content, "the stored export differs from the streamed one"
    rows = [line for line in download.content.decode("utf-8-sig").splitlines() if line and not line.startswith("#")]
    assert len(rows) == 1 + BULK_INSTITUTIONS + 1  # the header, the national file, the reporter's return
    # Only its owner (or another society admin) may fetch it.
    assert person.get("app1", f"/jobs/{export_id}/file/").status_code == 404
    assert person.get("app2", f"/spreadsheets/exports/{export_id}/").status_code == 404
    assert StoredFile.objects.filter(name=BackgroundJob.objects.get(pk=export_id).file_name).exists()

    # 5. An approval on host 1 makes the worker recompute; both hosts show the new figures.
    approved = factories.survey_return(edition=edition, institution=factories.InstitutionFactory(code="MHA001"),
                                       status=ReturnStatus.APPROVED, values=values)
    reviewed = factories.survey_return(edition=edition, institution=factories.InstitutionFactory(code="MHR001"),
                                       status=ReturnStatus.REVIEWED, values=values)
    edition_figures_compute(edition_id=edition.pk)
    assert approved.pk and FigureValue.objects.exists()
    before = {host: _national(office, host) for host in ("app1", "app2")}
    assert before["app1"]["dept_total"] == before["app2"]["dept_total"] == 1
    review = office.get("app1", f"/returns/{reviewed.pk}/review/")
    assert review.status_code == 200
    version = re.search(r'name="version" value="(\d+)"', review.text).group(1)
    decided = office.post("app1", f"/returns/{reviewed.pk}/review/", {"action": "approve", "version": version})
    assert decided.status_code == 302, decided.text[:800]
    for host in ("app1", "app2"):
        wait_for(f"the new figures on {host}", lambda host=host: _national(office, host)["dept_total"] == 2,
                 timeout=240, interval=1)
    assert _national(office, "app1") == _national(office, "app2")
    person.close()
    office.close()
