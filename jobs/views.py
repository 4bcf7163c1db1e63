"""A job's progress (for the pages that poll it) and its file, for its owner and society admins."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from jobs.models import JobState
from jobs.selectors import job_visible_to
from jobs.storage import survey_files


@never_cache
@login_required
def job_status(request, job_id):
    job = job_visible_to(user=request.user, job_id=job_id)
    if job is None:
        raise Http404
    return JsonResponse({
        "state": job.state, "step": job.step, "phase": job.phase, "done": job.done, "total": job.total,
        "percent": job.percent,
    })


@never_cache
@login_required
def job_file(request, job_id):
    """The finished file, streamed from the shared storage a chunk at a time."""
    job = job_visible_to(user=request.user, job_id=job_id)
    if job is None or job.state != JobState.DONE or not job.file_name:
        raise Http404
    return job_file_response(job)


def job_file_response(job) -> FileResponse:
    """The job's file as an attachment under the name its owner knows, streamed from the shared
    storage a chunk at a time (the web page's download and the API's); Http404 if it is gone."""
    try:
        handle = survey_files().open(job.file_name)
    except FileNotFoundError:
        raise Http404 from None
    content_type = job.result.get("content_type") if isinstance(job.result, dict) else None
    return FileResponse(handle, as_attachment=True, filename=job.file_label,
                        content_type=content_type or "application/octet-stream")


def export_job_page(request, job_id, *, kind: str, template: str):
    """An export job's page (its progress, then its download; `template` extends
    jobs/export_job_base.html) for its owner and society admins; 404 for anybody else."""
    job = job_visible_to(user=request.user, job_id=job_id, kind=kind)
    if job is None:
        raise Http404
    return render(request, template, {"job": job, "states": JobState, "running": job.active})
