"""axe-core on every page type, for each role, in both languages: no critical or serious
violation.

axe-core comes from the `axe-playwright-python` package (it bundles axe.min.js; installed with
the project's `test` extra). The module shares one live server and one data set
(tests/browser/shared_site.py); each case opens its page in a browser context of its role and
language and runs axe on it.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.shared_site import LANGUAGES, shared_site  # noqa: F401 - the module fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

BLOCKING_IMPACTS = ("critical", "serious")

# page type -> the roles that have it (None: signed out)
PAGES = {
    "login": (None,),
    "home": ("reporter", "liaison", "admin"),
    "returns": ("reporter", "liaison", "admin"),
    "entry": ("reporter", "liaison", "admin"),
    "entry-errors": ("reporter", "liaison", "admin"),
    "review": ("liaison", "admin"),
    "history": ("reporter", "liaison", "admin"),
    "completeness": ("liaison", "admin"),
    "edition": ("admin",),
    "audit": ("admin",),
    "spreadsheets": ("reporter", "admin"),
    "report": ("reporter", "liaison", "admin"),
    "province": ("reporter", "liaison", "admin"),
    "outliers": ("liaison", "admin"),
    "api-tokens": ("reporter", "liaison", "admin"),
    "not-allowed": ("liaison",),
}
CASES = [
    pytest.param(page, role, language, id=f"{page}-{role or 'anonymous'}-{language}")
    for page, roles in PAGES.items() for role in roles for language in LANGUAGES
]


def _open(page, site, page_type: str, role: str | None) -> None:
    """Go to the page type as `role` would (the form with errors after a refused save)."""
    own, faulty, submitted = site.returns["own"], site.returns["faulty"], site.returns["submitted"]
    paths = {
        "login": "/accounts/login/",
        "home": "/",
        "returns": "/returns/",
        "entry": f"/returns/{(own if role == 'reporter' else submitted).pk}/",
        "review": f"/returns/{submitted.pk}/review/",
        "history": f"/returns/{(own if role == 'reporter' else submitted).pk}/history/",
        "completeness": "/completeness/",
        "edition": f"/editions/{site.edition.year}/",
        "audit": "/audit/",
        "spreadsheets": f"/returns/{own.pk}/upload/" if role == "reporter" else "/spreadsheets/",
        "report": f"/report/{site.edition.year}/",
        "province": f"/report/{site.edition.year}/province/11/",
        "outliers": f"/review/{site.edition.year}/outliers/",
        "api-tokens": "/account/tokens/",
        "not-allowed": "/completeness/reminders/",  # POST only: the site's 405 page
    }
    if page_type != "entry-errors":
        response = page.goto(site.url + paths[page_type])
        expected = 405 if page_type == "not-allowed" else 200
        assert response.status == expected, f"{page_type} as {role}: HTTP {response.status}"
        if page_type == "outliers":  # the list with a flagged value and its mark form, not the empty one
            assert page.locator('tr[data-key="tx_per_bed"]').count() >= 1
        return
    if role == "liaison":
        # A liaison reads a draft whose stored answers break rules (read-only, findings shown).
        page.goto(f"{site.url}/returns/{faulty.pk}/")
        return
    # The reporter (own draft) and an admin (any unapproved return) type a value that cannot be
    # read and break a sum, then save: the page comes back with the summary and the marks.
    page.goto(f"{site.url}/returns/{(own if role == 'reporter' else faulty).pk}/")
    page.fill('[name="staff_physician"]', "四")
    page.fill('[name="title_senior"]', "40")
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=summary]")


def _report(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:8])
        more = len(violation["nodes"]) - 8
        lines.append(f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])} nodes): {targets}"
                     + (f" … and {more} more" if more > 0 else "") + f" — {violation['help']}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def axe():
    return Axe()


@pytest.mark.parametrize(("page_type", "role", "language"), CASES)
def test_no_serious_accessibility_violation(shared_site, axe, page_type, role, language):  # noqa: F811
    context = shared_site.context(role=role, language=language)
    try:
        page = context.new_page()
        _open(page, shared_site, page_type, role)
        assert page.locator("html").get_attribute("lang") == language
        results = axe.run(page)
        blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"{page_type} as {role or 'a visitor'} in {language}:\n{_report(blocking)}"
    finally:
        context.close()
