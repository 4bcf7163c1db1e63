"""The demo's first steps in Chromium, straight after `load_demo` and `create_demo_accounts` (what
`make run` does): the reporter completes and submits the draft, the liaison reviews a submitted
return of the province, the admin approves a reviewed one."""

import io

import pytest
from django.core.management import call_command

from institutions.services import DEMO_PASSWORD
from reporting.demo.open_edition import OPEN_EDITION_YEAR, REPORTER_INSTITUTION_CODE
from reporting.models import ReturnStatus, SurveyReturn, WarningConfirmation

LIAISON_PROVINCE = "11"


def log_in(browser, live_server, username):
    """A fresh browser session in Chinese (the default language of the site)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form [type=submit]").last.click()
    page.wait_for_load_state()
    return page


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_role_can_act_right_after_load_demo(live_server, browser, edition):
    call_command("load_demo", stdout=io.StringIO())
    call_command("create_demo_accounts", stdout=io.StringIO())
    returns = SurveyReturn.objects.filter(edition__year=OPEN_EDITION_YEAR)

    # The reporter continues the draft: the last two sections, the explanation the previous
    # edition's change calls for, and submits.
    page = log_in(browser, live_server, "reporter")
    assert page.locator("[data-testid=edition-status]").get_attribute("data-status") == "open"
    page.click("[data-testid=open-return]")
    page.wait_for_selector("#return-form")
    for code, value in {"sup_doctoral": "0", "sup_masters": "1", "stu_doctoral": "0", "stu_masters": "3"}.items():
        page.fill(f'[name="{code}"]', value)
    page.check('input[name="op_lack_specialists"][value="yes"]')
    page.check('input[name="op_regional_economy"][value="no"]')
    explanations = page.locator('textarea[name^="explain__change_since_previous"]')
    assert explanations.count() == 1  # the value that grew by 80 % since 2024
    for index in range(page.locator('textarea[name^="explain__"]').count()):
        page.locator('textarea[name^="explain__"]').nth(index).fill("新病房投入使用，治疗量增加。")
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-testid=read-only]")
    mine = returns.get(institution__code=REPORTER_INSTITUTION_CODE)
    assert mine.status == ReturnStatus.SUBMITTED

    # The liaison goes from the home page to the returns waiting for review, opens one whose
    # reporter explained a large change, and marks it reviewed; the sent-back one is listed too.
    liaison = log_in(browser, live_server, "liaison")
    liaison.click("[data-testid=awaiting-review]")
    liaison.wait_for_selector("[data-testid=return-list]")
    assert "状态: 已提交" in liaison.inner_text("[data-testid=active-filters]")
    explained = (
        WarningConfirmation.objects.filter(
            survey_return__edition__year=OPEN_EDITION_YEAR, survey_return__status=ReturnStatus.SUBMITTED,
            survey_return__institution__province_id=LIAISON_PROVINCE, rule_code__startswith="change_since_previous:",
        ).exclude(survey_return=mine).values_list("survey_return_id", flat=True).first()
    )
    liaison.click(f'a[href="/returns/{explained}/review/"]')
    assert "较上一届普查变化超过50%" in liaison.inner_text("[data-testid=warning-explanations]")
    liaison.click("[data-testid=mark-reviewed]")
    liaison.wait_for_load_state()
    assert SurveyReturn.objects.get(pk=explained).status == ReturnStatus.REVIEWED
    liaison.goto(f"{live_server.url}/returns/?status=sent_back")
    assert liaison.locator("[data-testid=return-list] tbody tr").count() == 1

    # The admin approves a reviewed return.
    admin = log_in(browser, live_server, "admin")
    admin.click("[data-testid=awaiting-approval]")
    admin.wait_for_selector("[data-testid=return-list]")
    first_review = admin.locator('[data-testid=return-list] a[href$="/review/"]').first
    review_url = first_review.get_attribute("href")
    first_review.click()
    admin.click("[data-testid=approve]")
    admin.wait_for_load_state()
    approved = SurveyReturn.objects.get(pk=int(review_url.strip("/").split("/")[1]))
    assert approved.status == ReturnStatus.APPROVED
    # The home page and the report menu open the 2024 report.
    admin.goto(f"{live_server.url}/")
    admin.click("[data-testid=report-link]")
    admin.wait_for_load_state()
    assert admin.url.endswith("/report/2024/")
