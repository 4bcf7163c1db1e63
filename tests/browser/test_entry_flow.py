"""The whole data-entry flow in Chromium: enter, save, fix, explain, submit, send back, resubmit,
review, approve. Takes the screenshots of the data-entry page and the completeness page."""

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest

from reporting.models import ReturnStatus, SurveyReturn
from tests import factories
from tests.factories import PASSWORD
from tests.reporting.entry_support import clean_values

# The README's screenshots are refreshed on request (SURVEYSITE_SCREENSHOTS=1); otherwise they
# go to a scratch folder so that running the tests leaves the work tree as it was.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("SURVEYSITE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "surveysite-screenshots"
)


def log_in(browser, live_server, user):
    """A fresh browser session in Chinese (the default language of the site)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form [type=submit]").last.click()
    page.wait_for_load_state()
    return page


def fill(page, values: dict) -> None:
    for code, value in values.items():
        if isinstance(value, bool):
            page.check(f'input[name="{code}"][value="{"yes" if value else "no"}"]')
        elif page.locator(f'select[name="{code}"]').count():
            page.select_option(f'select[name="{code}"]', str(value))
        else:
            page.fill(f'[name="{code}"]', str(value))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_reporter_liaison_admin_flow(live_server, browser, edition):
    today = dt.date.today()
    edition.status, edition.opens_on, edition.closes_on = "open", today - dt.timedelta(days=5), today + dt.timedelta(days=20)
    edition.save()
    institution = factories.InstitutionFactory(code="BJ0001", name="北京协和医院核医学科（示例）", province_id="11")
    reporter = factories.reporter(institution, username="reporter_bj")
    liaison = factories.liaison("11", username="liaison_bj")
    admin = factories.society_admin(username="society_admin")
    # Others, so the completeness page has something to show.
    for code, province, status in [("BJ0002", "11", "draft"), ("BJ0003", "11", None), ("SH0001", "31", "approved"),
                                   ("SH0002", "31", "submitted"), ("GD0001", "44", "sent_back"), ("GD0002", "44", None)]:
        other = factories.InstitutionFactory(code=code, province_id=province)
        if status:
            factories.survey_return(edition=edition, institution=other, status=status)

    # The reporter starts the return and saves part of it as a draft.
    page = log_in(browser, live_server, reporter)
    page.click("[data-testid=start-return]")
    page.wait_for_selector("#return-form")
    assert "人员队伍" in page.inner_text("[data-testid=section-nav]")
    fill(page, {"staff_physician": 4, "staff_nurse": 2, "title_senior": 5})
    assert page.inner_text('output[data-subtotal-for="staff"]') == "6"  # live subtotal
    # An item that does not apply is disabled as the reporter answers.
    fill(page, {"svc_in_vitro": False})
    assert page.locator('[name="iv_samples"]').is_disabled()
    fill(page, {"svc_in_vitro": True})
    assert page.locator('[name="iv_samples"]').is_enabled()
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=summary]")
    summary = page.inner_text("[data-testid=summary]")
    assert "职称合计（5）必须等于人员合计（6）" in summary
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "entry-zh.png"))
    # The personnel section: errors next to the fields, units beside inputs, live subtotals.
    # (Bootstrap scrolls smoothly; jump instead so the screenshot shows the section.)
    page.evaluate("document.getElementById('section-personnel').scrollIntoView({behavior: 'instant'})")
    page.screenshot(path=str(SCREENSHOTS / "entry-zh-personnel.png"))

    # The reporter completes the return (fixing the sum) with one warning, then submits.
    values = {**clean_values(edition), "pmr_exam_tumor": 12}
    fill(page, values)
    page.click("[data-testid=submit]")
    page.wait_for_selector('[data-rule="pmr_exams_without_unit"]')
    assert "personnel_title_sum" not in page.content()
    page.fill('textarea[name="explain__pmr_exams_without_unit"]', "在合作医院的PET/MR上检查")
    page.click("[data-testid=submit]")
    page.wait_for_load_state()
    survey_return = SurveyReturn.objects.get(institution=institution, edition=edition)
    assert survey_return.status == ReturnStatus.SUBMITTED
    assert page.locator("[data-testid=read-only]").count() == 1

    # The liaison sends it back with a comment on the return and one on an item.
    liaison_page = log_in(browser, live_server, liaison)
    liaison_page.goto(f"{live_server.url}/returns/{survey_return.pk}/review/")
    assert "在合作医院的PET/MR上检查" in liaison_page.inner_text("[data-testid=warning-explanations]")
    liaison_page.fill('input[name="item_comment__staff_nurse"]', "护士人数请核对")
    liaison_page.fill('textarea[name="send_back-comment"]', "请核对人员数据后重新提交")
    liaison_page.click("[data-testid=send-back]")
    liaison_page.wait_for_load_state()
    survey_return.refresh_from_db()
    assert survey_return.status == ReturnStatus.SENT_BACK

    # The reporter sees the comments, fixes the numbers and resubmits.
    page.goto(f"{live_server.url}/returns/{survey_return.pk}/")
    assert "请核对人员数据后重新提交" in page.inner_text("[data-testid=review-comments]")
    assert "护士人数请核对" in page.inner_text("#div_id_staff_nurse")
    fill(page, {"staff_nurse": 3, "title_junior": 4, "edu_undergraduate": 7})
    page.click("[data-testid=submit]")
    page.wait_for_load_state()
    survey_return.refresh_from_db()
    assert survey_return.status == ReturnStatus.SUBMITTED

    # The liaison sees what changed since sending it back, and marks it reviewed.
    liaison_page.goto(f"{live_server.url}/returns/{survey_return.pk}/review/")
    changes = liaison_page.inner_text("[data-testid=changes-since]")
    assert "人员：护士（人）: 2 → 3" in changes  # by its label; the code is in the tooltip
    liaison_page.click("[data-testid=mark-reviewed]")
    liaison_page.wait_for_load_state()
    survey_return.refresh_from_db()
    assert survey_return.status == ReturnStatus.REVIEWED

    # The society admin approves; the return is read-only for the reporter from now on.
    admin_page = log_in(browser, live_server, admin)
    admin_page.goto(f"{live_server.url}/returns/{survey_return.pk}/review/")
    admin_page.click("[data-testid=approve]")
    admin_page.wait_for_load_state()
    survey_return.refresh_from_db()
    assert survey_return.status == ReturnStatus.APPROVED
    page.goto(f"{live_server.url}/returns/{survey_return.pk}/")
    assert page.locator("[data-testid=read-only]").count() == 1
    assert page.locator("[data-testid=save]").count() == 0

    admin_page.goto(f"{live_server.url}/completeness/")
    table = admin_page.inner_text("[data-testid=completeness-provinces]")
    assert "北京市" in table and "广东省" in table
    admin_page.screenshot(path=str(SCREENSHOTS / "completeness.png"), full_page=True)
