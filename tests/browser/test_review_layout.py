"""The review page keeps the items and their comment fields readable while scrolling.

The send-back box used to be a sticky card at the bottom of the item table: about a quarter
of a 900 px window, over the items. Now, from 992 px, the decision and the send-back comment
sit in a side column that follows the scroll; below that, a one-line bar leads to them.
"""

import datetime as dt

import pytest

from reporting.services import returns as services
from tests import factories
from tests.browser.test_entry_flow import SCREENSHOTS, log_in
from tests.reporting.entry_support import clean_values

# Whether the element at the centre of `selector` is that element (or inside it): nothing covers it.
UNCOVERED = """(selector) => {
  const element = document.querySelector(selector);
  const box = element.getBoundingClientRect();
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return element === top || element.contains(top);
}"""


@pytest.fixture
def submitted(edition):
    today = dt.date.today()
    edition.status, edition.opens_on, edition.closes_on = "open", today - dt.timedelta(days=5), today + dt.timedelta(days=5)
    edition.save()
    institution = factories.InstitutionFactory(code="RV0001", name="审核布局测试医院", province_id="11")
    reporter = factories.reporter(institution)
    survey_return = factories.survey_return(edition=edition, institution=institution)
    services.return_values_save(survey_return=survey_return, values=clean_values(edition), actor=reporter,
                                expected_version=1)
    services.return_submit(survey_return=survey_return, actor=reporter)
    return survey_return


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_items_stay_readable_beside_the_decision(live_server, browser, submitted):
    page = log_in(browser, live_server, factories.liaison("11", username="liaison_layout"))
    page.goto(f"{live_server.url}/returns/{submitted.pk}/review/")
    table = page.locator("#review-form")
    side = page.locator("[data-testid=review-side]")
    assert page.locator("[data-testid=review-jump]").is_hidden()  # wide screen: no bottom bar
    # Scrolled to the middle of the items, the decision is still in view, beside them.
    page.locator('[name="item_comment__staff_nurse"]').scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, 200)")
    table_box, side_box = table.bounding_box(), side.bounding_box()
    assert side_box["x"] >= table_box["x"] + table_box["width"]  # beside, not over
    assert page.locator("[data-testid=send-back]").is_visible()
    assert 0 <= page.locator("[data-testid=send-back]").bounding_box()["y"] < 900
    # Every comment field in the window can be read and clicked: nothing lies over it.
    names = page.eval_on_selector_all(
        "#review-form input[name^=item_comment__]",
        "inputs => inputs.filter(i => { const b = i.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight; })"
        ".map(i => i.name)")
    assert len(names) > 10
    for name in names:
        assert page.evaluate(UNCOVERED, f'[name="{name}"]'), name
    page.screenshot(path=str(SCREENSHOTS / "review-wide.png"))
    # The general comment and the button in the side column send the item comments with them.
    page.fill('[name="item_comment__staff_nurse"]', "护士人数请核对")
    page.fill('textarea[name="send_back-comment"]', "请核对人员")
    page.click("[data-testid=send-back]")
    page.wait_for_load_state()
    submitted.refresh_from_db()
    assert submitted.status == "sent_back"
    assert submitted.review_comments.filter(item__code="staff_nurse", body="护士人数请核对").exists()
    page.context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_a_one_line_bar_leads_to_the_decision(live_server, browser, submitted):
    page = log_in(browser, live_server, factories.liaison("11", username="liaison_phone"))
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/returns/{submitted.pk}/review/")
    page.locator('[name="item_comment__staff_nurse"]').scroll_into_view_if_needed()
    bar = page.locator("[data-testid=review-jump]")
    assert bar.is_visible() and bar.bounding_box()["height"] < 60  # one line, not a quarter of the screen
    # A field reached with the keyboard is scrolled clear of the bar.
    page.focus('[name="item_comment__staff_nurse"]')
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.name")
    assert page.evaluate(UNCOVERED, f'[name="{focused}"]'), focused
    page.screenshot(path=str(SCREENSHOTS / "review-phone.png"))
    bar.get_by_role("link").click()
    assert page.locator("[data-testid=send-back]").is_visible()
    page.context.close()
