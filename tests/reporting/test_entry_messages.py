"""The data-entry form's messages (issue 10, part 2): order, unreadable values, own saves, read-only."""

import re

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from reporting.forms.entry import ReturnForm, findings_in_reading_order
from reporting.models import ReturnStatus, SurveyReturn, WarningConfirmation
from reporting.rules.engine import (
    ERROR,
    WARNING,
    RuleFinding,
    questionnaire_compiled,
    return_values_check,
)
from reporting.services import returns as services
from tests.reporting import entry_support
from tests.reporting.entry_support import answers_store, clean_values, form_data

open_edition, world = entry_support.open_edition, entry_support.world


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def url(world):
    return f"/returns/{world['return'].pk}/"


# --- blocking errors first, then the warnings that need explaining ----------------------------


def test_reading_order_puts_errors_before_warnings_and_keeps_the_rules_order():
    w1 = RuleFinding("w1", WARNING, ("a",), "w1")
    e1 = RuleFinding("e1", ERROR, ("a",), "e1")
    w2 = RuleFinding("w2", WARNING, ("b",), "w2")
    e2 = RuleFinding("e2", ERROR, ("b",), "e2")
    assert findings_in_reading_order([w1, e1, w2, e2]) == [e1, e2, w1, w2]
    assert findings_in_reading_order([]) == []


def test_next_to_a_field_the_error_comes_before_the_warning(edition):
    form = ReturnForm(questionnaire=questionnaire_compiled(edition), values={})
    form.attach_findings([
        RuleFinding("w", WARNING, ("eq_pet_ct",), "a warning"),
        RuleFinding("e", ERROR, ("eq_pet_ct",), "an error"),
    ])
    help_text = str(form.fields["eq_pet_ct"].help_text)
    assert help_text.index("an error") < help_text.index("a warning")


def test_refused_submission_lists_errors_then_warnings(world):
    client = client_for(world["reporter"])
    # pmr exams without a PET/MR unit: a warning; one item left unanswered: an error.
    values = {**clean_values(world["edition"]), "pmr_exam_tumor": 12, "eq_thyroid_analyzer": None}
    response = client.post(url(world), form_data(values, version=1, action="submit"))
    assert response.status_code == 400
    # By level: the tags are Bootstrap's (settings.MESSAGE_TAGS: an error is "danger error").
    notes = [(m.level, str(m)) for m in get_messages(response.wsgi_request)]
    assert notes == [
        (messages.ERROR, "Your changes were saved, but the return was not submitted: see the problems below."),
        (messages.WARNING, "Explain each warning before submitting."),
    ]
    html = response.content.decode()
    summary = html[html.index('data-testid="summary"'):]
    assert summary.index('data-rule="required:eq_thyroid_analyzer"') < summary.index('data-rule="pmr_exams_without_unit"')
    # The page's message area shows them in the same order.
    assert html.index("was not submitted") < html.index("Explain each warning")


# --- a value that cannot be read does not produce follow-on errors ---------------------------


def test_rules_reading_an_unreadable_value_are_not_evaluated(world):
    client = client_for(world["reporter"])
    data = {"version": "1", "action": "save", "staff_physician": "四", "staff_nurse": "2",
            "title_senior": "6", "edu_postgraduate": "6", "eq_pet_ct": "2"}
    response = client.post(url(world), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="四"' in html and "is not a whole number" in html
    # Counted as 0, the staff total would be 2 and both personnel sums would "fail".
    assert 'data-rule="personnel_title_sum"' not in html and 'data-rule="personnel_edu_sum"' not in html
    assert 'data-testid="rules-skipped"' in html
    # Rules that do not read it still run: two PET/CT units and no holding department.
    assert 'data-rule="equipment_holder_sum"' in html
    assert not world["return"].answers.exists()


def test_engine_skips_rules_and_conditions_that_read_an_unreadable_item(edition):
    values = {"staff_nurse": 2, "title_senior": 6, "edu_postgraduate": 6, "iv_samples": 5}
    everything = {f.rule_code for f in return_values_check(edition=edition, values=values, for_submission=False)}
    assert {"personnel_title_sum", "personnel_edu_sum", "applies_if:iv_samples"} <= everything
    skipped = {f.rule_code for f in return_values_check(
        edition=edition, values=values, for_submission=True, unreadable={"staff_physician", "svc_in_vitro"},
    )}
    assert not {"personnel_title_sum", "personnel_edu_sum", "applies_if:iv_samples"} & skipped
    assert "required:staff_physician" not in skipped and "required:iv_samples" not in skipped
    assert "required:eq_pet_ct" in skipped  # the rest is still checked


# --- a conflict with one's own save --------------------------------------------------------


def test_own_save_in_another_tab_is_not_blamed_on_someone_else(world):
    tab_a, tab_b = client_for(world["reporter"]), client_for(world["reporter"])
    assert tab_a.post(url(world), form_data({"staff_nurse": 7}, version=1)).status_code == 302
    saved_at = SurveyReturn.objects.get(pk=world["return"].pk).updated_at
    response = tab_b.post(url(world), form_data({"staff_nurse": 9, "eq_pet_ct": 1}, version=1))
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="conflict-own"' in html and 'data-testid="conflict"' not in html
    assert "someone else" not in html
    hhmm = timezone.localtime(saved_at).strftime("%H:%M")
    assert f"you saved this return in another tab or window at {hhmm}" in html
    assert "Your typing is kept below; save again to keep it." in html
    assert 'name="staff_nurse" value="9"' in html and 'name="eq_pet_ct" value="1"' in html
    assert services.return_values(world["return"]) == {"staff_nurse": 7}
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    assert tab_b.post(url(world), form_data({"staff_nurse": 9, "eq_pet_ct": 1}, version=int(version))).status_code == 302
    assert services.return_values(world["return"]) == {"staff_nurse": 9, "eq_pet_ct": 1}


def test_own_save_in_chinese(world):
    tab_a, tab_b = Client(), Client()
    tab_a.force_login(world["reporter"])
    tab_b.force_login(world["reporter"])
    tab_a.post(url(world), form_data({"staff_nurse": 7}, version=1))
    html = tab_b.post(url(world), form_data({"staff_nurse": 9}, version=1)).content.decode()
    assert "在另一个标签页或窗口中保存过此报表" in html and "其他人" not in html


def test_someone_else_in_between_is_still_named(world):
    mine, admin = client_for(world["reporter"]), client_for(world["admin"])
    mine.post(url(world), form_data({"staff_nurse": 7}, version=1))
    admin.post(url(world), form_data({"staff_nurse": 8}, version=2))
    html = mine.post(url(world), form_data({"staff_nurse": 9}, version=1)).content.decode()
    assert 'data-testid="conflict"' in html and 'data-testid="conflict-own"' not in html
    assert "someone else saved this return" in html and world["admin"].username in html
    assert 'name="staff_nurse" value="9"' in html


def test_conflict_knows_who_saved_in_between(world):
    ret = world["return"]
    services.return_values_save(survey_return=ret, values={"staff_nurse": 1}, actor=world["reporter"], expected_version=1)
    with pytest.raises(services.ReturnConflict) as caught:
        services.return_values_save(survey_return=SurveyReturn.objects.get(pk=ret.pk), values={"staff_nurse": 2},
                                    actor=world["reporter"], expected_version=1)
    assert caught.value.saved_only_by(world["reporter"]) and not caught.value.saved_only_by(world["admin"])


# --- read-only returns do not ask for explanations ----------------------------------------------


@pytest.mark.parametrize("status", [ReturnStatus.SUBMITTED, ReturnStatus.APPROVED])
def test_read_only_return_shows_warnings_without_asking_for_explanations(world, status):
    ret = world["return"]
    answers_store(ret, {**clean_values(world["edition"]), "pmr_exam_tumor": 12})
    WarningConfirmation.objects.create(survey_return=ret, rule_code="pmr_exams_without_unit",
                                       explanation="合作医院的PET/MR", confirmed_by=world["reporter"])
    SurveyReturn.objects.filter(pk=ret.pk).update(status=status)
    for user in (world["reporter"], world["liaison"]):
        html = client_for(user).get(url(world)).content.decode()
        assert 'data-rule="pmr_exams_without_unit"' in html
        assert "explain__" not in html  # no explanation boxes, not even disabled ones
        assert "confirm each with a short explanation" not in html
        assert "Explanation: 合作医院的PET/MR" in html


def test_editable_return_still_asks_for_explanations(world):
    answers_store(world["return"], {"pmr_exam_tumor": 12})
    html = client_for(world["reporter"]).get(url(world)).content.decode()
    assert 'name="explain__pmr_exams_without_unit"' in html
    assert "confirm each with a short explanation" in html
