"""Queueing a task after a change is committed, without letting a broker outage undo the change."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def task_enqueue(task, args=(), kwargs=None, *, if_lost: str = "") -> bool:
    """Send `task` to the workers, fire and forget; False when the broker cannot take it.

    It runs once the caller's work is committed: a broker that is down or does not answer
    (the settings bound how long that takes) must not turn an approval into an error page,
    so the failure is logged, with `if_lost` saying what repairs it. Nobody waits for the
    result, so it is not kept, and the result backend is not touched when queueing.
    """
    try:
        task.apply_async(args=args, kwargs=kwargs or {}, ignore_result=True)
    except OperationalError as exc:
        logger.error("Could not queue %s%r: the broker did not take it (%s). %s", task.name, tuple(args), exc, if_lost)
        return False
    return True


def job_step_run(task, step, job_id: str) -> None:
    """Run one step of a background job (jobs/services.py) in `task`. A job another run still
    holds is tried again later (JobBusy), never dropped: its worker may have just been killed."""
    from jobs.services import JobBusy

    try:
        step(job_id=job_id)
    except JobBusy as busy:
        raise task.retry(countdown=busy.retry_after) from busy
