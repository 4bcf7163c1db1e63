"""System checks of settings that only go wrong on a running deployment (`check --deploy`)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.compatibility, deploy=True)
def broker_visibility_timeout_check(app_configs, **kwargs) -> list[Warning]:
    """On Redis, CELERY_VISIBILITY_TIMEOUT between the longest task and the stalled-job sweep.

    Redis hands a job that has gone unacknowledged that long to another worker, whether its
    worker died or is still running it (tasks are acknowledged when they end). Shorter than
    the longest task, a long import is started a second time and holds a second worker while
    it waits for the first run's lock; as long as BACKGROUND_JOB_STALLED_AFTER, the sweep
    fails a killed worker's job before Redis hands it out again.
    """
    if not (settings.CELERY_BROKER_URL or "").startswith(("redis://", "rediss://")):
        return []  # RabbitMQ redelivers when the worker's connection drops; no timeout
    timeout = timedelta(seconds=settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"])
    found = []
    if timeout <= settings.BACKGROUND_TASK_LONGEST:
        found.append(Warning(
            f"CELERY_VISIBILITY_TIMEOUT is {timeout.total_seconds():.0f} s, not longer than the longest "
            f"background task ({settings.BACKGROUND_TASK_LONGEST.total_seconds():.0f} s): Redis would hand "
            "a task still running to a second worker.",
            hint="Leave CELERY_VISIBILITY_TIMEOUT unset (3600 s) or set it above BACKGROUND_TASK_LONGEST.",
            id="surveysite.W001",
        ))
    if timeout >= settings.BACKGROUND_JOB_STALLED_AFTER:
        found.append(Warning(
            f"CELERY_VISIBILITY_TIMEOUT is {timeout.total_seconds():.0f} s, not shorter than "
            f"BACKGROUND_JOB_STALLED_AFTER ({settings.BACKGROUND_JOB_STALLED_AFTER.total_seconds():.0f} s): "
            "a job whose worker died is failed by the sweep before Redis hands it to another worker.",
            hint="Set CELERY_VISIBILITY_TIMEOUT below BACKGROUND_JOB_STALLED_AFTER.",
            id="surveysite.W002",
        ))
    return found
