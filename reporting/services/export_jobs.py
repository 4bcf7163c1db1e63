"""An edition's returns exported as a background job: written by a worker into the shared
storage, downloaded later from any host by the society admin who asked for it.

The rows are the institution-level export's (``returns_export_pages``: one row per return,
read a page of returns at a time), written by the same writers, so the file is the one the
streamed download gives, byte for byte for CSV. They are written to a temporary file of the
worker as they come and then copied into the ``survey_files`` storage a chunk at a time:
memory stays bounded whatever the edition's size. The file is stored in the transaction that marks the job done,
so a worker killed in the middle leaves no half-written file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from itertools import chain

from django.core.exceptions import PermissionDenied
from django.db import transaction

from institutions.selectors import user_is_society_admin
from jobs.models import BackgroundJob
from jobs.services import Progress, job_create, job_finish, job_progress_callback, job_run
from reporting.models import Edition, ReturnStatus, SurveyReturn
from reporting.services.exports import (
    returns_csv_text,
    returns_export_heading,
    returns_export_pages,
    returns_xlsx_write,
)
from reporting.spreadsheets.layout import edition_items

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


def _counted(pages: Iterable[list[list]], total: int, progress: Progress) -> Iterator[list[list]]:
    """The pages of returns, reporting progress per page."""
    done = 0
    progress("rows", 0, total)
    for rows in pages:
        yield rows
        done += len(rows)
        progress("rows", done, total)


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
        items = edition_items(edition)
        pages = chain(
            [returns_export_heading(edition=edition, items=items)],
            _counted(returns_export_pages(edition=edition, items=items, statuses=statuses), total, progress),
        )
        fmt = parameters["format"]
        with tempfile.TemporaryFile(suffix=f".{fmt}") as handle:
            if fmt == "csv":
                for text in returns_csv_text(pages):
                    handle.write(text.encode("utf-8"))
            else:
                returns_xlsx_write(pages, handle)
            progress("file", total, total)
            handle.seek(0)
            job_finish(job=job, file=handle, result={
                "returns": total, "format": fmt, "content_type": CONTENT_TYPES[fmt],
            })
