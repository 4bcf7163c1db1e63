"""Background jobs: create, queue, run, report progress, finish, and sweep away.

Every state change is a row-locked transaction, so two hosts (a double click reaching two
app servers, a task delivered twice) cannot both move a job on. A run is also guarded by a
PostgreSQL advisory lock held on the worker's connection: a job whose worker was killed is
taken over by the next delivery of its task (the broker redelivers an unacknowledged task),
while a job whose worker is alive is never run twice at once. Whatever a run writes, it
writes in the transaction that marks the job finished, so a run cut short leaves nothing
half-written.

Progress is written as the job goes. A step that writes in one long transaction (an
import) reports its progress over a second connection, so other hosts see it before the
transaction commits.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jobs.models import ACTIVE_STATES, BackgroundJob, JobState
from jobs.storage import survey_files

logger = logging.getLogger(__name__)

FILE_PREFIX = "jobs"
# Files under jobs/ that no job names are removed by the sweep once this old (a run killed
# between writing its file and recording it; a backend without transactions).
ORPHAN_AGE = timedelta(hours=1)
PROGRESS_INTERVAL_SECONDS = 0.5

Progress = Callable[[str, int, int], None]


class JobSuperseded(Exception):
    """The job moved on while this run worked (another run took it over): nothing is kept."""


class JobBusy(Exception):
    """Another run holds the job: a live worker, or one just killed whose database session
    has not ended yet. The task should be tried again later (``retry_after`` seconds), not
    dropped, or a job whose worker died would never finish."""

    retry_after = 30


def _lifetime() -> timedelta:
    return getattr(settings, "BACKGROUND_JOB_LIFETIME", timedelta(days=1))


def _file_name(job: BackgroundJob, label: str) -> str:
    # The person's file name may be anything; the stored name is ours: the job and a suffix.
    suffix = PurePath(label).suffix.lower()
    if not suffix[1:].isalnum() or len(suffix) > 8:
        suffix = ""
    return f"{FILE_PREFIX}/{job.pk.hex}/file{suffix}"


# --- created by a request -----------------------------------------------------------------


@transaction.atomic
def job_create(*, kind: str, owner, parameters: dict, language: str = "", step: str = "",
               state: str = JobState.QUEUED, file=None, file_label: str = "") -> BackgroundJob:
    """A new job of `owner`, queued (the caller sends its task after commit). `file` (a
    Django File or bytes) is kept in the shared storage as the job's input."""
    now = timezone.now()
    job = BackgroundJob(
        kind=kind, owner=owner, parameters=parameters, language=language, step=step, state=state,
        file_label=PurePath(file_label).name[:200], created_at=now, updated_at=now,
        expires_at=now + _lifetime(),
    )
    if file is not None:
        if isinstance(file, bytes):
            from django.core.files.base import ContentFile

            file = ContentFile(file)
        job.file_name = survey_files().save(_file_name(job, file_label), file)
        job.file_size = file.size
    job.save(force_insert=True)
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        # No broker, so no beat either (development, `make run`): sweep now and then here.
        transaction.on_commit(jobs_sweep)
    return job


@transaction.atomic
def job_step_queue(*, job_id, actor, step: str, from_state: str = JobState.WAITING) -> BackgroundJob | None:
    """Queue the next step of the actor's job (an upload confirmed after its preview).

    None when the job is not in `from_state` any more (confirmed twice, from two hosts).
    """
    job = BackgroundJob.objects.select_for_update().filter(pk=job_id, owner=actor).first()
    if job is None or job.state != from_state or job.expired:
        return None
    job.state, job.step, job.phase, job.done, job.total = JobState.QUEUED, step, "", 0, 0
    job.problems, job.attempts, job.updated_at = [], 0, timezone.now()  # attempts count per step
    job.save(update_fields=["state", "step", "phase", "done", "total", "problems", "attempts", "updated_at"])
    return job


@transaction.atomic
def job_queue_lost(*, job_id) -> None:
    """The job's task could not be sent (the broker is down): the job fails now, so its owner
    sees that and starts again, instead of watching it wait for a worker that never hears."""
    now = timezone.now()
    BackgroundJob.objects.select_for_update().filter(pk=job_id, state=JobState.QUEUED).update(
        state=JobState.FAILED, finished_at=now, updated_at=now
    )


# --- run by a worker ------------------------------------------------------------------------


def _lock_key(job_id) -> int:
    return int.from_bytes(uuid.UUID(str(job_id)).bytes[:8], "big", signed=True)


def _run_lock(job_id) -> bool:
    """The job's advisory lock on this connection; False if another live run holds it.

    Session-level: it outlives the transactions of the run and is released by PostgreSQL
    when the worker's connection ends, however the worker ends. Other databases (SQLite,
    development only) have one process running tasks in-line: nothing to guard.
    """
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(job_id)])
        return bool(cursor.fetchone()[0])


def _run_unlock(job_id) -> None:
    if connection.vendor == "postgresql" and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(job_id)])


def _max_attempts() -> int:
    return getattr(settings, "BACKGROUND_JOB_MAX_ATTEMPTS", 3)


@transaction.atomic
def _job_claim(job_id, step: str) -> BackgroundJob | None:
    job = BackgroundJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.step != step or job.state not in ACTIVE_STATES:
        return None  # finished, waiting for its owner, or a different step: nothing to run
    now = timezone.now()
    if job.state == JobState.RUNNING:
        # We hold its lock, so the run that set it running has died (a killed worker).
        logger.warning("job %s (%s) resumes after an interrupted run (attempt %s)", job.pk, job.kind, job.attempts)
    if job.attempts >= _max_attempts():
        job.state, job.finished_at, job.updated_at = JobState.FAILED, now, now
        with translation.override(job.language or None):
            job.problems = [{"row": None, "column": None, "message": _(
                "The job stopped %(count)s times before finishing; it is not tried again."
            ) % {"count": job.attempts}}]
        job.save(update_fields=["state", "problems", "finished_at", "updated_at"])
        return None
    job.state, job.attempts, job.started_at, job.updated_at = JobState.RUNNING, job.attempts + 1, now, now
    job.phase, job.done, job.total = "", 0, 0
    job.save(update_fields=["state", "attempts", "started_at", "updated_at", "phase", "done", "total"])
    return job


@contextmanager
def job_run(*, job_id, step: str) -> Iterator[BackgroundJob | None]:
    """Run a step of a job in this worker: yields the job marked running, or None when there
    is nothing to do (already done, or waiting for its owner). Raises JobBusy while another
    run holds the job.

    The body finishes the job with ``job_finish`` (in the transaction of whatever it writes);
    an exception marks it failed. If the worker is killed, the job stays running, its lock
    goes with the connection, and the task's next delivery runs it again.
    """
    if not _run_lock(job_id):
        if BackgroundJob.objects.filter(pk=job_id, step=step, state__in=ACTIVE_STATES).exists():
            raise JobBusy(str(job_id))
        yield None  # finished meanwhile: this delivery has nothing to do
        return
    try:
        job = _job_claim(job_id, step)
        if job is None:
            yield None
            return
        try:
            yield job
        except JobSuperseded:
            logger.warning("job %s was taken over by another run; this run's work is discarded", job_id)
        except Exception:
            logger.exception("job %s (%s, %s) failed", job_id, job.kind, step)
            job_fail(job=job)
        else:
            if BackgroundJob.objects.filter(pk=job.pk, state=JobState.RUNNING, attempts=job.attempts).exists():
                logger.error("job %s (%s) ended without finishing; marked failed", job_id, job.kind)
                job_fail(job=job)
    finally:
        _progress_connection_close()
        _run_unlock(job_id)


_side = threading.local()


def _progress_connection():
    side = getattr(_side, "connection", None)
    if side is None:
        side = _side.connection = connections.create_connection(DEFAULT_DB_ALIAS)
    return side


def _progress_connection_close() -> None:
    side = getattr(_side, "connection", None)
    if side is not None:
        side.close()
        _side.connection = None


def job_progress_update(*, job: BackgroundJob, phase: str, done: int, total: int) -> None:
    """Record how far a running job got, visible to every host at once.

    Inside a transaction (an import writing everything at once) the update goes through a
    connection of its own, or nobody would see it before the commit. Not on SQLite, which has
    one writer at a time (and runs tasks in the request anyway).
    """
    job.phase, job.done, job.total = phase, done, total
    now = timezone.now()
    if not connection.in_atomic_block:
        BackgroundJob.objects.filter(pk=job.pk, state=JobState.RUNNING, attempts=job.attempts).update(
            phase=phase, done=done, total=total, updated_at=now
        )
        return
    if connection.vendor != "postgresql":
        return
    side = _progress_connection()
    quote = side.ops.quote_name
    table = quote(BackgroundJob._meta.db_table)
    with side.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {quote('phase')} = %s, {quote('done')} = %s, {quote('total')} = %s, "
            f"{quote('updated_at')} = %s WHERE {quote('id')} = %s AND {quote('state')} = %s "
            f"AND {quote('attempts')} = %s",
            [phase, done, total, now, job.pk, JobState.RUNNING.value, job.attempts],
        )


def job_progress_callback(job: BackgroundJob, *, interval: float = PROGRESS_INTERVAL_SECONDS) -> Progress:
    """progress(phase, done, total) for a long step; writes at most every `interval` seconds
    (the pages poll about once a second) and always the last unit."""
    last = [0.0]

    def progress(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < interval and done < total:
            return
        last[0] = now
        job_progress_update(job=job, phase=phase, done=done, total=total)

    return progress


@transaction.atomic
def job_finish(*, job: BackgroundJob, state: str = JobState.DONE, result=None, problems=None,
               file=None, file_label: str | None = None) -> BackgroundJob:
    """End the running step: done (with its result and, for an export, its file), waiting for
    the owner's confirmation, or rejected (with every problem).

    Call it inside the transaction of what the step wrote: both commit or neither. Raises
    JobSuperseded if another run took the job over meanwhile (this run's writes roll back).
    """
    current = BackgroundJob.objects.select_for_update().get(pk=job.pk)
    if current.state != JobState.RUNNING or current.attempts != job.attempts:
        raise JobSuperseded(str(job.pk))
    now = timezone.now()
    if file is not None:
        label = file_label or current.file_label
        storage = survey_files()
        old_name = current.file_name
        current.file_name = storage.save(_file_name(current, label), File(file) if not isinstance(file, File) else file)
        current.file_label, current.file_size = label, storage.size(current.file_name)
        current.expires_at = now + _lifetime()  # kept for a while after it is ready
        if old_name:
            transaction.on_commit(lambda: survey_files().delete(old_name))
    current.state = state
    # This run's last progress (written meanwhile over another connection, or not at all).
    current.phase, current.done, current.total = job.phase, job.done, job.total
    if result is not None:
        current.result = result
    current.problems = list(problems or [])
    if state != JobState.WAITING:
        current.finished_at = now
    if state == JobState.DONE and current.total:
        current.done = current.total
    current.updated_at = now
    current.save()
    return current


@transaction.atomic
def job_fail(*, job: BackgroundJob) -> None:
    """The step broke (a bug, the database went away): the owner sees that nothing was saved."""
    now = timezone.now()
    BackgroundJob.objects.select_for_update().filter(
        pk=job.pk, state=JobState.RUNNING, attempts=job.attempts
    ).update(state=JobState.FAILED, finished_at=now, updated_at=now)


# --- the periodic sweep ------------------------------------------------------------------------


def jobs_sweep(*, now=None) -> dict[str, int]:
    """Remove expired jobs with their files, fail jobs nobody is running any more, and remove
    stored files no job names. Safe to run on several workers at once (rows are skipped when
    another sweep holds them), though Celery beat runs it on one.
    """
    now = now or timezone.now()
    counts = {"stalled": 0, "expired": 0, "orphans": 0}
    stalled_after = getattr(settings, "BACKGROUND_JOB_STALLED_AFTER", timedelta(hours=2))
    for job_id in BackgroundJob.objects.filter(
        state__in=ACTIVE_STATES, updated_at__lt=now - stalled_after
    ).values_list("pk", flat=True):
        if not _run_lock(job_id):
            continue  # a worker is on it (a long step without progress)
        try:
            with transaction.atomic():
                counts["stalled"] += BackgroundJob.objects.select_for_update(skip_locked=True).filter(
                    pk=job_id, state__in=ACTIVE_STATES, updated_at__lt=now - stalled_after
                ).update(state=JobState.FAILED, finished_at=now, updated_at=now)
        finally:
            _run_unlock(job_id)

    storage = survey_files()
    while True:
        with transaction.atomic():
            expired = list(
                BackgroundJob.objects.select_for_update(skip_locked=True)
                .filter(expires_at__lte=now)
                .exclude(state=JobState.RUNNING)[:200]
            )
            if not expired:
                break
            names = [job.file_name for job in expired if job.file_name]
            BackgroundJob.objects.filter(pk__in=[job.pk for job in expired]).delete()
            counts["expired"] += len(expired)
        for name in names:
            storage.delete(name)

    try:
        folders, _files = storage.listdir(FILE_PREFIX)
    except (FileNotFoundError, NotImplementedError):
        folders = []
    for folder in folders:
        try:
            job_id = uuid.UUID(hex=folder)
        except ValueError:
            continue
        kept = BackgroundJob.objects.filter(pk=job_id).values_list("file_name", flat=True).first()
        for name in survey_files().listdir(f"{FILE_PREFIX}/{folder}")[1]:
            path = f"{FILE_PREFIX}/{folder}/{name}"
            if path == kept:
                continue
            try:
                old = storage.get_created_time(path) < now - ORPHAN_AGE
            except (FileNotFoundError, NotImplementedError):
                old = True
            if old:
                storage.delete(path)
                counts["orphans"] += 1
    return counts
