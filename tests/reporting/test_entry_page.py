"""The data-entry page through the test client: drafts, errors, warnings, conflicts, read-only."""

import re

import pytest
from django.conf import settings
from django.test import Client

from reporting.models import Answer, Item, ReturnStatus, SurveyReturn, WarningConfirmation
from reporting.services import returns as services
from tests.reporting import entry_support
from tests.reporting.entry_support import clean_values, form_data

# Shared fixtures of the data-entry tests.
open_edition, world = entry_support.open_edition, entry_support.world


@pytest.fixture
def reporter_client(world):
    client = Client()
    client.force_login(world["reporter"])
    return client


def url(world):
    return f"/returns/{world['return'].pk}/"


def test_page_is_generated_from_the_questionnaire_in_chinese(world, reporter_client):
    html = reporter_client.get(url(world)).content.decode()
    assert 'lang="zh-hans"' in html
    assert "人员队伍" in html and 'href="#section-personnel"' in html  # section heading and side navigation
    assert 'name="staff_physician"' in html and '<span class="input-group-text">人</span>' in html
    assert 'data-subtotal-for="staff"' in html and "人员合计" in html
    assert 'name="svc_pet" value="yes"' in html
    assert '<option value="tertiary_a">三级甲等</option>' in html
    # An item whose applies_if item is not yes starts disabled.
    assert re.search(r'name="iv_samples"[^>]*disabled', html)


def test_page_in_english_on_request(world, reporter_client):
    reporter_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = reporter_client.get(url(world)).content.decode()
    assert "Personnel" in html and "Save draft" in html and "persons" in html


def test_form_fits_the_request_field_limit(world, reporter_client):
    html = reporter_client.get(url(world)).content.decode()
    names = set(re.findall(r'name="([^"]+)"', html))
    # Every item, the version, the action, CSRF tokens, explanations: well under the limit.
    assert len(names) < settings.DATA_UPLOAD_MAX_NUMBER_FIELDS / 2
    values = clean_values(world["edition"])
    response = reporter_client.post(url(world), form_data(values, version=1))
    assert response.status_code == 302


def test_save_a_partial_draft_and_see_the_personnel_error(world, reporter_client):
    data = form_data({"staff_physician": 4, "staff_nurse": 2, "title_senior": 5}, version=1)
    response = reporter_client.post(url(world), data)
    assert response.status_code == 302
    ret = SurveyReturn.objects.get(pk=world["return"].pk)
    assert ret.status == ReturnStatus.DRAFT and ret.version == 2
    assert services.return_values(ret) == {"staff_physician": 4, "staff_nurse": 2, "title_senior": 5}
    html = reporter_client.get(url(world)).content.decode()
    assert "职称合计（5）必须等于人员合计（6）。" in html
    assert 'data-rule="personnel_title_sum"' in html  # in the summary at the top
    assert re.search(r'name="title_senior"[^>]*is-invalid', html)  # and next to the field


def test_unreadable_values_keep_exactly_what_was_typed_and_save_nothing(world, reporter_client):
    data = form_data({"staff_physician": "四", "staff_nurse": "1,200", "op_suggestions": "多培训 <b>"}, version=1)
    response = reporter_client.post(url(world), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="四"' in html and 'value="1,200"' in html
    assert "多培训 &lt;b&gt;" in html
    assert "不是整数" in html or "whole number" in html
    assert not world["return"].answers.exists()
    assert SurveyReturn.objects.get(pk=world["return"].pk).version == 1


def test_applies_if_is_enforced_on_the_server(world, reporter_client):
    # A value sent for an item that does not apply is not kept (the page disables such items).
    data = form_data({"svc_in_vitro": False, "iv_samples": 50}, version=1)
    reporter_client.post(url(world), data)
    assert services.return_values(world["return"]) == {"svc_in_vitro": False}
    # An answer stored before the rule (or written around it) is still an error that blocks submission.
    Answer.objects.create(survey_return=world["return"], item=Item.objects.get(edition=world["edition"], code="iv_samples"),
                          int_value=50)
    html = reporter_client.get(url(world)).content.decode()
    assert 'data-rule="applies_if:iv_samples"' in html
    ret = SurveyReturn.objects.get(pk=world["return"].pk)
    with pytest.raises(services.ReturnNotSubmittable) as caught:
        services.return_submit(survey_return=ret, actor=world["reporter"])
    assert "applies_if:iv_samples" in {f.rule_code for f in caught.value.findings}


def test_second_save_gets_a_conflict_showing_the_other_change(world, reporter_client):
    colleague = Client()
    colleague.force_login(world["admin"])
    assert colleague.post(url(world), form_data({"staff_nurse": 7}, version=1)).status_code == 302
    response = reporter_client.post(url(world), form_data({"staff_nurse": 9, "eq_pet_ct": 1}, version=1))
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="conflict"' in html
    assert "人员：护士（人）" in html and "<code>7</code>" in html and world["admin"].username in html
    assert 'name="staff_nurse" value="9"' in html  # the reporter's typing is kept
    assert services.return_values(world["return"]) == {"staff_nurse": 7}  # nothing overwritten
    # Saving again from the conflict page knowingly replaces the other value.
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    assert version == "2"
    assert reporter_client.post(url(world), form_data({"staff_nurse": 9}, version=2)).status_code == 302
    assert services.return_values(world["return"]) == {"staff_nurse": 9}


def test_submit_needs_explanations_for_warnings(world, reporter_client):
    values = {**clean_values(world["edition"]), "pmr_exam_tumor": 12}
    response = reporter_client.post(url(world), form_data(values, version=1, action="submit"))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'name="explain__pmr_exams_without_unit"' in html
    ret = SurveyReturn.objects.get(pk=world["return"].pk)
    assert ret.status == ReturnStatus.DRAFT and ret.version == 2  # values saved, not submitted
    response = reporter_client.post(url(world), form_data(
        values, version=2, action="submit", explain__pmr_exams_without_unit="合作医院的PET/MR"
    ))
    assert response.status_code == 302
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.SUBMITTED
    assert WarningConfirmation.objects.get(survey_return=ret).explanation == "合作医院的PET/MR"


def test_submit_lists_unanswered_items(world, reporter_client):
    response = reporter_client.post(url(world), form_data({"staff_nurse": 0}, version=1, action="submit"))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-rule="required:ownership"' in html
    assert SurveyReturn.objects.get(pk=world["return"].pk).status == ReturnStatus.DRAFT


def test_submitted_and_approved_returns_are_read_only_for_reporters(world, reporter_client):
    ret = world["return"]
    ret.status = ReturnStatus.APPROVED
    ret.save()
    html = reporter_client.get(url(world)).content.decode()
    assert 'data-testid="read-only"' in html and 'data-testid="save"' not in html
    assert re.search(r'name="staff_nurse"[^>]*disabled', html)
    response = reporter_client.post(url(world), form_data({"staff_nurse": 1}, version=1))
    assert response.status_code == 403
    assert not ret.answers.exists()


def test_closed_edition_blocks_entry(world, reporter_client):
    edition = world["edition"]
    edition.status = "closed"
    edition.save()
    html = reporter_client.get(url(world)).content.decode()
    assert 'data-testid="read-only"' in html
    assert reporter_client.post(url(world), form_data({"staff_nurse": 1}, version=1)).status_code == 403


def test_reporter_sees_send_back_comments_next_to_items(world, reporter_client):
    ret = world["return"]
    services.return_values_save(survey_return=ret, values=clean_values(world["edition"]),
                                actor=world["reporter"], expected_version=1)
    services.return_submit(survey_return=ret, actor=world["reporter"])
    services.return_send_back(survey_return=ret, actor=world["liaison"], comment="请核对护士人数",
                              item_comments={"staff_nurse": "去年是20人"})
    html = reporter_client.get(url(world)).content.decode()
    assert 'data-testid="review-comments"' in html and "请核对护士人数" in html
    assert "去年是20人" in html and "finding-comment" in html


def test_start_a_return(world):
    world["return"].delete()
    client = Client()
    client.force_login(world["reporter"])
    assert 'data-testid="start-return"' in client.get("/").content.decode()
    response = client.post("/returns/start/")
    ret = SurveyReturn.objects.get(edition=world["edition"], institution=world["beijing"])
    assert response["Location"] == f"/returns/{ret.pk}/"


def test_return_list_shows_only_visible_returns(world):
    client = Client()
    client.force_login(world["liaison"])
    html = client.get("/returns/").content.decode()
    assert world["beijing"].name in html and world["beijing_other"].name in html
    assert world["shanghai"].name not in html


def test_no_new_return_while_entry_is_closed(world):
    world["return"].delete()
    edition = world["edition"]
    edition.status = "closed"
    edition.save()
    client = Client()
    client.force_login(world["reporter"])
    response = client.post("/returns/start/")
    assert response["Location"] == "/"
    assert not SurveyReturn.objects.filter(institution=world["beijing"]).exists()


def test_entry_page_query_count_does_not_grow_with_answers(world, reporter_client, django_assert_num_queries):
    reporter_client.get(url(world))  # compile the questionnaire once
    # 5: session, user, membership, the return (with whether it has comments, warning
    # explanations or follow-up questions to show: a draft has none), its answers.
    with django_assert_num_queries(5):
        reporter_client.get(url(world))
    services.return_values_save(survey_return=world["return"], values=clean_values(world["edition"]),
                                actor=world["reporter"], expected_version=1)
    with django_assert_num_queries(5):
        reporter_client.get(url(world))


def test_entry_page_reads_comments_explanations_and_questions_only_when_there_are_some(
        world, reporter_client, django_assert_num_queries):
    from analysis.models import OutlierMarkStatus
    from analysis.selectors import edition_outlier_ratios
    from analysis.services import outlier_mark
    from tests.factories import society_admin

    reporter_client.get(url(world))
    survey_return = world["return"]
    survey_return.review_comments.create(body="Please check the staff numbers.", author=world["reporter"],
                                         return_version=1)
    WarningConfirmation.objects.create(survey_return=survey_return, rule_code="W_TEST", explanation="As typed.",
                                       confirmed_by=world["reporter"])
    ratio = edition_outlier_ratios(world["edition"])[0]
    outlier_mark(survey_return=survey_return, key=ratio.key, status=OutlierMarkStatus.FOLLOW_UP,
                 note="Is this number of scans right?", actor=society_admin())
    # 5 + the comments, the explanations, the follow-up marks (and, for a ratio of a group, its items).
    with django_assert_num_queries(9):
        html = reporter_client.get(url(world)).content.decode()
    assert "Please check the staff numbers." in html and "Is this number of scans right?" in html


def test_entry_page_links_the_spreadsheet_template_while_editable(world, reporter_client):
    html = reporter_client.get(url(world)).content.decode()
    assert f"/returns/{world['return'].pk}/upload/" in html
    world["return"].status = ReturnStatus.SUBMITTED
    world["return"].save()
    assert f"/returns/{world['return'].pk}/upload/" not in reporter_client.get(url(world)).content.decode()


def test_reporter_home_reads_only_what_it_shows(world, reporter_client, django_assert_num_queries):
    """Session, user, current edition, membership, institutions visible, the return: no status
    table and no report link, which a reporter's dashboard does not show."""
    reporter_client.get("/")
    with django_assert_num_queries(6):
        html = reporter_client.get("/").content.decode()
    assert 'data-testid="dashboard-reporter"' in html and f"/returns/{world['return'].pk}/" in html
    assert world["return"].institution.name in html
    assert 'data-testid="report-link"' not in html
