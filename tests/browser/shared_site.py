"""One live server and one data set for a whole test module of browser checks.

pytest-django's ``live_server`` fixture makes every test that uses it transactional, so the
database is flushed after each test and every test would build its data again. The
accessibility and small-screen checks only read pages, so a module builds its data once,
commits it, serves it from its own live server, and restores the database at the end as the
test session set it up (the shipped editions loaded, nothing else).

A module using it marks its tests ``django_db`` (so that pytest-django creates the test
database) and writes nothing from the tests themselves: their transaction is rolled back and
the live server would not see it. Such modules run after every other test
(tests/browser/conftest.py), since the data they commit and the flush at their end are what the
tests run inside a rolled-back transaction do not expect.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from institutions.services import province_list_load
from reporting.models import Edition, Item, ReturnStatus
from reporting.services import returns as return_services
from reporting.services.aggregation import edition_figures_compute
from tests import factories
from tests.reporting.entry_support import clean_values

ROLES = ("reporter", "liaison", "admin")
LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}  # the site's language -> the browser's locale


@dataclass
class SharedSite:
    url: str
    edition: Edition
    users: dict = field(default_factory=dict)  # role -> user
    returns: dict = field(default_factory=dict)  # name -> SurveyReturn
    sessions: dict = field(default_factory=dict)  # role -> session key (committed, for the server)

    browser: object = None  # the module's own Chromium

    def context(self, *, role: str | None, language: str, width: int = 1366, height: int = 900, **options):
        """A browser context in `language`, logged in as `role` (None: signed out)."""
        context = self.browser.new_context(locale=LANGUAGES[language], viewport={"width": width, "height": height},
                                           **options)
        if role:
            context.add_cookies([{"name": "sessionid", "value": self.sessions[role], "url": self.url}])
        return context


def _editions_loaded() -> Edition:
    if not Edition.objects.filter(year=2024, items__isnull=False).exists():
        province_list_load()
        call_command("setup_survey", verbosity=0, stdout=open("/dev/null", "w"))
    return Edition.objects.get(year=2024)


def _dataset(url: str) -> SharedSite:
    """An open 2024 edition seen by one reporter (Beijing), the Beijing liaison and an admin.

    - ``own``: the reporter's draft, half filled in and consistent (the clean form: no error,
      no warning), saved through the service so its history has entries;
    - ``faulty``: a Beijing draft whose stored answers break rules (errors and warnings);
    - ``submitted``: a Beijing return submitted, sent back with comments, fixed, resubmitted
      (the review page with changes and comments);
    - approved returns in three provinces, aggregated (the report page and its province
      pages), and returns in every status for the completeness page;
    - eight peers of which one (in Beijing) is a flagged outlier (the outlier list).
    """
    edition = _editions_loaded()
    today = timezone.localdate()
    edition.status, edition.opens_on, edition.closes_on = "open", today - dt.timedelta(days=5), today + dt.timedelta(days=20)
    edition.save()
    clean = clean_values(edition)

    own_institution = factories.InstitutionFactory(code="A11Y01", name="北京协和医院核医学科（示例）",
                                                   name_en="PUMCH Nuclear Medicine (sample)", province_id="11")
    site = SharedSite(url=url, edition=edition)
    site.users = {
        "reporter": factories.reporter(own_institution, username="a11y_reporter", first_name="王", last_name="芳"),
        "liaison": factories.liaison("11", username="a11y_liaison"),
        "admin": factories.society_admin(username="a11y_admin"),
    }
    reporter, liaison, admin = (site.users[role] for role in ROLES)

    own = return_services.return_start(edition=edition, institution=own_institution, actor=reporter)
    # Half done: the last sections are still empty (consistent: empty sums agree).
    later = set(Item.objects.filter(edition=edition, section__code__in=["in_vitro", "personnel", "education"])
                .values_list("code", flat=True))
    return_services.return_values_save(survey_return=own, values={c: v for c, v in clean.items() if c not in later},
                                       actor=reporter, expected_version=own.version)
    site.returns["own"] = own

    faulty_values = {**clean, "title_senior": 9, "pmr_exam_tumor": 12}  # a sum error and a warning
    site.returns["faulty"] = factories.survey_return(
        edition=edition, institution=factories.InstitutionFactory(code="A11Y02", province_id="11"),
        values=faulty_values,
    )

    submitted = return_services.return_start(
        edition=edition, institution=factories.InstitutionFactory(code="A11Y03", province_id="11"), actor=admin)
    return_services.return_values_save(survey_return=submitted, values=clean, actor=admin,
                                       expected_version=submitted.version)
    return_services.return_submit(survey_return=submitted, actor=admin)
    return_services.return_send_back(survey_return=submitted, actor=liaison, comment="请核对人员数据",
                                      item_comments={"staff_nurse": "护士人数请核对"})
    return_services.return_values_save(survey_return=submitted, values={"staff_nurse": 3, "title_junior": 4,
                                                                       "edu_undergraduate": 7},
                                       actor=admin, expected_version=submitted.version)
    return_services.return_submit(survey_return=submitted, actor=admin)
    site.returns["submitted"] = submitted

    for code, province, status in [("A11Y11", "11", ReturnStatus.APPROVED), ("A11Y12", "11", None),
                                   ("A11Y31", "31", ReturnStatus.APPROVED), ("A11Y32", "31", ReturnStatus.REVIEWED),
                                   ("A11Y44", "44", ReturnStatus.APPROVED), ("A11Y45", "44", ReturnStatus.SENT_BACK)]:
        institution = factories.InstitutionFactory(code=code, province_id=province)
        if status:
            factories.survey_return(edition=edition, institution=institution, status=status, values=clean)
    # Tertiary-A peers treating 10...16 patients per therapy bed, and a Beijing return submitted
    # with 100: a flagged value on the outlier list of the Beijing liaison and the admin.
    peers = clean | {"rpt_beds": 1, "tx_other": 0, "tx_i131_thyroid": 0, "tx_seed_implant": 0, "tx_sr89_bone": 0}
    for number, treatments in enumerate([10, 11, 12, 13, 14, 15, 16, 100]):
        factories.survey_return(
            edition=edition, institution=factories.InstitutionFactory(code=f"A11YP{number}",
                                                                      province_id="11" if number == 7 else "44"),
            status=ReturnStatus.SUBMITTED if number == 7 else ReturnStatus.APPROVED,
            values=peers | {"tx_i131_graves": treatments},
        )
    edition_figures_compute(edition_id=edition.pk)
    for role, user in site.users.items():
        client = Client()
        client.force_login(user)
        site.sessions[role] = client.cookies["sessionid"].value
    return site


def _database_restore() -> None:
    """Leave the database as the session set it up (what a transactional test does, then the
    shipped editions reloaded so later tests find them)."""
    call_command("flush", interactive=False, verbosity=0)
    _editions_loaded()


@pytest.fixture(scope="module")
def shared_site(browser_type, browser_type_launch_args, django_db_setup, django_db_blocker):
    """The module's live server, data set and browser (see the module docstring).

    The module has its own browser, closed before the server stops: a browser that outlived the
    server would keep connections open to it, and their threads their database connections.
    Playwright is started before the test database is set up (the order of the arguments):
    while its event loop runs, Django keeps connections per context rather than per thread, and
    a connection opened before would stay open when the test database is dropped.
    """
    with django_db_blocker.unblock():
        server = LiveServer("localhost")
        browser = None
        try:
            site = _dataset(server.url)
            site.browser = browser = browser_type.launch(**browser_type_launch_args)
            yield site
        finally:
            if browser is not None:
                browser.close()
            server.stop()
            _database_restore()
