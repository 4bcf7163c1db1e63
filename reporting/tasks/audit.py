from celery import shared_task

from reporting.tasks.queueing import job_step_run

__all__ = ["audit_export_task"]


@shared_task(name="reporting.audit_export", bind=True, max_retries=None)
def audit_export_task(self, job_id: str) -> None:
    """Writes an audit export job's file (reporting/services/audit_export_jobs.py)."""
    from reporting.services.audit_export_jobs import audit_export_job_run

    job_step_run(self, audit_export_job_run, job_id)
