"""Queueing a task after a change is committed, without letting a broker outage undo the change."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
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


@dataclass
class Enqueueing:
    """What became of a task queued on commit: `taken` is None until the transaction commits,
    then whether the broker took it. Outside a transaction (a view: requests are not atomic)
    it is known as soon as `task_enqueue_on_commit` returns."""

    taken: bool | None = None


def task_enqueue_on_commit(task, args=(), kwargs=None, *, if_lost: str = "") -> Enqueueing:
    """`task_enqueue` once the current transaction commits, at once outside one; the caller
    can tell the user when the broker did not take the task."""
    outcome = Enqueueing()

    def send():
        outcome.taken = task_enqueue(task, args, kwargs, if_lost=if_lost)

    transaction.on_commit(send)
    return outcome


def job_step_run(task, step, job_id: str) -> None:
    """Run one step of a background job (jobs/services.py) in `task`. A job another run still
    holds is tried again later (JobBusy), never dropped: its worker may have just been killed."""
    from jobs.services import JobBusy

    try:
        step(job_id=job_id)
    except JobBusy as busy:
        raise task.retry(countdown=busy.retry_after) from busy
