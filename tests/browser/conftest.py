import pytest


def _database_group(item) -> int:
    """pytest-django's order: database tests in a rolled-back transaction first (0), then the
    transactional ones, which flush the database when done (1), then the others (2)."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    if (marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
            or "transactional_db" in fixtures or "live_server" in fixtures):
        return 1
    return 0 if marker or "db" in fixtures else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Keep pytest-django's order, and run the modules that share one live server and data set
    (tests/browser/shared_site.py) after everything else.

    pytest groups the tests of a session-scoped parameter together after pytest-django has
    sorted them (every browser test has Playwright's `browser_name`), so the browser tests
    that flush the database could otherwise come before tests that expect the database as the
    session set it up. The shared-site modules commit their data and flush at their end.
    """
    def key(item):
        return ("shared_site" in getattr(item, "fixturenames", ()), _database_group(item))

    items.sort(key=key)
