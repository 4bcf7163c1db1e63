"""The Content Security Policy in Chromium: the pages people use work under it, and none of them
trips it (no inline script, inline style, style attribute or on...= handler left anywhere)."""

import datetime as dt

import pytest
from django.templatetags.static import static

from reporting.models import ReturnStatus
from reporting.services.aggregation import edition_figures_compute
from reporting.spreadsheets.jobs import job_create, job_save
from tests import factories
from tests.factories import PASSWORD
from tests.reporting.entry_support import clean_values

# Collects what the browser refuses, before any script of the page runs.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " "
    + (event.sourceFile || "") + ":" + event.lineNumber + " " + (event.sample || ""));
});
window.print = function () { window.__printed = (window.__printed || 0) + 1; };
"""


class Visitor:
    """One person's browser, which fails the test on the first page that violates the policy."""

    def __init__(self, browser, live_server, user=None):
        self.live_server = live_server
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.console = []
        self.page.on("console", lambda message: self.console.append(message.text))
        if user is not None:
            self.visit("/accounts/login/")
            self.page.fill("input[name=username]", user.username)
            self.page.fill("input[name=password]", PASSWORD)
            self.page.locator("main form [type=submit]").click()
            self.page.wait_for_load_state()
            assert "/accounts/login/" not in self.page.url

    def visit(self, path: str):
        response = self.page.goto(self.live_server.url + path)
        assert response.status == 200, (path, response.status)
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy, (path, policy)
        self.page.wait_for_load_state("networkidle")
        self.assert_clean(path)
        return response

    def violations(self) -> list[str]:
        refused = self.page.evaluate("window.__cspViolations")
        return refused + [text for text in self.console if "Content Security Policy" in text]

    def assert_clean(self, where: str):
        assert self.violations() == [], where


@pytest.fixture
def visitor(browser, live_server):
    """Opens browsers as Visitor does, and closes them after the test: a page left open (the
    upload page polls its job) would go on calling the server during the next tests."""
    opened = []

    def open_browser(user=None):
        opened.append(Visitor(browser, live_server, user))
        return opened[-1]

    yield open_browser
    for each in opened:
        each.context.close()


@pytest.fixture
def survey(edition, settings, tmp_path):
    settings.SPREADSHEET_UPLOAD_DIR = str(tmp_path / "uploads")
    today = dt.date.today()
    edition.status, edition.opens_on, edition.closes_on = "open", today - dt.timedelta(days=5), today + dt.timedelta(days=20)
    edition.save()
    values = clean_values(edition)
    returns = {
        status: factories.survey_return(
            edition=edition, institution=factories.InstitutionFactory(code=code, province_id="11"),
            status=status, values=values,
        )
        for code, status in [("CSP1", ReturnStatus.DRAFT), ("CSP2", ReturnStatus.SUBMITTED),
                             ("CSP3", ReturnStatus.APPROVED)]
    }
    edition_figures_compute(edition_id=edition.pk)  # the report page has figures to show
    draft = returns[ReturnStatus.DRAFT]
    return {
        "edition": edition,
        "draft": draft,
        "submitted": returns[ReturnStatus.SUBMITTED],
        "reporter": factories.reporter(draft.institution, username="csp_reporter"),
        "liaison": factories.liaison("11", username="csp_liaison"),
        "admin": factories.society_admin(username="csp_admin", is_superuser=True),
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_work_under_the_content_security_policy(visitor, survey):
    # The detector itself: markup with a style attribute is refused and reported.
    anonymous = visitor()
    anonymous.visit("/accounts/login/")
    anonymous.page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    anonymous.page.wait_for_timeout(200)
    assert any("style-src" in violation for violation in anonymous.violations())

    # The reporter's data-entry page: its script runs (subtotals, conditional items).
    reporter = visitor(survey["reporter"])
    reporter.visit(f"/returns/{survey['draft'].pk}/")
    subtotal = reporter.page.locator("output[data-subtotal-for]").first
    group = subtotal.get_attribute("data-subtotal-for")
    first_part = reporter.page.locator(f'input[data-part-of="{group}"]:not([disabled])').first
    before = subtotal.inner_text()
    first_part.fill(str(int(first_part.input_value() or 0) + 1000))
    assert subtotal.inner_text() != before
    reporter.assert_clean("entry page after typing")

    # An upload being checked: the progress bar is drawn and follows the job from a script file.
    job = job_create(owner=survey["reporter"], edition=survey["edition"], institution=survey["draft"].institution,
                     approve=False, filename="big.xlsx", content=b"x", language="zh-hans",
                     return_id=survey["draft"].pk)
    job.phase, job.done, job.total = "check", 300, 1200
    job_save(job)
    reporter.visit(f"/spreadsheets/uploads/{job.id}/")
    bar = reporter.page.locator("#job-progress-bar")
    assert bar.evaluate("b => b.style.width") == "25%"
    job.done = 600
    job_save(job)
    reporter.page.wait_for_function("() => document.getElementById('job-progress-bar').style.width === '50%'")
    reporter.assert_clean("upload progress")

    # The liaison's review page.
    liaison = visitor(survey["liaison"])
    liaison.visit(f"/returns/{survey['submitted'].pk}/review/")

    # The society admin: completeness, the report (its Print button), the admin site.
    admin = visitor(survey["admin"])
    admin.visit("/completeness/")
    admin.visit("/report/2024/")
    admin.page.locator("[data-action=print]").click()
    assert admin.page.evaluate("window.__printed") == 1
    admin.assert_clean("report, printed")
    institution = survey["draft"].institution
    for path in [
        "/admin/",
        "/admin/institutions/institution/",
        f"/admin/institutions/institution/{institution.pk}/change/",
        f"/admin/auth/user/{survey['reporter'].pk}/change/",
        "/admin/reporting/edition/",
        "/admin/axes/accessattempt/",
        "/admin/institutions/institution/export/",
        "/admin/institutions/institution/import/",
    ]:
        admin.visit(path)
    # django-import-export's "Select all" box (an inline handler allowed by its hash) works.
    admin.visit("/admin/institutions/institution/export/")
    fields = admin.page.locator('.selectable-field-export-row input[type="checkbox"]')
    assert fields.count() > 1 and fields.first.is_checked()
    admin.page.locator("input.select-toggle").uncheck()
    assert not fields.first.is_checked()
    admin.assert_clean("export, select all")
    # The admin's JavaScript works: a list's "select all" box ticks every row (admin/js/actions.js).
    admin.visit("/admin/auth/user/")
    admin.page.locator("#action-toggle").check()
    rows = admin.page.locator("input.action-select")
    assert rows.count() >= 3 and all(rows.nth(n).is_checked() for n in range(rows.count()))
    admin.assert_clean("admin list, select all")

    # Chart.js (vendored) draws under the policy too: it styles its canvas through the CSSOM,
    # which the policy allows, and adds no <style> of its own.
    admin.visit("/report/2024/")
    admin.page.evaluate("""src => new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
    })""", static("vendor/chartjs/chart.umd.min.js"))
    admin.page.evaluate("""() => {
        const canvas = document.createElement("canvas");
        document.querySelector("main").appendChild(canvas);
        new Chart(canvas, {type: "bar", data: {labels: ["a", "b"], datasets: [{label: "n", data: [1, 2]}]},
                           options: {animation: false}});
    }""")
    admin.page.wait_for_timeout(300)
    assert admin.page.locator("main canvas").evaluate("c => c.style.height") != ""
    admin.assert_clean("Chart.js")
