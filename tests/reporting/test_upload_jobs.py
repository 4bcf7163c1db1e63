"""Uploads as background jobs: kept in the shared storage, checked, confirmed, imported once.

A worker killed in the middle of an import (here: the run stops with SystemExit, as a killed
process never reaches its error handling) leaves the returns as they were; the task's next
delivery imports the file once.
"""

import pytest

from jobs import services as job_services
from jobs.models import BackgroundJob, JobState
from jobs.services import job_step_queue
from jobs.storage import survey_files
from reporting.models import Answer, AuditEvent, SurveyReturn
from reporting.services.imports import import_job_check, import_job_run
from reporting.spreadsheets.jobs import IMPORT_STEP, job_create, job_load
from tests.factories import InstitutionFactory, society_admin
from tests.reporting.entry_support import clean_values
from tests.reporting.spreadsheet_support import csv_bytes, returns_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload(edition):
    admin = society_admin()
    institutions = [InstitutionFactory() for _ in range(3)]
    content = csv_bytes(returns_rows(edition, institutions))
    job = job_create(owner=admin, edition=edition, institution=None, approve=False, filename="all.csv",
                     content=content, language="en")
    return admin, institutions, job


def test_the_upload_is_kept_in_the_shared_storage_not_on_this_host(upload, settings, tmp_path):
    _admin, _institutions, job = upload
    assert job.job.file_name.startswith("jobs/")
    assert survey_files().open(job.job.file_name).read().startswith(b"institution_code,")
    assert job.state == "checking" and job.filename == "all.csv"


def test_check_then_confirm_then_import(upload, edition):
    admin, institutions, job = upload
    import_job_check(job_id=job.id)
    job = job_load(job.id, user=admin)
    assert job.state == "previewed" and len(job.plan["returns"]) == 3
    assert job_step_queue(job_id=job.job.pk, actor=admin, step=IMPORT_STEP) is not None
    import_job_run(job_id=job.id)
    job = job_load(job.id, user=admin)
    assert job.state == "done" and job.result["returns_created"] == 3
    assert job.plan is not None  # the preview stays with the result
    assert SurveyReturn.objects.filter(institution__in=institutions).count() == 3


def test_a_worker_killed_during_the_import_leaves_nothing_half_written(upload, edition, monkeypatch):
    admin, institutions, job = upload
    import_job_check(job_id=job.id)
    job_step_queue(job_id=job.job.pk, actor=admin, step=IMPORT_STEP)
    real_callback = job_services.job_progress_callback

    def dying(job, **kwargs):
        progress = real_callback(job, **kwargs)

        def run(phase, done, total):
            progress(phase, done, total)
            if phase == "write":
                raise SystemExit("killed")  # a killed worker runs no error handling

        return run

    monkeypatch.setattr(job_services, "job_progress_callback", dying)
    with pytest.raises(SystemExit):
        import_job_run(job_id=job.id)
    assert not SurveyReturn.objects.filter(institution__in=institutions).exists()
    assert not AuditEvent.objects.filter(survey_return__institution__in=institutions).exists()
    stuck = BackgroundJob.objects.get(pk=job.job.pk)
    assert (stuck.state, stuck.attempts) == (JobState.RUNNING, 1)

    # The task is delivered again (the broker never got its acknowledgement).
    monkeypatch.setattr(job_services, "job_progress_callback", real_callback)
    import_job_run(job_id=job.id)
    done = BackgroundJob.objects.get(pk=job.job.pk)
    assert (done.state, done.attempts) == (JobState.DONE, 2)
    values = clean_values(edition)
    returns = SurveyReturn.objects.filter(institution__in=institutions)
    assert returns.count() == 3 and set(returns.values_list("version", flat=True)) == {2}
    assert Answer.objects.filter(survey_return__in=returns).count() == 3 * len(values)
    assert AuditEvent.objects.filter(survey_return__in=returns, kind="value").count() == 3 * len(values)
    # And once more (a third delivery): nothing changes.
    import_job_run(job_id=job.id)
    assert AuditEvent.objects.filter(survey_return__in=returns, kind="value").count() == 3 * len(values)


@pytest.fixture
def broker_down():
    """The app's Celery pointed at a port where no broker listens (the suite runs tasks in-process)."""
    from surveysite.celery import app as celery_app
    from tests.faults_support import free_port

    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=f"redis://127.0.0.1:{free_port()}/0", task_always_eager=False)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    yield
    celery_app.conf.update(saved)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_an_upload_whose_task_cannot_be_queued_fails_at_once(edition, broker_down, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    admin = society_admin()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    content = csv_bytes(returns_rows(edition, [InstitutionFactory()]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/spreadsheets/2024/import/", {"file": SimpleUploadedFile("all.csv", content)})
    assert response.status_code == 302  # not a server error
    job = BackgroundJob.objects.get(owner=admin)
    assert job.state == JobState.FAILED  # not "checking" for ever
    assert "Something went wrong" in client.get(response["Location"]).content.decode()
