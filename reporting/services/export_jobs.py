"""An edition's returns exported as a background job: written by a worker into the shared
storage, downloaded later from any host by the society admin who asked for it.

The rows are the institution-level export's (``returns_export_rows``: one row per return,
read a chunk of returns at a time), so the file is the one the streamed download gives,
byte for byte for CSV. They are written to a temporary file of the worker as they come and
then copied into the ``survey_files`` storage a chunk at a time: memory stays bounded
whatever the edition's size. The file is stored in the transaction that marks the job done,
so a worker killed in the middle leaves no half-written file.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator

from django.core.exceptions import PermissionDenied
from django.db import transaction

from institutions.selectors import user_is_society_admin
from jobs.models import BackgroundJob
from jobs.services import Progress, job_create, job_finish, job_progress_callback, job_run
from reporting.models import Edition, ReturnStatus, SurveyReturn
from reporting.services.exports import returns_export_rows
from reporting.spreadsheets.layout import INSTITUTION_CODE, NOTE_PREFIX

EXPORT_KIND = "returns_export"
EXPORT_STEP = "export"
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@transaction.atomic
def returns_export_job_start(*, edition: Edition, actor, fmt: str, statuses: list[str] | None = None,
                             language: str = "") -> BackgroundJob:
    """Queue an export of the edition's returns (society admins only); the worker starts once
    the transaction commits."""
    from reporting.spreadsheets.jobs import job_task_send
    from reporting.tasks.spreadsheets import returns_export_task

    if not user_is_society_admin(actor):
        raise PermissionDenied
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"unknown export format '{fmt}'")
    statuses = sorted({s for s in statuses or [] if s in ReturnStatus.values}) or None
    suffix = "-" + "-".join(statuses) if statuses else ""
    job = job_create(
        kind=EXPORT_KIND, owner=actor, step=EXPORT_STEP, language=language,
        parameters={"edition_id": edition.pk, "year": edition.year, "format": fmt, "statuses": statuses},
        file_label=f"returns-{edition.year}{suffix}.{fmt}",
    )
    job_task_send(returns_export_task, job.pk)
    return job


def _counted(rows: Iterable[list], total: int, progress: Progress) -> Iterator[list]:
    """The rows, reporting progress per return (the header and note rows are not returns)."""
    done = 0
    progress("rows", 0, total)
    for row in rows:
        yield row
        if row and row[0] != INSTITUTION_CODE and not str(row[0]).startswith(NOTE_PREFIX):
            done += 1
            progress("rows", done, total)


class _Line:
    def write(self, value):
        return value


def _csv_write(rows: Iterable[list], handle) -> None:
    # As returns_export_csv_chunks: UTF-8 with a byte-order mark, csv's default dialect.
    writer = csv.writer(_Line())
    handle.write("\ufeff".encode())
    for row in rows:
        handle.write(writer.writerow(row).encode("utf-8"))


def _xlsx_write(rows: Iterable[list], handle) -> None:
    # As returns_export_xlsx_file: openpyxl's write-only mode keeps rows on disk, not in memory.
    from openpyxl import Workbook

    from reporting.spreadsheets.workbooks import xlsx_safe

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("returns")
    for row in rows:
        sheet.append([xlsx_safe(value) for value in row])
    workbook.save(handle)


def returns_export_job_run(*, job_id) -> None:
    with job_run(job_id=job_id, step=EXPORT_STEP) as job:
        if job is None:
            return
        parameters = job.parameters
        edition = Edition.objects.get(pk=parameters["edition_id"])
        statuses = parameters.get("statuses") or None
        returns = SurveyReturn.objects.filter(edition=edition)
        if statuses:
            returns = returns.filter(status__in=statuses)
        total = returns.count()
        progress = job_progress_callback(job)
        rows = _counted(returns_export_rows(edition=edition, statuses=statuses), total, progress)
        fmt = parameters["format"]
        with tempfile.TemporaryFile(suffix=f".{fmt}") as handle:
            (_csv_write if fmt == "csv" else _xlsx_write)(rows, handle)
            progress("file", total, total)
            handle.seek(0)
            job_finish(job=job, file=handle, result={
                "returns": total, "format": fmt, "content_type": CONTENT_TYPES[fmt],
            })
