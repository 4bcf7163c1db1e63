"""Browser uploads between the preview and the confirmation, as the upload pages see them.

An upload is a background job (``jobs.BackgroundJob``, kind ``returns_import``) whose file
is kept in the shared ``survey_files`` storage, so the worker that checks it, and the app
host that confirms it, need not be the host that received it. Its first step checks the
file (``check``: a dry run; the job then waits for confirmation with the preview as its
result); once the person confirms, the second imports it (``import``). The survey's data is
not touched until then, and then in one transaction.

``ImportJob`` presents a job with the states the upload pages (and their script) know.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.base import File
from django.db import transaction

from jobs.models import BackgroundJob
from jobs.models import JobState as BackgroundState
from jobs.selectors import job_visible_to
from jobs.services import job_create as background_job_create
from jobs.storage import survey_files

IMPORT_KIND = "returns_import"
CHECK_STEP = "check"
IMPORT_STEP = "import"


class JobState:
    CHECKING = "checking"
    PREVIEWED = "previewed"
    REJECTED = "rejected"
    IMPORTING = "importing"
    DONE = "done"
    FAILED = "failed"
    RUNNING = (CHECKING, IMPORTING)


def import_job_state(job: BackgroundJob) -> str:
    if job.state == BackgroundState.WAITING:
        return JobState.PREVIEWED
    if job.state in (BackgroundState.QUEUED, BackgroundState.RUNNING):
        return JobState.CHECKING if job.step == CHECK_STEP else JobState.IMPORTING
    return {
        BackgroundState.DONE: JobState.DONE,
        BackgroundState.REJECTED: JobState.REJECTED,
    }.get(job.state, JobState.FAILED)


@dataclass
class ImportJob:
    job: BackgroundJob

    @property
    def id(self) -> str:
        return self.job.pk.hex

    @property
    def owner_id(self) -> int:
        return self.job.owner_id

    @property
    def edition_id(self) -> int:
        return self.job.parameters["edition_id"]

    @property
    def institution_id(self) -> int | None:
        """A reporter's upload: only this institution's row."""
        return self.job.parameters.get("institution_id")

    @property
    def approve(self) -> bool:
        return bool(self.job.parameters.get("approve"))

    @property
    def return_id(self) -> int | None:
        """Where to send a reporter afterwards."""
        return self.job.parameters.get("return_id")

    @property
    def filename(self) -> str:
        return self.job.file_label

    @property
    def language(self) -> str:
        return self.job.language

    @property
    def state(self) -> str:
        return import_job_state(self.job)

    @property
    def phase(self) -> str:
        return self.job.phase

    @property
    def done(self) -> int:
        return self.job.done

    @property
    def total(self) -> int:
        return self.job.total

    @property
    def percent(self) -> int:
        return self.job.percent

    @property
    def plan(self) -> dict | None:
        """The preview (what the import would change), from the check."""
        return (self.job.result or {}).get("plan")

    @property
    def result(self) -> dict | None:
        """What the import did."""
        return (self.job.result or {}).get("import")

    @property
    def problems(self) -> list[dict]:
        return self.job.problems


def job_create(*, owner, edition, institution, approve: bool, filename: str, content, language: str,
               return_id: int | None = None) -> ImportJob:
    """Keep an upload (a Django File, or bytes) and queue its check (send the task after commit)."""
    return ImportJob(background_job_create(
        kind=IMPORT_KIND, owner=owner, step=CHECK_STEP, language=language,
        parameters={
            "edition_id": edition.pk, "institution_id": institution.pk if institution else None,
            "approve": approve, "return_id": return_id,
        },
        file=content if isinstance(content, bytes | File) else File(content), file_label=filename,
    ))


def job_task_send(task, job_id) -> None:
    """Send a job step's task once the transaction commits. A broker that cannot take it
    (down, not answering) fails the job at once rather than leave it waiting for a worker."""
    from jobs.services import job_queue_lost
    from reporting.tasks.queueing import task_enqueue

    def send():
        if not task_enqueue(task, args=(str(job_id),), if_lost="The job is marked failed; its owner can start it again."):
            job_queue_lost(job_id=job_id)

    transaction.on_commit(send)


def job_load(job_id, *, user) -> ImportJob | None:
    """The user's own upload (not even a society admin confirms another person's upload)."""
    job = job_visible_to(user=user, job_id=job_id, kind=IMPORT_KIND, owner_only=True)
    return ImportJob(job) if job is not None else None


def job_content(job: BackgroundJob) -> bytes:
    """The uploaded file (at most SPREADSHEET_MAX_BYTES: the reader takes it whole)."""
    with survey_files().open(job.file_name) as handle:
        return handle.read()
