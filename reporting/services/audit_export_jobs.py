"""The audit trail exported as a background job: one edition's events, or every event.

The rows are the streamed download's (``audit_export_rows``: read a chunk of events at a
time), written as CSV to a temporary file of the worker as they come, so the file is the
download of ``/audit/export.csv`` byte for byte and memory stays bounded however long the
trail. The file is copied into the ``survey_files`` storage in the transaction that marks
the job done: a worker killed in the middle leaves no half-written file. Society admins
only, on the web page and in the API alike.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator

from django.core.exceptions import PermissionDenied
from django.db import transaction

from institutions.selectors import user_is_society_admin
from jobs.models import BackgroundJob
from jobs.services import Progress, job_create, job_finish, job_progress_callback, job_run
from reporting.models import Edition
from reporting.selectors_audit import audit_events_for_export, audit_export_rows

AUDIT_EXPORT_KIND = "audit_export"
AUDIT_EXPORT_STEP = "export"
AUDIT_EXPORT_PHASE = "events"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def audit_export_file_label(edition: Edition | None) -> str:
    """The download's name, as the streamed export names it."""
    return f"audit-trail-{edition.year}.csv" if edition is not None else "audit-trail.csv"


@transaction.atomic
def audit_export_job_start(*, actor, edition: Edition | None = None, language: str = "") -> BackgroundJob:
    """Queue an export of the edition's audit events (every event when `edition` is None:
    registry and account events belong to no edition); society admins only. The worker
    starts once the transaction commits."""
    from reporting.spreadsheets.jobs import job_task_send
    from reporting.tasks.audit import audit_export_task

    if not user_is_society_admin(actor):
        raise PermissionDenied
    job = job_create(
        kind=AUDIT_EXPORT_KIND, owner=actor, step=AUDIT_EXPORT_STEP, language=language,
        parameters={"edition_id": edition.pk if edition else None, "year": edition.year if edition else None,
                    "format": "csv"},
        file_label=audit_export_file_label(edition),
    )
    job_task_send(audit_export_task, job.pk)
    return job


class _EventCount:
    """Passes the rows through, counting events (every row after the header) and reporting
    progress; events recorded while the export runs may take it past the first count."""

    def __init__(self, total: int, progress: Progress):
        self.total, self.events, self._progress = total, 0, progress

    def rows(self, rows: Iterable[list]) -> Iterator[list]:
        self._progress(AUDIT_EXPORT_PHASE, 0, self.total)
        rows = iter(rows)
        yield next(rows)  # the header
        for row in rows:
            yield row
            self.events += 1
            self._progress(AUDIT_EXPORT_PHASE, self.events, max(self.total, self.events))


def csv_file_write(rows: Iterable[list], handle) -> None:
    """The rows as the streamed CSV downloads write them (UTF-8 with a byte-order mark for
    Excel, csv's default dialect) into the binary file `handle`, through a buffer: the rows
    are consumed as they come, never held together."""
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    text.write("\ufeff")
    csv.writer(text).writerows(rows)
    text.flush()
    text.detach()  # the caller still owns `handle`


def audit_export_job_run(*, job_id) -> None:
    with job_run(job_id=job_id, step=AUDIT_EXPORT_STEP) as job:
        if job is None:
            return
        edition_id = job.parameters.get("edition_id")
        edition = Edition.objects.get(pk=edition_id) if edition_id is not None else None
        progress = job_progress_callback(job)
        count = _EventCount(audit_events_for_export(edition=edition).count(), progress)
        with tempfile.TemporaryFile(suffix=".csv") as handle:
            csv_file_write(count.rows(audit_export_rows(edition=edition)), handle)
            handle.seek(0)
            job_finish(job=job, file=handle, result={
                "events": count.events, "format": "csv", "content_type": CSV_CONTENT_TYPE,
            })
