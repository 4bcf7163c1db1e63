from celery import shared_task

from reporting.tasks.queueing import job_step_run

__all__ = ["returns_export_task", "spreadsheet_check_task", "spreadsheet_import_task"]


@shared_task(name="reporting.spreadsheet_check", bind=True, max_retries=None)
def spreadsheet_check_task(self, job_id: str) -> None:
    from reporting.services.imports import import_job_check

    job_step_run(self, import_job_check, job_id)


@shared_task(name="reporting.spreadsheet_import", bind=True, max_retries=None)
def spreadsheet_import_task(self, job_id: str) -> None:
    from reporting.services.imports import import_job_run

    job_step_run(self, import_job_run, job_id)


@shared_task(name="reporting.returns_export", bind=True, max_retries=None)
def returns_export_task(self, job_id: str) -> None:
    from reporting.services.export_jobs import returns_export_job_run

    job_step_run(self, returns_export_job_run, job_id)
