"""The progress in the data-entry page's section navigation: answers counted per section over the
items that apply, and the sections that hold errors and warnings."""

import re

import pytest
from django.conf import settings
from django.test import Client

from reporting.forms.entry import ReturnForm
from reporting.models import Item, ItemType
from reporting.rules.engine import questionnaire_compiled, return_values_check
from tests.reporting import entry_support
from tests.reporting.entry_support import clean_values, form_data

open_edition, world = entry_support.open_edition, entry_support.world


def _progress(edition, values=None, data=None):
    questionnaire = questionnaire_compiled(edition)
    if data is not None:
        form = ReturnForm(data, questionnaire=questionnaire)
        form.is_valid()
        values = {c: v for c, v in form.sent_values.items() if v is not None}
    else:
        form = ReturnForm(questionnaire=questionnaire, values=values, initial={"version": 1})
    form.attach_findings(return_values_check(edition=edition, values=values or {}, for_submission=False))
    progress = form.progress()
    return progress, {section.code: section for section in progress.sections}


def _asked_without_condition(edition, section=None):
    """Items a submission needs (not free text) that apply whatever the other answers are."""
    items = Item.objects.filter(edition=edition, applies_if__isnull=True).exclude(type=ItemType.TEXT)
    if section:
        items = items.filter(section__code=section)
    return items.count()


@pytest.mark.django_db
def test_an_empty_return_asks_the_unconditional_items_and_has_nothing_answered(edition):
    progress, sections = _progress(edition)
    assert progress.asked == _asked_without_condition(edition) > 0
    assert progress.answered == 0 and progress.errors == 0 and progress.warnings == 0
    assert [s.code for s in progress.sections] == [s.code for s in questionnaire_compiled(edition).sections]
    assert sections["personnel"].asked == _asked_without_condition(edition, "personnel")
    assert not sections["personnel"].complete


@pytest.mark.django_db
def test_items_count_once_their_condition_is_yes(edition):
    in_vitro_items = Item.objects.filter(edition=edition, section__code="in_vitro").exclude(type=ItemType.TEXT)
    _, sections = _progress(edition, {"svc_in_vitro": False})
    assert sections["in_vitro"].asked == _asked_without_condition(edition, "in_vitro")
    assert sections["services"].answered == 1  # "no" is an answer

    _, sections = _progress(edition, {"svc_in_vitro": True, "iv_samples": 10, "iv_internal_qc": False})
    assert sections["in_vitro"].asked == in_vitro_items.count()
    assert sections["in_vitro"].answered == 2


@pytest.mark.django_db
def test_a_complete_clean_return_is_complete_everywhere(edition):
    progress, sections = _progress(edition, clean_values(edition))
    assert progress.answered == progress.asked
    assert all(section.complete for section in progress.sections)
    assert progress.errors == progress.warnings == 0


@pytest.mark.django_db
def test_findings_count_in_the_section_of_their_first_field(edition):
    # Titles no longer add up to the staff (an error by the first title item, in personnel);
    # PET/MR examinations without a PET/MR unit (a warning by eq_pet_mr, in equipment).
    values = {**clean_values(edition), "title_senior": 9, "pmr_exam_tumor": 12}
    progress, sections = _progress(edition, values)
    assert (sections["personnel"].errors, sections["personnel"].warnings) == (1, 0)
    assert (sections["equipment"].errors, sections["equipment"].warnings) == (0, 1)
    assert (progress.errors, progress.warnings) == (1, 1)
    assert progress.answered == progress.asked  # answered, though not right


@pytest.mark.django_db
def test_a_value_that_cannot_be_read_is_an_error_of_its_section(edition):
    data = form_data({**clean_values(edition)}, version=1)
    data["staff_nurse"] = "四"
    progress, sections = _progress(edition, data=data)
    assert sections["personnel"].errors >= 1
    assert all(s.errors == 0 for code, s in sections.items() if code != "personnel")


@pytest.mark.django_db
def test_the_page_shows_the_counts_in_the_section_navigation(world):
    client = Client()
    client.force_login(world["reporter"])
    client.post(f"/returns/{world['return'].pk}/",
                form_data({"staff_physician": 4, "staff_nurse": 2, "title_senior": 5}, version=1))
    html = client.get(f"/returns/{world['return'].pk}/").content.decode()
    personnel = re.search(r'data-progress-section="personnel">(.*?)</a>', html, re.S).group(1)
    asked = _asked_without_condition(world["edition"], "personnel")
    assert f"<span data-answered>3</span>/<span data-asked>{asked}</span>" in personnel
    assert "2 个错误" in personnel  # the titles and the education do not add up; text, not only colour
    assert f'<progress class="entry-progress-bar" max="{_asked_without_condition(world["edition"])}" value="3"' in html
    assert "已答 <span data-answered>3</span>" in html

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(f"/returns/{world['return'].pk}/").content.decode()
    assert "2 errors</span>" in html and "questions answered" in html
