import os
import shutil

import pytest
from django.core.management import call_command

from institutions.services import province_list_load
from reporting.models import Edition


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # Load the shipped editions once per test database; each test then rolls back on top.
    with django_db_blocker.unblock():
        call_command("setup_survey", verbosity=0, stdout=open("/dev/null", "w"))
    yield
    # A connection a browser test's server thread left open (1 in some runs of tests/browser
    # under xdist, before this session too) would keep pytest-django from dropping the test
    # database, and every CI run would leave one behind on the server.
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(autouse=True)
def celery_current_app_kept():
    """The site's Celery app stays the current one whatever a test does.

    `@shared_task` tasks resolve to the *current* app on every call, and a `Celery()` made
    without `set_as_current=False` becomes current: every later test would then queue its
    tasks through that app (not eager, another broker) instead of running them in-process.
    """
    from celery import current_app

    from surveysite.celery import app

    yield
    if current_app._get_current_object() is not app:
        app.set_current()


@pytest.fixture
def celery_broker():
    """Point the site's Celery at a broker URL (the suite runs tasks in-process); restored after."""
    from surveysite.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}

    def forget_connections() -> None:
        # Connections and producers are pooled per app: drop the ones made for another URL.
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None

    def point(url: str) -> None:
        forget_connections()
        app.conf.update(broker_url=url, task_always_eager=False)

    yield point
    forget_connections()
    app.conf.update(saved)


@pytest.fixture
def edition(db):
    """The 2024 edition with its questionnaire (reloaded if a transactional test flushed it)."""
    if not Edition.objects.filter(year=2024, items__isnull=False).exists():
        province_list_load()
        call_command("setup_survey", verbosity=0, stdout=open("/dev/null", "w"))
    return Edition.objects.get(year=2024)


@pytest.fixture
def edition_2019(edition):
    return Edition.objects.get(year=2019)


# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# there unless told it is safe (it is: the browser is another process).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, not a browser Playwright downloads (there is no network for that)."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(autouse=True)
def english_outside_requests():
    """Code called directly by a test speaks English, so assertions on messages are stable.

    Requests through the test client still choose their language as the site does
    (Chinese unless the browser or the language switch asks for English).
    """
    from django.utils import translation

    with translation.override("en"):
        yield
