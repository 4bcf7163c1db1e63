"""Large exports as background jobs: start one, poll it, download its file when it is ready.

The jobs are the web pages' (the Spreadsheets page's returns export, the audit trail page's
export): the same services start them, the same worker task writes the same file, and a job
started here is listed on the page too. Each export is a whole edition's (or the whole audit
trail), so, as on the web, only society admins start them and read them; a liaison's or a
reporter's token gets 403 when starting one and 404 for any job.

Starting an export is allowed with a read-only token: it reads survey data and writes none.
What it creates is the caller's own short-lived job and file, nothing another person sees,
and a nightly exporter is exactly the client that should hold a read-only token. At most
``API_EXPORT_JOBS_ACTIVE_MAX`` of a person's exports wait or run at once (429 beyond), so a
leaked read-only token cannot fill the workers' queue.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Path, Query, Router

from api import selectors
from api.endpoints.editions import ERRORS, Year, edition_or_404
from api.endpoints.returns import Cursor, Limit
from api.errors import ApiError, RateLimited
from api.http import (
    CleanStr,
    cursor_datetime,
    cursor_decode,
    cursor_encode,
    json_response,
    next_link,
)
from api.schemas import ExportJobList, ExportJobOut, ExportKindName, ReturnsExportIn
from institutions.selectors import user_is_society_admin
from jobs.models import BackgroundJob, JobState
from jobs.views import job_file_response
from reporting.services.audit_export_jobs import audit_export_job_start
from reporting.services.export_jobs import CONTENT_TYPES, returns_export_job_start

router = Router(tags=["exports"])

JobId = Path(..., description="The export job's id (from the answer that started it, or the list)")
START_RESPONSES = {202: ExportJobOut, **ERRORS}
START_OPENAPI = {"responses": {202: {"headers": {"Location": {
    "description": "The job's URL (as `url` in the body)", "schema": {"type": "string"}}}}}}
# Seconds a client over the active-exports cap should wait before starting another.
ACTIVE_RETRY_SECONDS = 30
KIND_NAMES = {kind: name for name, kind in selectors.EXPORT_KINDS.items()}
FILE_CONTENT = {
    content_type.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
    for content_type in CONTENT_TYPES.values()
}


def _job_url(request, job: BackgroundJob, name: str = "export_job") -> str:
    return request.build_absolute_uri(reverse(f"api:{name}", kwargs={"job_id": job.pk}))


def export_job_out(request, job: BackgroundJob) -> dict:
    parameters, result = job.parameters or {}, job.result if isinstance(job.result, dict) else {}
    done = job.state == JobState.DONE
    return {
        "id": job.pk, "kind": KIND_NAMES[job.kind], "edition": parameters.get("year"),
        "format": parameters.get("format", "csv"), "statuses": parameters.get("statuses"),
        "state": job.state, "phase": job.phase, "done": job.done, "total": job.total, "percent": job.percent,
        "rows": result.get("returns", result.get("events")) if done else None,
        "file_name": job.file_label, "file_size": job.file_size if done else None,
        "content_type": result.get("content_type") if done else None,
        "owner": job.owner.get_username(), "created_at": job.created_at, "started_at": job.started_at,
        "finished_at": job.finished_at, "expires_at": job.expires_at,
        "url": _job_url(request, job), "file_url": _job_url(request, job, "export_file") if done else None,
    }


def _may_start(request) -> None:
    """403 unless a society admin (as on the web); 429 when too many of their exports wait or run."""
    if not user_is_society_admin(request.user):
        raise ApiError(403, "not_permitted", _("Only society admins export a whole edition or the audit trail."))
    active_max = settings.API_EXPORT_JOBS_ACTIVE_MAX
    if selectors.export_jobs_active_count(user=request.user) >= active_max:
        raise RateLimited(ACTIVE_RETRY_SECONDS, _(
            "%(count)s of your exports are still waiting or running; start another when one has finished."
        ) % {"count": active_max})


def _started(request, job: BackgroundJob):
    """202 Accepted with the job (done already when tasks run in-process) and its Location."""
    job.refresh_from_db()
    response = json_response(ExportJobOut, export_job_out(request, job), status=202)
    response["Location"] = _job_url(request, job)
    return response


START_DESCRIPTION = (
    "Answers 202 at once with the job (and its URL in `Location`); a worker writes the file. "
    "Poll the job until `state` is `done` (then download `file_url`) or `failed`. Society admins "
    "only (403 otherwise); a read-only token may start one, as it writes no survey data. At most "
    f"{settings.API_EXPORT_JOBS_ACTIVE_MAX} of your exports wait or run at once (429 with Retry-After beyond)."
)


@router.post("/editions/{year}/exports/returns", response=START_RESPONSES,
             url_name="export_returns_start", openapi_extra=START_OPENAPI,
             summary="Start an export of the edition's returns with their answers (CSV or XLSX)",
             description=START_DESCRIPTION + " The file is the web page's export: one row per return, "
             "in the spreadsheet import's layout, byte for byte the same CSV.")
def returns_export_start(request, body: ReturnsExportIn, year: int = Year):
    _may_start(request)
    edition = edition_or_404(year)
    job = returns_export_job_start(edition=edition, actor=request.user, fmt=body.format,
                                   statuses=list(body.statuses) or None, language=get_language() or "zh-hans")
    return _started(request, job)


@router.post("/editions/{year}/exports/audit", response=START_RESPONSES,
             url_name="export_audit_start", openapi_extra=START_OPENAPI,
             summary="Start an export of the edition's audit trail (CSV)",
             description=START_DESCRIPTION + " The file is the web page's audit export of the edition.")
def audit_export_start(request, year: int = Year):
    _may_start(request)
    edition = edition_or_404(year)
    return _started(request, audit_export_job_start(actor=request.user, edition=edition,
                                                    language=get_language() or "zh-hans"))


@router.post("/exports/audit", response=START_RESPONSES,
             url_name="export_audit_all_start", openapi_extra=START_OPENAPI,
             summary="Start an export of every audit event, registry and account events included (CSV)",
             description=START_DESCRIPTION)
def audit_export_all_start(request):
    _may_start(request)
    return _started(request, audit_export_job_start(actor=request.user, edition=None,
                                                    language=get_language() or "zh-hans"))


@router.get("/exports", response={200: ExportJobList, **ERRORS}, url_name="export_list",
            summary="Your export jobs still kept, newest first")
def export_list(request, kind: ExportKindName | None = Query(None), limit: int = Limit,
                cursor: CleanStr | None = Cursor):
    after = None
    if cursor:
        created_at, pk = cursor_decode(cursor, shape=(str, str))
        try:
            after = (cursor_datetime(created_at), uuid.UUID(pk))
        except ValueError:
            raise ApiError(422, "invalid_cursor", _("The cursor is not one this API gave out; start again without it.")) from None
    jobs = selectors.export_job_page(user=request.user, kind=kind, after=after, limit=limit)
    more = len(jobs) > limit
    jobs = jobs[:limit]
    following = cursor_encode([jobs[-1].created_at.isoformat(), jobs[-1].pk.hex]) if more else None
    return {"items": [export_job_out(request, job) for job in jobs], "next": next_link(request, following)}


def _visible_job(request, job_id: uuid.UUID) -> BackgroundJob:
    job = selectors.export_job_visible(user=request.user, job_id=job_id)
    if job is None:
        raise ApiError(404, "not_found", _("Not found."))
    return job


@router.get("/exports/{job_id}", response={200: ExportJobOut, **ERRORS}, url_name="export_job",
            summary="One export job: its state, progress and, once done, its file's URL",
            description="Yours, or (for a society admin) another admin's; anything else, and a job past "
            "`expires_at`, is 404.")
def export_detail(request, job_id: uuid.UUID = JobId):
    job = _visible_job(request, job_id)
    response = json_response(ExportJobOut, export_job_out(request, job))
    response["Cache-Control"] = "private, no-store"  # progress changes from one poll to the next
    return response


@router.get(
    "/exports/{job_id}/file", response={200: None, **ERRORS}, url_name="export_file",
    summary="The finished file, streamed (CSV or XLSX)",
    description="404 with code `not_ready` while the job waits or runs, `export_failed` when it failed, "
    "`not_found` for a job you may not see or one past `expires_at`.",
    openapi_extra={"responses": {200: {"description": "The file, as an attachment", "content": FILE_CONTENT}}},
)
def export_file(request, job_id: uuid.UUID = JobId):
    job = _visible_job(request, job_id)
    if job.state == JobState.FAILED:
        raise ApiError(404, "export_failed", _("The export failed; start it again."))
    if job.state != JobState.DONE or not job.file_name:
        raise ApiError(404, "not_ready", _("The file is not ready yet; poll the job until its state is done."))
    response = job_file_response(job)
    response["Cache-Control"] = "private, no-store"
    return response
