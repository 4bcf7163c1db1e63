from celery import shared_task

__all__ = ["returns_export_task", "spreadsheet_check_task", "spreadsheet_import_task"]


def _job_step(task, step, job_id: str) -> None:
    """Run one step of a background job (jobs/services.py). A job another run still holds is
    tried again later (JobBusy), never dropped: its worker may have just been killed."""
    from jobs.services import JobBusy

    try:
        step(job_id=job_id)
    except JobBusy as busy:
        raise task.retry(countdown=busy.retry_after) from busy


@shared_task(name="reporting.spreadsheet_check", bind=True, max_retries=None)
def spreadsheet_check_task(self, job_id: str) -> None:
    from reporting.services.imports import import_job_check

    _job_step(self, import_job_check, job_id)


@shared_task(name="reporting.spreadsheet_import", bind=True, max_retries=None)
def spreadsheet_import_task(self, job_id: str) -> None:
    from reporting.services.imports import import_job_run

    _job_step(self, import_job_run, job_id)


@shared_task(name="reporting.returns_export", bind=True, max_retries=None)
def returns_export_task(self, job_id: str) -> None:
    from reporting.services.export_jobs import returns_export_job_run

    _job_step(self, returns_export_job_run, job_id)
