from celery import shared_task

__all__ = ["returns_export_task", "spreadsheet_check_task", "spreadsheet_import_task"]


@shared_task(name="reporting.spreadsheet_check")
def spreadsheet_check_task(job_id: str) -> None:
    from reporting.services.imports import import_job_check

    import_job_check(job_id=job_id)


@shared_task(name="reporting.spreadsheet_import")
def spreadsheet_import_task(job_id: str) -> None:
    from reporting.services.imports import import_job_run

    import_job_run(job_id=job_id)


@shared_task(name="reporting.returns_export")
def returns_export_task(job_id: str) -> None:
    from reporting.services.export_jobs import returns_export_job_run

    returns_export_job_run(job_id=job_id)
