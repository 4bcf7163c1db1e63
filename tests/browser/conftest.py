import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """The modules that share one live server and data set (tests/browser/shared_site.py) run
    last: they commit their data and flush the database when they are done, and the tests that
    pytest-django runs inside a rolled-back transaction expect the database as the session set
    it up. (pytest-django has already put the database tests first; this keeps that order.)"""
    shared = [item for item in items if "shared_site" in getattr(item, "fixturenames", ())]
    if shared:
        ids = {id(item) for item in shared}
        items[:] = [item for item in items if id(item) not in ids] + shared
