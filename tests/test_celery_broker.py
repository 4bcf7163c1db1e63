"""Celery against a real broker: a worker process runs the aggregation that `aggregate` queues.

Without a broker the app runs tasks in-process (every other test); here the same command
goes through Redis and RabbitMQ to a separate worker, as in production.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from reporting.models import FigureValue, ReturnStatus
from tests import factories

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BROKERS = {
    "redis": ("redis://127.0.0.1:6379/13", 6379),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", 5672),
}


def _reachable(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_aggregate_command_waits_for_a_worker_through_the_broker(edition, broker):
    url, port = BROKERS[broker]
    if not _reachable(port):
        pytest.fail(f"{broker} is not running on 127.0.0.1:{port} (.ci/run starts it)")
    for code in ("B1", "B2"):
        factories.survey_return(
            edition=edition,
            institution=factories.InstitutionFactory(code=code),
            status=ReturnStatus.APPROVED,
            values={"eq_pet_ct": 2, "ownership": "public", "svc_pet": True},
        )
    db = connection.settings_dict
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "CELERY_RESULT_BACKEND"}},
        "DJANGO_SETTINGS_MODULE": "surveysite.settings.local",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": url,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "surveysite", "worker", "--pool=solo", "--loglevel=warning", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "aggregate", "--edition", "2024", "--timeout", "120"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )
    finally:
        worker.terminate()
        log, _ = worker.communicate(timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr + log
    assert "Queued task" in result.stdout  # it went through the broker, not in-process
    values = dict(FigureValue.objects.filter(edition=edition, breakdown="national").values_list("key", "value"))
    assert values["positron_units"] == 4
    assert values["dept_total"] == 2
