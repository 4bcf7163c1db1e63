"""One institution's template laid out one item a row: readable, and read back by the import.

The round trip goes through the pages a reporter uses: download the template, fill it in
(openpyxl stands in for Excel), upload it, see the preview, confirm.
"""

import io

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from reporting.models import Answer, AuditEvent, SurveyReturn
from reporting.services.imports import returns_file_check
from reporting.spreadsheets import SpreadsheetInvalid
from reporting.spreadsheets.layout import edition_items
from reporting.spreadsheets.workbooks import return_template_workbook_build
from tests.factories import PASSWORD, InstitutionFactory, reporter, survey_return
from tests.reporting import entry_support
from tests.reporting.spreadsheet_support import csv_bytes, xlsx_bytes

open_edition = entry_support.open_edition
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_edition")]


@pytest.fixture
def own_return(edition):
    institution = InstitutionFactory(code="0101", name="长表测试医院")
    return survey_return(edition=edition, institution=institution,
                         values={"ownership": "public", "sup_doctoral": 2, "op_suggestions": "多培训"})


def _answer_rows(sheet) -> dict[str, int]:
    """{code in column A: its row} of a one-item-a-row sheet."""
    return {row[0].value: row[0].row for row in sheet.iter_rows(min_row=2) if row[0].value}


def _download(client, survey_return, **params) -> bytes:
    response = client.get(reverse("spreadsheets:return_template", kwargs={"return_id": survey_return.pk}), params)
    assert response.status_code == 200
    return response.content


def test_the_reporters_template_is_one_item_a_row_with_labels_units_and_answers(client, edition, own_return):
    client.login(username=reporter(own_return.institution).username, password=PASSWORD)
    sheet = load_workbook(io.BytesIO(_download(client, own_return))).worksheets[0]
    assert [c.value for c in sheet[1]] == ["item_code", "label_zh", "label_en", "unit", "value", "hint"]
    assert sheet[2][0].value.startswith("#") and sheet[2][4].value == "答案 / Answer"  # headers for people
    assert sheet.freeze_panes == "A3"
    rows = _answer_rows(sheet)
    code_row = rows["institution_code"]
    assert sheet.cell(row=code_row, column=5).value == "0101"  # text: the leading zero stays
    assert sheet.cell(row=code_row, column=5).number_format == "@"
    pet = [c.value for c in sheet[rows["eq_pet_ct"]]]
    assert pet == ["eq_pet_ct", "PET或PET/CT（台）", "PET or PET/CT scanners", "台 / units", None,
                   "整数 ≥ 0 / whole number ≥ 0"]
    assert sheet.cell(row=rows["sup_doctoral"], column=5).value == 2
    assert sheet.cell(row=rows["ownership"], column=5).value == "公立"  # the label people see
    assert sheet.cell(row=rows["op_suggestions"], column=5).value == "多培训"
    items = edition_items(edition)
    assert len([code for code in rows if code in {item.code for item in items}]) == len(items)  # every item
    sections = [row[1].value for row in sheet.iter_rows(min_row=2) if row[0].value == "#section"]
    assert len(sections) == len({item.section_id for item in items}) and sections[0]
    ranges = {str(dv.sqref): dv.type for dv in sheet.data_validations.dataValidation}
    assert ranges.get(f"E{rows['ownership']}") == "list"
    assert any(f"E{rows['eq_pet_ct']}" in ref.split() for ref, kind in ranges.items() if kind == "whole")
    # The previous layout stays one parameter away.
    wide = load_workbook(io.BytesIO(_download(client, own_return, layout="wide"))).worksheets[0]
    assert [c.value for c in wide[1]][:2] == ["institution_code", "institution_name"]


def test_download_fill_upload_preview_confirm(client, edition, own_return, django_capture_on_commit_callbacks):
    user = reporter(own_return.institution)
    client.login(username=user.username, password=PASSWORD)
    workbook = load_workbook(io.BytesIO(_download(client, own_return)))
    sheet = workbook.worksheets[0]
    rows = _answer_rows(sheet)
    sheet.cell(row=rows["svc_in_vitro"], column=5, value="是")
    sheet.cell(row=rows["iv_samples"], column=5, value=1234)
    sheet.cell(row=rows["ownership"], column=5, value="非公立")
    sheet.cell(row=rows["op_suggestions"], column=5).value = None  # a cleared answer
    buffer = io.BytesIO()
    workbook.save(buffer)
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("spreadsheets:return_upload", kwargs={"return_id": own_return.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"file": SimpleUploadedFile("filled.xlsx", buffer.getvalue())})
    assert response.status_code == 302
    job_url = response["Location"]
    preview = client.get(job_url).content.decode()
    assert 'id="job-preview"' in preview and "1234" in preview
    assert not Answer.objects.filter(survey_return=own_return, item__code="iv_samples").exists()  # not yet
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(job_url + "confirm/").status_code == 302
    assert 'id="job-done"' in client.get(job_url).content.decode()
    answers = {a.item.code: a for a in Answer.objects.filter(survey_return=own_return).select_related("item")}
    assert answers["iv_samples"].int_value == 1234 and answers["svc_in_vitro"].bool_value is True
    assert answers["ownership"].text_value == "nonpublic"
    assert answers["sup_doctoral"].int_value == 2  # prefilled, unchanged
    assert "op_suggestions" not in answers  # a blank answer clears the item
    assert AuditEvent.objects.filter(survey_return=own_return, source="import", actor=user,
                                     item_code="iv_samples", new_value="1234").exists()
    assert SurveyReturn.objects.filter(institution=own_return.institution).count() == 1


def _long(code, *items, edition_year=2024):
    return [["item_code", "label_zh", "label_en", "unit", "value"], ["#edition", edition_year],
            ["institution_code", "", "", "", code], ["institution_name", "", "", "", "名字"], *items]


def _problems(edition, content, filename="x.xlsx"):
    with translation.override("en"), pytest.raises(SpreadsheetInvalid) as raised:
        returns_file_check(edition=edition, content=content, filename=filename)
    return [(p.row, p.column, p.message) for p in raised.value.problems]


def test_an_item_without_a_row_is_left_alone_and_csv_works_too(edition, own_return):
    content = csv_bytes(_long("0101", ["#section", "教育"], ["sup_doctoral", "", "", "", "5"]))
    plan = returns_file_check(edition=edition, content=content, filename="long.csv")
    assert plan.item_codes == ["sup_doctoral"]
    assert [(c.code, c.old, c.new) for c in plan.returns[0].changes] == [("sup_doctoral", "2", "5")]
    assert plan.returns[0].institution_code == "0101"


def test_every_bad_row_is_named_by_row_and_column(edition, own_return):
    problems = _problems(edition, xlsx_bytes(_long(
        "0101",
        ["eq_pet_ct", "", "", "", "many"],  # row 5
        ["no_such_item", "", "", "", 1],  # row 6
        ["eq_pet_ct", "", "", "", 3],  # row 7: again
        ["", "", "", "", 9],  # row 8: an answer without an item
        ["eq_spect", "", "", "", "=1+1"],  # row 9: a formula
    )))
    assert [(row, column) for row, column, _m in problems] == [
        (5, "E (eq_pet_ct)"), (6, "A"), (7, "A"), (8, "E"), (9, "E (eq_spect)")]
    messages = [m for _r, _c, m in problems]
    assert "“many” is not a whole number." in messages[0]
    assert "not an item code of the 2024 survey" in messages[1]
    assert "first in row 5" in messages[2]
    assert "formula" in messages[4]


def test_the_institution_and_the_edition_are_checked(edition, own_return):
    assert "The institution code is missing" in _problems(
        edition, xlsx_bytes(_long("", ["eq_pet_ct", "", "", "", 1])))[0][2]
    assert "template of the 2019 survey" in _problems(
        edition, xlsx_bytes(_long("0101", ["eq_pet_ct", "", "", "", 1], edition_year=2019)))[0][2]
    other = InstitutionFactory(code="0202")
    with translation.override("en"), pytest.raises(SpreadsheetInvalid) as raised:
        returns_file_check(edition=edition, content=xlsx_bytes(_long("0202", ["eq_pet_ct", "", "", "", 1])),
                           filename="x.xlsx", institution=own_return.institution)
    assert "only your own institution" in str(raised.value)
    assert not SurveyReturn.objects.filter(institution=other).exists()


def test_rule_findings_point_at_the_answer_cell(edition, own_return):
    """The questionnaire's rules run on the resulting return, as for a wide file."""
    content = xlsx_bytes(_long("0101", ["staff_physician", "", "", "", 3], ["title_senior", "", "", "", 1]))
    problems = _problems(edition, content)
    assert any(column and column.startswith("E") and column.endswith(")") for _r, column, _m in problems)
    assert all(row == 3 for row, _c, _m in problems)  # the row of the institution code


def test_the_template_builder_writes_answers_in_the_readers_language(edition, own_return):
    content = return_template_workbook_build(
        edition=edition, items=edition_items(edition), institution_code="0101", institution_name="x",
        values={"ownership": "nonpublic", "svc_pet": True}, language="en")
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    rows = _answer_rows(sheet)
    assert sheet.cell(row=rows["ownership"], column=5).value == "Non-public"
    assert sheet.cell(row=rows["svc_pet"], column=5).value == "yes"
    plan = returns_file_check(edition=edition, content=content, filename="en.xlsx")
    assert {c.code: c.new for c in plan.returns[0].changes}["ownership"] == "nonpublic"


def test_an_item_that_does_not_apply_is_not_imported_with_a_warning_at_its_cell(edition, own_return):
    """The rule every writer follows (reporting.services.answers): iv_samples is asked only when
    svc_in_vitro is yes."""
    content = xlsx_bytes(_long("0101", ["svc_in_vitro", "", "", "", "否"], ["iv_samples", "", "", "", 30]))
    with translation.override("en"):
        plan = returns_file_check(edition=edition, content=content, filename="x.xlsx")
    assert [(w.row, w.column) for w in plan.warnings] == [(3, "E6 (iv_samples)")]
    assert "its value 30 is not imported" in plan.warnings[0].message
    assert {c.code: c.new for c in plan.returns[0].changes} == {"svc_in_vitro": "no"}
