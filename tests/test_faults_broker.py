"""The broker is down, or stops answering: the site keeps working and the figures catch up.

Requests go through the test client, with the app's Celery pointed at a broker of the test's
own instead of running tasks in-process: first at a port where nothing listens (then a
redis-server started there, and a real worker), or at a server that accepts connections and
never answers. Saving, submitting and approving must succeed and be kept; a recomputation
that could not be queued is logged, caught up by the next one, and `manage.py aggregate`
repairs the figures meanwhile. Reminders that could not be queued are neither sent nor recorded
as sent, and the page says so.
"""

import json
import logging
import os
import socket
import threading
import time

import pytest
import redis
from django.core import mail
from django.core.management import call_command
from django.test import Client

from reporting.models import AuditEvent, ReturnStatus, SurveyReturn
from reporting.services.aggregation import edition_figures_compute
from tests import factories
from tests.faults_support import RedisServer, Worker, figures, free_port
from tests.reporting import entry_support
from tests.reporting.entry_support import clean_values, form_data

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

open_edition = entry_support.open_edition
# A request may wait this long for a broker that does not answer: the settings bound the
# connection (3 s), each command (5 s) and the retries; the default waited forever.
REQUEST_SECONDS_MAX = 15
NATIONAL_RETURNS = ("national", "national", "dept_total")
LOST = "Could not queue reporting.edition_recompute"


@pytest.fixture
def people(open_edition):
    institution = factories.InstitutionFactory(province_id="11")
    return {
        "reporter": factories.reporter(institution),
        "admin": factories.society_admin(),
        "draft": factories.survey_return(edition=open_edition, institution=institution),
    }


def _reviewed_return(edition, code: str) -> SurveyReturn:
    return factories.survey_return(
        edition=edition, institution=factories.InstitutionFactory(code=code, province_id="31"),
        status=ReturnStatus.REVIEWED, values=clean_values(edition),
    )


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _approve(admin_client: Client, survey_return: SurveyReturn) -> float:
    """Approve through the review page; returns the seconds the request took."""
    started = time.monotonic()
    response = admin_client.post(
        f"/returns/{survey_return.pk}/review/", {"action": "approve", "version": str(survey_return.version)}
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 302, response.content[:2000]
    survey_return.refresh_from_db()
    assert survey_return.status == ReturnStatus.APPROVED
    assert AuditEvent.objects.filter(
        survey_return=survey_return, kind=AuditEvent.Kind.STATUS, new_value=ReturnStatus.APPROVED
    ).exists()
    return elapsed


def test_broker_down_saving_submitting_and_approving_work_and_the_figures_catch_up(
    open_edition, people, celery_broker, caplog, settings
):
    edition = open_edition
    factories.survey_return(edition=edition, status=ReturnStatus.APPROVED, values=clean_values(edition))
    edition_figures_compute(edition_id=edition.pk)
    assert figures(edition)[NATIONAL_RETURNS] == 1
    first, second, third = (_reviewed_return(edition, code) for code in ("BD1", "BD2", "BD3"))
    redis_server = RedisServer(free_port())  # not started yet: nothing listens on its port
    celery_broker(redis_server.url)
    admin = _client(people["admin"])

    # The reporter saves and submits while the broker is down.
    reporter = _client(people["reporter"])
    draft = people["draft"]
    response = reporter.post(f"/returns/{draft.pk}/", form_data(clean_values(edition), version=draft.version))
    assert response.status_code == 302
    draft.refresh_from_db()
    response = reporter.post(
        f"/returns/{draft.pk}/", form_data(clean_values(edition), version=draft.version, action="submit")
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == ReturnStatus.SUBMITTED and draft.answers.count() > 100

    # An admin approves: the approval stands, the lost recomputation is logged.
    with caplog.at_level(logging.ERROR, logger="reporting.tasks.queueing"):
        assert _approve(admin, first) < REQUEST_SECONDS_MAX
    assert LOST in caplog.text and "manage.py aggregate" in caplog.text
    assert figures(edition)[NATIONAL_RETURNS] == 1  # not recomputed: nothing was queued

    # `manage.py aggregate` repairs the figures, through the broker if it can, else in-process.
    settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER = redis_server.url, False
    call_command("aggregate", "--edition", str(edition.year), stdout=open(os.devnull, "w"),
                 stderr=open(os.devnull, "w"))
    settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER = None, True
    assert figures(edition)[NATIONAL_RETURNS] == 2

    # Another approval while down; then the broker comes back with a worker, and the next
    # approval's recomputation counts both.
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="reporting.tasks.queueing"):
        _approve(admin, second)
    assert LOST in caplog.text
    redis_server.start()
    worker = None
    try:
        worker = Worker(redis_server.url)
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="reporting.tasks.queueing"):
            _approve(admin, third)
        assert LOST not in caplog.text
        worker.wait_for_line("succeeded", timeout=90)
    finally:
        if worker is not None:
            worker.stop()
        redis_server.stop()
    caught_up = figures(edition)
    assert caught_up[NATIONAL_RETURNS] == 4  # counted + first + second + third

    call_command("aggregate", "--edition", str(edition.year), "--rebuild", stdout=open(os.devnull, "w"))
    assert figures(edition) == caught_up


class SilentServer:
    """Accepts TCP connections and never answers: a broker that hangs, not one that is down."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.connections.append(self.socket.accept()[0])
            except OSError:
                return

    def close(self):
        for conn in self.connections:
            conn.close()
        self.socket.close()


@pytest.mark.parametrize("scheme, state", [("redis", "silent"), ("amqp", "silent"), ("amqp", "down")])
def test_an_unreachable_broker_delays_an_approval_by_seconds_at_most(
    open_edition, people, celery_broker, caplog, scheme, state
):
    server = SilentServer() if state == "silent" else None
    port = server.port if server else free_port()
    celery_broker(f"redis://127.0.0.1:{port}/0" if scheme == "redis" else f"amqp://guest:guest@127.0.0.1:{port}//")
    try:
        with caplog.at_level(logging.ERROR, logger="reporting.tasks.queueing"):
            elapsed = _approve(_client(people["admin"]), _reviewed_return(open_edition, "BH1"))
    finally:
        if server:
            server.close()
    assert elapsed < REQUEST_SECONDS_MAX
    assert LOST in caplog.text


# ---- reminders -------------------------------------------------------------------------------

REMINDERS_LOST = "Could not queue reporting.reminders_send"


def _remind(liaison, institution, **headers):
    """The liaison asks for a reminder from the completeness page; returns the page shown after."""
    client = _client(liaison)
    started = time.monotonic()
    response = client.post("/completeness/reminders/", {"institution": [str(institution.pk)]}, follow=True,
                           **headers)
    assert response.status_code == 200, response.content[:2000]
    assert time.monotonic() - started < REQUEST_SECONDS_MAX
    return response.content.decode()


def test_reminders_the_broker_cannot_take_are_not_sent_nor_recorded_and_the_page_says_so(
    open_edition, celery_broker, caplog
):
    institution = factories.InstitutionFactory(province_id="11", contact_email="nm@bj-hospital.example")
    liaison = factories.liaison("11")
    celery_broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="reporting.tasks.queueing"):
        page = _remind(liaison, institution)
    assert "提醒邮件未能发送" in page and 'role="alert"' in page
    assert "正在向" not in page  # not "reminders are being sent"
    assert REMINDERS_LOST in caplog.text
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.REMINDER).exists()
    assert mail.outbox == []
    page = _remind(liaison, institution, HTTP_ACCEPT_LANGUAGE="en")
    assert "The reminders could not be sent" in page and "try again" in page


def test_reminders_go_through_the_broker_when_it_takes_them(open_edition, celery_broker, caplog):
    """A broker that answers: the task waits in its queue for a worker, nothing is sent in the
    request, and the page says the reminders are on their way."""
    institution = factories.InstitutionFactory(province_id="11", contact_email="nm@bj-hospital.example")
    redis_server = RedisServer().start()
    try:
        celery_broker(redis_server.url)
        with caplog.at_level(logging.ERROR, logger="reporting.tasks.queueing"):
            page = _remind(factories.liaison("11"), institution, HTTP_ACCEPT_LANGUAGE="en")
        queued = redis.Redis(port=redis_server.port).lrange("celery", 0, -1)
    finally:
        redis_server.stop()
    assert "Reminders are being sent to 1 institution(s)." in page
    assert REMINDERS_LOST not in caplog.text
    assert len(queued) == 1 and json.loads(queued[0])["headers"]["task"] == "reporting.reminders_send"
    assert mail.outbox == [] and not AuditEvent.objects.filter(kind=AuditEvent.Kind.REMINDER).exists()
