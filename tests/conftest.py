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
