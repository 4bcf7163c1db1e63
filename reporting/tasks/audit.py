from celery import shared_task

__all__ = ["audit_export_task"]


@shared_task(name="reporting.audit_export", bind=True, max_retries=None)
def audit_export_task(self, job_id: str) -> None:
    """Writes an audit export job's file (reporting/services/audit_export_jobs.py). A job another
    run still holds is tried again later (JobBusy), never dropped: its worker may have just died."""
    from jobs.services import JobBusy
    from reporting.services.audit_export_jobs import audit_export_job_run

    try:
        audit_export_job_run(job_id=job_id)
    except JobBusy as busy:
        raise self.retry(countdown=busy.retry_after) from busy
