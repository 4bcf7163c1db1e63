"""Small screens and the keyboard: no page scrolls sideways at 375 px, the section menu works on a
phone, the progress follows the typing, and a return can be filled and saved with the keyboard
alone (the focused field never hidden under the save bar)."""

from __future__ import annotations

import re

import pytest

from reporting.models import Answer
from tests.browser.shared_site import LANGUAGES, shared_site  # noqa: F401 - the module fixture
from tests.browser.test_entry_flow import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = 375

# The elements that stick out of the page on the right, for the failure message.
OVERFLOWING = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
               && !e.closest('.table-responsive') && e.offsetParent !== null)
  .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                        (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : ''))"""

# What the keyboard user sees of the focused element: which it is, whether the save bar (or the
# top of the window) hides it, and whether it shows a focus indicator.
FOCUS = """() => {
  const e = document.activeElement;
  const box = e.getBoundingClientRect();
  const bar = document.getElementById('entry-actions');
  const style = getComputedStyle(e);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
  return {
    name: e.getAttribute('name'), testid: e.dataset.testid || null, text: (e.textContent || '').trim(),
    href: e.getAttribute('href'), inForm: !!e.closest('#return-form'), inBar: !!(bar && bar.contains(e)),
    hidden: !!bar && !bar.contains(e) && e.closest('#return-form') !== null &&
            (box.bottom > bar.getBoundingClientRect().top + 1 || box.top < -1),
    ring: ring, box: [box.top, box.bottom], bar: bar ? [bar.getBoundingClientRect().top, bar.getBoundingClientRect().bottom] : null,
    scroll: window.scrollY,
  };
}"""


def _phone_page(site, role, language):
    context = site.context(role=role, language=language, width=PHONE, height=740)
    return context, context.new_page()


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize(("page_type", "role"), [
    ("form", "reporter"), ("form-errors", "admin"), ("review", "liaison"), ("completeness", "admin"),
    ("report", "reporter"),
])
def test_pages_fit_a_phone_without_scrolling_sideways(shared_site, page_type, role, language):  # noqa: F811
    paths = {
        "form": f"/returns/{shared_site.returns['own'].pk}/",
        "form-errors": f"/returns/{shared_site.returns['faulty'].pk}/",
        "review": f"/returns/{shared_site.returns['submitted'].pk}/review/",
        "completeness": "/completeness/",
        "report": f"/report/{shared_site.edition.year}/",
    }
    context, page = _phone_page(shared_site, role, language)
    try:
        assert page.goto(shared_site.url + paths[page_type]).ok
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE, f"{page_type} is {width}px wide at {PHONE}px: {page.evaluate(OVERFLOWING)}"
        # Wide tables scroll inside a region the keyboard can reach and a screen reader names.
        for region in page.locator(".table-responsive").all():
            assert region.get_attribute("tabindex") == "0" and region.get_attribute("role") == "region"
            assert region.get_attribute("aria-label")
    finally:
        context.close()


def test_the_section_menu_on_a_phone(shared_site):  # noqa: F811
    context, page = _phone_page(shared_site, "reporter", "zh-hans")
    try:
        page.goto(f"{shared_site.url}/returns/{shared_site.returns['own'].pk}/")
        menu = page.locator("details.entry-nav")
        assert menu.get_attribute("open") is None  # folded away, its summary showing the progress
        summary = page.locator(".entry-nav-summary")
        assert "已答" in summary.inner_text()
        summary.click()
        assert menu.get_attribute("open") is not None
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "entry-phone-zh.png"))
        page.locator("[data-progress-section=personnel]").click()
        page.wait_for_function("location.hash === '#section-personnel'")
        page.wait_for_function("!document.querySelector('details.entry-nav').open")
        # The section's heading is in view below the sticky menu, not under it.
        page.wait_for_function("""() => {
          const heading = document.querySelector('#section-personnel .section-title').getBoundingClientRect();
          const menu = document.querySelector('nav.entry-sections').getBoundingClientRect();
          return heading.top >= menu.bottom - 1 && heading.bottom < window.innerHeight;
        }""", timeout=3000)
        # The menu stays at the top of the screen as the person scrolls down.
        assert page.evaluate("document.querySelector('nav.entry-sections').getBoundingClientRect().top") == 0
    finally:
        context.close()


def test_progress_follows_the_typing(shared_site):  # noqa: F811
    context = shared_site.context(role="admin", language="en")
    try:
        page = context.new_page()
        page.goto(f"{shared_site.url}/returns/{shared_site.returns['faulty'].pk}/")

        def counts(section):
            link = page.locator(f"[data-progress-section={section}]")
            return int(link.locator("[data-answered]").inner_text()), int(link.locator("[data-asked]").inner_text())

        def overall():
            box = page.locator("[data-testid=progress]")
            return int(box.locator("[data-answered]").inner_text()), int(box.locator("[data-asked]").inner_text())

        # The script's count on opening agrees with the server's.
        served = re.search(r'data-progress-section="in_vitro">(.*?)</a>', page.request.get(page.url).text(), re.S)
        done, asked = counts("in_vitro")
        assert f"<span data-answered>{done}</span>/<span data-asked>{asked}</span>" in served.group(1)
        assert done == asked > 0
        total_done, total_asked = overall()
        assert page.locator("progress.entry-progress-bar").evaluate("p => [p.value, p.max]") == [total_done, total_asked]
        # The personnel section shows its error in words.
        assert "error" in page.locator("[data-progress-section=personnel]").inner_text()

        page.fill('[name="iv_samples"]', "")
        assert counts("in_vitro") == (done - 1, asked)
        assert overall() == (total_done - 1, total_asked)
        # No in vitro analysis: its items no longer apply, so they are no longer asked.
        page.check('input[name="svc_in_vitro"][value="no"]')
        assert counts("in_vitro")[1] < asked
        assert overall()[1] < total_asked
        page.check('input[name="svc_in_vitro"][value="yes"]')
        assert counts("in_vitro") == (done - 1, asked)
    finally:
        context.close()


def _tab_until(page, found, *, key="Tab", limit=300) -> list[dict]:
    """Press `key` until `found(focus)`; every step's focus, checked as a keyboard user sees it."""
    steps = []
    for _ in range(limit):
        page.keyboard.press(key)
        focus = page.evaluate(FOCUS)
        steps.append(focus)
        assert not focus["hidden"], f"the focused {focus['name'] or focus['text']!r} is hidden under the save bar: {focus}, before: {steps[-2:]}"
        assert focus["ring"], f"the focused {focus['name'] or focus['text'] or focus['href']!r} shows no focus"
        if found(focus):
            return steps
    raise AssertionError(f"{key} {limit} times did not get there; last focus: {steps[-1]}")


def _answer(survey_return, code):
    answer = Answer.objects.get(survey_return=survey_return, item__code=code)
    return answer.int_value


def test_a_return_is_filled_and_saved_with_the_keyboard_alone(shared_site):  # noqa: F811
    own = shared_site.returns["own"]
    # Reduced motion: the browser then brings a focused field into view at once instead of
    # scrolling smoothly (Bootstrap's default), so each step can be checked right away.
    context = shared_site.context(role="reporter", language="zh-hans", height=800, reduced_motion="reduce")
    try:
        page = context.new_page()
        page.goto(f"{shared_site.url}/returns/{own.pk}/")
        # From the top of the page: the skip link first, the form's fields in their order.
        steps = _tab_until(page, lambda f: f["name"] == "edu_undergraduate")
        assert steps[0]["href"] == "#main"
        names = [s["name"] for s in steps if s["inForm"] and s["name"]]
        order = page.evaluate("Array.from(document.querySelectorAll('#return-form [name]')).map(e => e.name)")
        assert names == sorted(set(names), key=order.index), "the tab order does not follow the form"
        assert len(set(names)) > 60  # every section was crossed, none skipped
        page.keyboard.press("Control+A")
        page.keyboard.type("8")
        _tab_until(page, lambda f: f["testid"] == "save", limit=60)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "草稿已保存" in page.inner_text("main")
        assert _answer(own, "edu_undergraduate") == 8

        # Back up to the section list's link to the save bar, then save from there.
        page.locator('[name="staff_technician"]').focus()
        page.keyboard.press("Control+A")
        page.keyboard.type("5")
        _tab_until(page, lambda f: f["href"] == "#entry-actions", key="Shift+Tab", limit=120)
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS)["testid"] == "save"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert _answer(own, "staff_technician") == 5

        # Ctrl+S saves a draft from the field being typed in.
        page.locator('[name="staff_nurse"]').focus()
        page.keyboard.press("Control+A")
        page.keyboard.type("4")
        with page.expect_navigation():
            page.keyboard.press("Control+s")
        assert "草稿已保存" in page.inner_text("main")
        assert _answer(own, "staff_nurse") == 4
    finally:
        context.close()
