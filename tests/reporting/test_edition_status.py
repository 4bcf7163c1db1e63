"""The status shown for an edition never contradicts its dates; which edition is current."""

import datetime as dt

import pytest
from django.utils import timezone, translation

from reporting.models import Edition, EditionStatus, Indicator, Item, Section
from reporting.selectors import edition_current, edition_for_report
from tests import factories

TODAY = timezone.localdate()
DAY = dt.timedelta(days=1)


def _edition(status, opens_on=None, closes_on=None) -> Edition:
    return Edition(year=2030, data_year=2029, title_en="t", title_zh="t", status=status,
                   opens_on=opens_on, closes_on=closes_on)


@pytest.mark.sqlite
@pytest.mark.parametrize("status, opens_on, closes_on, code, label", [
    ("open", TODAY - 5 * DAY, TODAY + 5 * DAY, "open", "Open for entry until"),
    ("open", TODAY - 5 * DAY, TODAY, "open", "Open for entry until"),  # the closing day is still open
    ("open", None, None, "open", "Open for entry"),
    ("open", TODAY - 5 * DAY, TODAY - DAY, "closed", "Closed for entry (the deadline was"),
    ("open", TODAY + DAY, TODAY + 9 * DAY, "scheduled", "Opens for entry on"),
    ("closed", TODAY - 5 * DAY, TODAY + 5 * DAY, "closed", "Closed for entry"),
    ("closed", TODAY - 9 * DAY, TODAY - 5 * DAY, "closed", "Closed for entry (the deadline was"),
    ("published", TODAY - 9 * DAY, TODAY + 5 * DAY, "published", "Published"),
    ("draft", TODAY - 9 * DAY, TODAY + 5 * DAY, "draft", "In preparation"),
])
def test_the_status_shown_follows_the_dates(status, opens_on, closes_on, code, label):
    shown = _edition(status, opens_on, closes_on).status_shown
    assert shown.code == code
    assert shown.label.startswith(label)
    assert shown.entry_open == (code == "open")
    assert shown.entry_open == _edition(status, opens_on, closes_on).entry_open_on(TODAY)


@pytest.mark.sqlite
def test_the_status_shown_names_the_date_in_the_active_language():
    edition = _edition("open", dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert edition.status_shown.label == "Closed for entry (the deadline was Jan. 31, 2024)"
    with translation.override("zh-hans"):
        assert edition.status_shown.label == "填报已截止（截止日期：2024年1月31日）"


def _with_questionnaire(edition: Edition) -> Edition:
    edition.save()
    section = Section.objects.create(edition=edition, code="s", position=1, title_en="s", title_zh="s")
    Item.objects.create(edition=edition, section=section, code="x", position=1, type="integer", label_en="x", label_zh="x")
    return edition


def test_the_2024_edition_past_its_dates_is_not_shown_as_open(client, edition):
    assert edition.status == EditionStatus.OPEN and edition.closes_on < TODAY  # as the definition file loads it
    client.force_login(factories.society_admin())
    html = client.get("/").content.decode()
    assert 'data-status="closed"' in html and "填报已截止（截止日期：2024年1月31日）" in html
    assert "状态：开放" not in html
    html = client.get(f"/editions/{edition.year}/").content.decode()
    assert 'data-status="closed"' in html


def test_current_edition_is_the_one_open_today_else_the_newest_opened(edition):
    assert edition_current() == edition
    # A newer edition in preparation does not take over ...
    later = _with_questionnaire(Edition(year=2029, data_year=2028, title_en="t", title_zh="t", status="draft", previous=edition))
    assert edition_current() == edition
    # ... until it opens; the report stays on the last finished edition meanwhile.
    later.status, later.opens_on, later.closes_on = "open", TODAY - DAY, TODAY + DAY
    later.save()
    assert edition_current() == later
    assert edition_for_report() == edition
    # An older edition reopened for entry today is what people work on.
    edition.opens_on, edition.closes_on = TODAY - DAY, TODAY + DAY
    edition.save()
    later.closes_on = TODAY - DAY
    later.opens_on = TODAY - 2 * DAY
    later.save()
    assert edition_current() == edition


def test_report_menu_opens_the_finished_edition_not_the_one_collecting(client, edition):
    later = _with_questionnaire(Edition(year=2029, data_year=2028, title_en="t", title_zh="t", status="open",
                                        opens_on=TODAY - DAY, closes_on=TODAY + DAY, previous=edition))
    Indicator.objects.create(edition=later, key="n", position=1, format="int", definition="N")
    client.force_login(factories.society_admin())
    assert client.get("/report/")["Location"] == "/report/2024/"
    later.status = "published"
    later.save()
    assert client.get("/report/")["Location"] == "/report/2029/"


def test_the_admin_edition_list_shows_the_same_status(client, edition):
    client.force_login(factories.society_admin())
    html = client.get("/admin/reporting/edition/").content.decode()
    assert "填报已截止（截止日期：2024年1月31日）" in html
