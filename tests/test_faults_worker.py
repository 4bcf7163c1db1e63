"""A Celery worker killed (SIGKILL) in the middle of an aggregation.

The kill lands mid-job deterministically: the test holds a row lock on one of the figures the
job rewrites, so the worker stops at its DELETE, after it has already brought the answer
summary up to date in its (uncommitted) transaction; the test sees it waiting in
pg_stat_activity and kills it there. The figures and the summary must be as before the job,
and the job must be run again (redelivered) with the figures of a clean rebuild.
"""

import os
import signal
import time
import uuid

import pytest
from celery import Celery
from django.core.management import call_command

from reporting.models import ReturnStatus
from reporting.services.aggregation import edition_figures_compute
from tests import factories
from tests.faults_support import (
    RedisServer,
    Worker,
    database_connect,
    figures,
    port_open,
    summary,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
# Redis hands a job whose worker died unacknowledged out again after this many seconds
# (an hour by default: longer than any task).
VISIBILITY_TIMEOUT = 4
VALUES = {"eq_pet_ct": 2, "ownership": "public", "hospital_level": "tertiary_a", "svc_pet": True}


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def counted_edition(edition):
    """Two approved returns counted in the figures, and a third approved since: the next
    recomputation has work to do (national dept_total goes from 2 to 3)."""
    for code in ("K1", "K2"):
        factories.survey_return(edition=edition, institution=factories.InstitutionFactory(code=code),
                                status=ReturnStatus.APPROVED, values=VALUES)
    edition_figures_compute(edition_id=edition.pk)
    factories.survey_return(edition=edition, institution=factories.InstitutionFactory(code="K3"),
                            status=ReturnStatus.APPROVED, values={**VALUES, "eq_pet_ct": 5})
    return edition


def _job_send(broker_url: str, edition, queue: str | None = None) -> None:
    """What an approval queues (by name, from an app of the test's own: the suite's is eager).
    Not the current app: shared tasks resolve to that, in this test and every later one."""
    app = Celery("faults-test", broker=broker_url, set_as_current=False)
    try:
        app.send_task("reporting.edition_recompute", args=[edition.pk], kwargs={"only_changed": True},
                      ignore_result=True, **({"queue": queue} if queue else {}))
    finally:
        app.close()


def _hold_figure_lock(edition):
    """A transaction holding the national dept_total figure row, which the job must rewrite."""
    lock = database_connect()
    lock.execute(
        "SELECT id FROM reporting_figurevalue WHERE edition_id = %s AND breakdown = 'national'"
        " AND key = 'dept_total' FOR UPDATE",
        [edition.pk],
    )
    return lock


def _blocked_backend(lock, worker) -> int:
    """The worker's database session, once it waits on our lock in the middle of the job."""

    def blocked():
        # pg_stat_activity is a snapshot taken once per transaction: ask outside the lock's.
        with database_connect(autocommit=True) as monitor:
            return monitor.execute(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            ).fetchone()

    pid, query = wait_for(blocked, timeout=90, what="the aggregation to wait on the figure lock",
                          context=worker.context)
    assert query.lstrip().upper().startswith("DELETE") and "reporting_figurevalue" in query, query
    return pid


def _backend_gone(pid: int) -> None:
    """The killed worker's session notices its client is gone and rolls back."""

    def gone():
        with database_connect(autocommit=True) as monitor:
            return monitor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0] == 0

    wait_for(gone, timeout=60, what=f"the killed worker's database session {pid} to end")


def _rebuild_matches(edition, computed: dict) -> None:
    call_command("aggregate", "--edition", str(edition.year), "--rebuild", stdout=open(os.devnull, "w"))
    assert figures(edition) == computed


def test_killed_worker_process_leaves_the_figures_and_its_job_runs_again(counted_edition, redis_server):
    """The production pool (prefork): the process running the job is killed; the worker hands
    the job back to the queue (reject_on_worker_lost) and a new process runs it."""
    edition = counted_edition
    before, summary_before = figures(edition), summary(edition)
    lock = _hold_figure_lock(edition)
    worker = Worker(redis_server.url, pool="prefork")
    try:
        _job_send(redis_server.url, edition)
        backend = _blocked_backend(lock, worker)
        (child,) = worker.children()
        os.kill(child, signal.SIGKILL)
        worker.wait_for_line("WorkerLostError", timeout=60)
        # The job given back is taken by a new process; it waits for the killed job's
        # session, which waits for our lock.
        lock.rollback()
        _backend_gone(backend)
        worker.wait_for_line("succeeded", timeout=90)
    finally:
        lock.close()
        worker.stop()
    after = figures(edition)
    assert after != before and after[("national", "national", "dept_total")] == 3
    assert summary(edition) != summary_before
    _rebuild_matches(edition, after)


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_killed_worker_leaves_the_previous_figures_and_the_job_is_redelivered(counted_edition, redis_server, broker):
    """The whole worker is killed mid-job: nothing it did is kept; the broker hands the job to
    the next worker (RabbitMQ when the connection drops, Redis after the visibility timeout)."""
    edition = counted_edition
    if broker == "rabbitmq" and not port_open(5672):
        pytest.fail("RabbitMQ is not running on 127.0.0.1:5672 (.ci/run starts it)")
    broker_url = redis_server.url if broker == "redis" else RABBITMQ_URL
    # The machine's RabbitMQ is shared: a queue of our own, so no other worker takes the job.
    queue = None if broker == "redis" else f"faults-{uuid.uuid4().hex}"
    env = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    before, summary_before = figures(edition), summary(edition)
    lock = _hold_figure_lock(edition)
    worker = Worker(broker_url, queue=queue, env=env)
    try:
        _job_send(broker_url, edition, queue)
        backend = _blocked_backend(lock, worker)
        worker.kill()
        killed_at = time.monotonic()
        lock.rollback()
        _backend_gone(backend)
    finally:
        lock.close()
        worker.stop()
    assert figures(edition) == before
    assert summary(edition) == summary_before

    if broker == "redis":  # a job is handed out again once it has been unacknowledged that long
        time.sleep(max(0.0, VISIBILITY_TIMEOUT + 1 - (time.monotonic() - killed_at)))
    worker = Worker(broker_url, queue=queue, env=env)
    try:
        worker.wait_for_line("succeeded", timeout=90)
    finally:
        worker.stop()
        if queue:
            _queue_delete(broker_url, queue)
    after = figures(edition)
    assert after[("national", "national", "dept_total")] == 3
    _rebuild_matches(edition, after)


def _queue_delete(broker_url: str, queue: str) -> None:
    app = Celery("faults-test", broker=broker_url, set_as_current=False)
    try:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
    finally:
        app.close()
