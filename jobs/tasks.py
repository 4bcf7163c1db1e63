from celery import shared_task

__all__ = ["jobs_sweep_task"]


@shared_task(name="jobs.sweep")
def jobs_sweep_task() -> dict:
    """Scheduled by Celery beat (CELERY_BEAT_SCHEDULE): expired jobs and their files go."""
    from jobs.services import jobs_sweep

    return jobs_sweep()
