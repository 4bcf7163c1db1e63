"""Background jobs: row-locked transitions, one live run at a time, resumption after a killed
worker, progress seen before a long transaction commits, and the sweep."""

import datetime as dt
import threading
import time

import pytest
from django.core.files.base import ContentFile
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from jobs import services
from jobs.models import BackgroundJob, JobState, StoredFile
from jobs.services import (
    JobBusy,
    JobSuperseded,
    job_create,
    job_finish,
    job_progress_update,
    job_run,
    job_step_queue,
    jobs_sweep,
)
from jobs.storage import survey_files
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory()


def _job(owner, **fields):
    job = job_create(kind="test", owner=owner, parameters={"n": 1}, step="work", **fields)
    return BackgroundJob.objects.get(pk=job.pk)


class _OtherWorker:
    """Another worker's database session, holding a job's run lock as a live run does."""

    def __init__(self, job_id):
        self.job_id = job_id
        self.connection = connections.create_connection(DEFAULT_DB_ALIAS)

    def __enter__(self):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s), pg_backend_pid()", [services._lock_key(self.job_id)])
            locked, self.pid = cursor.fetchone()
            assert locked
        return self

    def __exit__(self, *exc):
        self.connection.close()  # as when the worker dies: PostgreSQL releases the lock
        # ... once its server process has ended, a moment after the client hung up.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                # pg_locks is read live (pg_stat_activity would be this transaction's snapshot).
                cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s", [self.pid])
                if not cursor.fetchone()[0]:
                    return
            time.sleep(0.05)
        raise AssertionError("the other worker's session did not end")


def test_create_keeps_the_file_in_the_shared_storage(owner):
    job = job_create(kind="test", owner=owner, parameters={}, file=b"a,b\n1,2\n", file_label="../../x/returns.CSV")
    assert job.file_label == "returns.CSV"
    assert job.file_name == f"jobs/{job.pk.hex}/file.csv"
    assert survey_files().open(job.file_name).read() == b"a,b\n1,2\n"
    assert job.file_size == 8
    assert job.expires_at - job.created_at == dt.timedelta(days=1)


def test_a_run_claims_the_job_once(owner):
    job = _job(owner)
    with job_run(job_id=job.pk, step="work") as running:
        assert running.state == JobState.RUNNING and running.attempts == 1
        job_finish(job=running, result={"ok": True})
    job.refresh_from_db()
    assert (job.state, job.result, job.attempts) == (JobState.DONE, {"ok": True}, 1)
    assert job.finished_at is not None
    with job_run(job_id=job.pk, step="work") as again:  # the task delivered twice
        assert again is None


def test_a_step_runs_only_when_it_is_the_jobs_step(owner):
    job = _job(owner)
    with job_run(job_id=job.pk, step="other") as running:
        assert running is None
    assert BackgroundJob.objects.get(pk=job.pk).state == JobState.QUEUED


def test_a_job_running_in_a_live_worker_is_not_run_again(owner):
    job = _job(owner)
    BackgroundJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, attempts=1)
    with _OtherWorker(job.pk):
        # Not dropped either: the task is tried again later, in case that worker dies.
        with pytest.raises(JobBusy), job_run(job_id=job.pk, step="work"):
            pytest.fail("the body must not run")
        BackgroundJob.objects.filter(pk=job.pk).update(state=JobState.DONE)
        with job_run(job_id=job.pk, step="work") as finished_meanwhile:
            assert finished_meanwhile is None
    assert BackgroundJob.objects.get(pk=job.pk).attempts == 1


def test_a_busy_job_task_is_retried_not_dropped(owner, monkeypatch):
    from celery.exceptions import Retry

    from reporting.tasks.spreadsheets import returns_export_task

    job = _job(owner)
    BackgroundJob.objects.filter(pk=job.pk).update(kind="returns_export", step="export")
    with _OtherWorker(job.pk), pytest.raises(Retry):
        returns_export_task.apply(args=[str(job.pk)], throw=True)


def test_a_job_whose_worker_died_is_run_again(owner):
    job = _job(owner)
    with _OtherWorker(job.pk):
        BackgroundJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, attempts=1, done=40, total=100)
    # The worker is gone, and its lock with it: the next delivery takes the job over.
    with job_run(job_id=job.pk, step="work") as running:
        assert running.attempts == 2 and running.done == 0
        job_finish(job=running)
    assert BackgroundJob.objects.get(pk=job.pk).state == JobState.DONE


def test_a_job_that_keeps_stopping_is_given_up(owner, settings):
    settings.BACKGROUND_JOB_MAX_ATTEMPTS = 3
    job = _job(owner)
    BackgroundJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, attempts=3)
    with job_run(job_id=job.pk, step="work") as running:
        assert running is None
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "3 times" in job.problems[0]["message"]


def test_an_error_fails_the_job_and_keeps_nothing_it_wrote(owner):
    job = _job(owner)
    with job_run(job_id=job.pk, step="work") as running:
        with transaction.atomic():
            UserFactory(username="written-by-the-job")
            raise ZeroDivisionError
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.finished_at is not None
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="written-by-the-job").exists()
    assert running is not None


def test_a_step_that_ends_without_finishing_is_failed(owner):
    job = _job(owner)
    with job_run(job_id=job.pk, step="work"):
        pass
    assert BackgroundJob.objects.get(pk=job.pk).state == JobState.FAILED


def test_a_superseded_run_keeps_nothing(owner):
    job = _job(owner)
    with job_run(job_id=job.pk, step="work") as running:
        # Meanwhile another run took the job over (its worker thought this one dead).
        BackgroundJob.objects.filter(pk=job.pk).update(attempts=running.attempts + 1)
        with pytest.raises(JobSuperseded), transaction.atomic():
            UserFactory(username="superseded-write")
            job_finish(job=running, file=ContentFile(b"late"), file_label="late.csv")
        raise JobSuperseded  # as the step's own code would let it through
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="superseded-write").exists()
    assert not StoredFile.objects.exists()
    assert BackgroundJob.objects.get(pk=job.pk).state == JobState.RUNNING


def test_finishing_with_a_file_stores_it_with_the_job(owner):
    job = _job(owner)
    with job_run(job_id=job.pk, step="work") as running:
        job_finish(job=running, file=ContentFile(b"x" * 3000), file_label="returns-2024.csv")
    job.refresh_from_db()
    assert job.file_label == "returns-2024.csv" and job.file_size == 3000
    assert survey_files().open(job.file_name).read() == b"x" * 3000


def test_the_next_step_is_queued_once_and_only_by_its_owner(owner):
    job = _job(owner, state=JobState.WAITING)
    assert job_step_queue(job_id=job.pk, actor=UserFactory(), step="import") is None
    queued = job_step_queue(job_id=job.pk, actor=owner, step="import")
    assert (queued.state, queued.step, queued.attempts) == (JobState.QUEUED, "import", 0)
    assert job_step_queue(job_id=job.pk, actor=owner, step="import") is None  # the second click


def test_progress_outside_a_transaction_is_written_at_once(owner):
    job = _job(owner)
    with job_run(job_id=job.pk, step="work") as running:
        job_progress_update(job=running, phase="rows", done=5, total=20)
        assert BackgroundJob.objects.get(pk=job.pk).percent == 25
        job_finish(job=running)


@pytest.mark.django_db(transaction=True)
def test_progress_inside_a_long_transaction_is_seen_before_it_commits(owner):
    job = _job(owner)
    seen = []

    def other_host_reads():
        seen.append(BackgroundJob.objects.values_list("done", "total").get(pk=job.pk))
        connection.close()

    with job_run(job_id=job.pk, step="work") as running:
        with transaction.atomic():
            UserFactory(username="written-in-the-transaction")
            job_progress_update(job=running, phase="write", done=3, total=4)
            reader = threading.Thread(target=other_host_reads)
            reader.start()
            reader.join()
            job_finish(job=running)
    assert seen == [(3, 4)]
    assert BackgroundJob.objects.get(pk=job.pk).state == JobState.DONE


def test_the_sweep_removes_expired_jobs_with_their_files(owner):
    old = job_create(kind="test", owner=owner, parameters={}, file=b"old", file_label="a.csv")
    kept = job_create(kind="test", owner=owner, parameters={}, file=b"kept", file_label="b.csv")
    BackgroundJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    counts = jobs_sweep()
    assert counts["expired"] == 1
    assert list(BackgroundJob.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not survey_files().exists(old.file_name) and survey_files().exists(kept.file_name)


def test_the_sweep_fails_jobs_nobody_runs_but_not_a_running_one(owner):
    now = timezone.now()
    abandoned = _job(owner)
    busy = _job(owner)
    BackgroundJob.objects.update(state=JobState.RUNNING, attempts=1, updated_at=now - dt.timedelta(hours=3))
    with _OtherWorker(busy.pk):
        counts = jobs_sweep()
    assert counts["stalled"] == 1
    assert BackgroundJob.objects.get(pk=abandoned.pk).state == JobState.FAILED
    assert BackgroundJob.objects.get(pk=busy.pk).state == JobState.RUNNING


def test_the_sweep_removes_old_files_no_job_names(owner):
    job = job_create(kind="test", owner=owner, parameters={}, file=b"mine", file_label="a.csv")
    storage = survey_files()
    stray = storage.save(f"jobs/{job.pk.hex}/file.csv", ContentFile(b"a run killed after writing"))
    orphan = storage.save("jobs/" + "0" * 32 + "/file.csv", ContentFile(b"no job"))
    young = storage.save("jobs/" + "1" * 32 + "/file.csv", ContentFile(b"being recorded"))
    StoredFile.objects.exclude(name=young).update(created_at=timezone.now() - dt.timedelta(hours=2))
    assert jobs_sweep()["orphans"] == 2
    assert storage.exists(job.file_name) and storage.exists(young)
    assert not storage.exists(stray) and not storage.exists(orphan)


def test_the_sweep_task_is_scheduled_for_celery_beat(settings):
    from jobs.tasks import jobs_sweep_task

    assert jobs_sweep_task.name == "jobs.sweep"
    assert any(entry["task"] == "jobs.sweep" for entry in settings.CELERY_BEAT_SCHEDULE.values())
    assert jobs_sweep_task.delay().get() == {"stalled": 0, "expired": 0, "orphans": 0}


def test_without_a_broker_creating_a_job_sweeps_expired_ones(owner, django_capture_on_commit_callbacks, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # development: no broker, so no beat
    old = job_create(kind="test", owner=owner, parameters={}, file=b"old", file_label="a.csv")
    BackgroundJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        job_create(kind="test", owner=owner, parameters={})
    assert not BackgroundJob.objects.filter(pk=old.pk).exists()
    assert not survey_files().exists(old.file_name)
