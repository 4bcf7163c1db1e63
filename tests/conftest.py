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
