"""A reporter fills the return offline: download the template, fill it, upload, preview, confirm."""

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reporting.models import Answer
from tests.factories import PASSWORD, InstitutionFactory, reporter, survey_return


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_reporter_fills_the_template_offline(live_server, page, edition, tmp_path, settings):
    settings.SPREADSHEET_UPLOAD_DIR = str(tmp_path / "uploads")
    today = dt.date.today()
    edition.status, edition.opens_on, edition.closes_on = "open", today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    edition.save()
    institution = InstitutionFactory(code="B0001", name="浏览器测试医院")
    ret = survey_return(edition=edition, institution=institution, values={"ownership": "public"})
    user = reporter(institution)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form [type=submit]").last.click()
    page.wait_for_load_state()

    # From the data-entry page, as a reporter would.
    page.goto(f"{live_server.url}/returns/{ret.pk}/")
    with page.expect_download() as download_info:
        page.click("#template-download")
    download = download_info.value
    assert download.suggested_filename == "survey-2024-B0001.xlsx"

    # One item a row: the code in column A, the answer in column E ("value").
    workbook = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    sheet = workbook.worksheets[0]
    assert sheet.cell(row=1, column=5).value == "value"
    rows = {row[0].value: row[0].row for row in sheet.iter_rows(min_row=2) if row[0].value}
    assert sheet.cell(row=rows["institution_code"], column=5).value == "B0001"
    assert sheet.cell(row=rows["ownership"], column=5).value in ("公立", "Public")
    sheet.cell(row=rows["svc_in_vitro"], column=5, value="是")
    sheet.cell(row=rows["iv_samples"], column=5, value=1234)
    sheet.cell(row=rows["iv_tests"], column=5, value=5678)
    filled = tmp_path / "filled.xlsx"
    workbook.save(filled)

    page.click("#template-upload")
    page.wait_for_selector("#upload-form")
    page.set_input_files("input[type=file]", str(filled))
    page.click("#upload-submit")
    page.wait_for_selector("#job-preview")
    changes = page.inner_text("#job-changes")
    assert "iv_samples" in changes and "1234" in changes and "5678" in changes
    assert not Answer.objects.filter(survey_return=ret, item__code="iv_samples").exists()

    page.click("#job-confirm")
    page.wait_for_selector("#job-done")
    page.click("#job-continue")
    page.wait_for_load_state()
    assert page.locator('[name="iv_samples"]').input_value() == "1234"
    assert page.locator('[name="iv_tests"]').input_value() == "5678"
    assert Answer.objects.get(survey_return=ret, item__code="iv_samples").int_value == 1234
