"""Template downloads, uploads with preview and confirmation, exports: from the outside."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reporting.models import Answer, AuditEvent, ReturnStatus, SurveyReturn
from tests.factories import (
    PASSWORD,
    InstitutionFactory,
    liaison,
    reporter,
    society_admin,
    survey_return,
)
from tests.reporting import entry_support
from tests.reporting.entry_support import clean_values
from tests.reporting.spreadsheet_support import csv_bytes, returns_rows

open_edition = entry_support.open_edition
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_edition")]


@pytest.fixture
def client(client):
    """An English-speaking browser: messages are asserted in English (zh-hans is the default)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST and run what the view queued for after the commit (the eager Celery task)."""

    def run(client, url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {})

    return run


@pytest.fixture
def upload(post):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def run(client, url, name, content, **extra):
        return post(client, url, {"file": SimpleUploadedFile(name, content), **extra})

    return run


@pytest.fixture
def own_return(edition):
    return survey_return(edition=edition, institution=InstitutionFactory(), values={"ownership": "public"})


def test_reporter_downloads_prefilled_template(client, edition, own_return):
    _login(client, reporter(own_return.institution))
    # One item a row by default (tests/reporting/test_spreadsheet_long_layout.py); one row on request.
    response = client.get(reverse("spreadsheets:return_template", kwargs={"return_id": own_return.pk}),
                          {"layout": "wide"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[:2] == ["institution_code", "institution_name"]
    assert "ownership" in header and "eq_pet_ct" in header
    assert sheet.cell(row=2, column=1).value == "#edition" and sheet.cell(row=2, column=2).value == 2024
    assert sheet.cell(row=6, column=1).value == own_return.institution.code
    assert sheet.cell(row=6, column=header.index("ownership") + 1).value == "Public"  # the label people see
    kinds = {dv.type for dv in sheet.data_validations.dataValidation}
    assert {"whole", "list"} <= kinds


def test_other_institutions_return_is_404(client, edition, own_return):
    other = survey_return(edition=edition, institution=InstitutionFactory())
    _login(client, reporter(own_return.institution))
    for name in ("spreadsheets:return_template", "spreadsheets:return_upload"):
        assert client.get(reverse(name, kwargs={"return_id": other.pk})).status_code == 404


def test_liaison_may_download_but_notupload(client, edition, own_return):
    _login(client, liaison("11"))
    assert client.get(reverse("spreadsheets:return_template", kwargs={"return_id": own_return.pk})).status_code == 200
    assert client.get(reverse("spreadsheets:return_upload", kwargs={"return_id": own_return.pk})).status_code == 404


def test_admin_pages_are_404_for_reporters(client, edition, own_return):
    _login(client, reporter(own_return.institution))
    for url in (
        reverse("spreadsheets:index"),
        reverse("spreadsheets:edition_template", kwargs={"year": 2024}),
        reverse("spreadsheets:edition_import", kwargs={"year": 2024}),
        reverse("spreadsheets:edition_export", kwargs={"year": 2024, "fmt": "csv"}),
        reverse("spreadsheets:edition_export", kwargs={"year": 2024, "fmt": "xlsx"}),
    ):
        assert client.get(url).status_code == 404, url


def test_anonymous_is_sent_to_login(client, edition, own_return):
    response = client.get(reverse("spreadsheets:return_template", kwargs={"return_id": own_return.pk}))
    assert response.status_code == 302 and "login" in response["Location"]


def test_reporter_upload_preview_then_confirm(client, edition, own_return, upload, post):
    user = reporter(own_return.institution)
    _login(client, user)
    values = clean_values(edition)
    content = csv_bytes(returns_rows(edition, [own_return.institution], values))
    response = upload(client, reverse("spreadsheets:return_upload", kwargs={"return_id": own_return.pk}), "mine.csv", content)
    assert response.status_code == 302
    job_url = response["Location"]
    preview = client.get(job_url)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert 'id="job-preview"' in html and "staff_physician" in html
    assert not Answer.objects.filter(survey_return=own_return, item__code="staff_physician").exists()
    # Someone else's browser cannot see or confirm it.
    other = reporter(InstitutionFactory())
    from django.test import Client

    stranger = _login(Client(HTTP_ACCEPT_LANGUAGE="en"), other)
    assert stranger.get(job_url).status_code == 404
    assert stranger.post(job_url + "confirm/").status_code == 404

    confirmed = post(client, job_url + "confirm/")
    assert confirmed.status_code == 302
    done = client.get(job_url).content.decode()
    assert 'id="job-done"' in done
    assert Answer.objects.get(survey_return=own_return, item__code="staff_physician").int_value == 5
    own_return.refresh_from_db()
    assert own_return.version == 2
    assert AuditEvent.objects.filter(survey_return=own_return, source="import", actor=user).exists()
    # Confirming twice imports nothing more.
    post(client, job_url + "confirm/")
    own_return.refresh_from_db()
    assert own_return.version == 2


def test_reporter_cannot_upload_a_row_of_another_institution(client, edition, own_return, upload, post):
    _login(client, reporter(own_return.institution))
    other = InstitutionFactory()
    content = csv_bytes(returns_rows(edition, [other]))
    response = upload(client, reverse("spreadsheets:return_upload", kwargs={"return_id": own_return.pk}), "x.csv", content)
    page = client.get(response["Location"]).content.decode()
    assert 'id="job-rejected"' in page and other.code in page
    assert not SurveyReturn.objects.filter(institution=other).exists()


def test_submitted_return_cannot_be_uploaded(client, edition):
    ret = survey_return(edition=edition, status=ReturnStatus.SUBMITTED)
    _login(client, reporter(ret.institution))
    assert client.get(reverse("spreadsheets:return_upload", kwargs={"return_id": ret.pk})).status_code == 403


@pytest.mark.parametrize("name,content,expected", [
    ("x.pdf", b"%PDF-1.4 binary\x00\x01", "not a spreadsheet"),
    ("x.xlsx", b"PK\x03\x04garbage", "damaged"),
    ("x.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    ("x.csv", b"institution_code,unknown_code\nA,1\n", "unknown_code"),
])
def test_bad_files_are_rejected_with_a_message_never_a_500(client, edition, name, content, expected, upload):
    _login(client, society_admin())
    response = upload(client, reverse("spreadsheets:edition_import", kwargs={"year": 2024}), name, content)
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="job-rejected"' in html
    assert expected in html


def test_admin_bulk_import_with_approval(client, edition, upload, post):
    _login(client, society_admin())
    institutions = [InstitutionFactory() for _ in range(3)]
    content = csv_bytes(returns_rows(edition, institutions))
    response = upload(client, reverse("spreadsheets:edition_import", kwargs={"year": 2024}), "all.csv", content, approve="on")
    job_url = response["Location"]
    assert "3" in client.get(job_url).content.decode()
    post(client, job_url + "confirm/")
    statuses = SurveyReturn.objects.filter(institution__in=institutions).values_list("status", flat=True)
    assert list(statuses) == [ReturnStatus.APPROVED] * 3


def test_status_endpoint_reports_state(client, edition, own_return, upload, post):
    _login(client, reporter(own_return.institution))
    content = csv_bytes(returns_rows(edition, [own_return.institution]))
    response = upload(client, reverse("spreadsheets:return_upload", kwargs={"return_id": own_return.pk}), "m.csv", content)
    status = client.get(response["Location"] + "status/").json()
    assert status["state"] == "previewed"


def test_export_csv_streams_one_row_per_institution(client, edition):
    _login(client, society_admin())
    first = survey_return(edition=edition, institution=InstitutionFactory(code="A001", name="=HYPERLINK(1)"),
                          values={"eq_pet_ct": 2, "svc_pet": True, "ownership": "public"})
    survey_return(edition=edition, institution=InstitutionFactory(code="A002"))
    response = client.get(reverse("spreadsheets:edition_export", kwargs={"year": 2024, "fmt": "csv"}))
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    header = lines[0].split(",")
    assert header[:5] == ["institution_code", "institution_name", "province", "return_status", "return_version"]
    assert lines[1].startswith("#edition,2024")
    data = [line for line in lines if not line.startswith("#")][1:]
    assert [line.split(",")[0] for line in data] == ["A001", "A002"]
    row = data[0].split(",")
    assert row[1] == "'=HYPERLINK(1)"  # neutralised
    assert row[header.index("eq_pet_ct")] == "2" and row[header.index("svc_pet")] == "yes"
    assert first.pk


def test_export_xlsx(client, edition):
    _login(client, society_admin())
    survey_return(edition=edition, institution=InstitutionFactory(code="B001"), values={"eq_pet_ct": 4})
    response = client.get(reverse("spreadsheets:edition_export", kwargs={"year": 2024, "fmt": "xlsx"}))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    data = [row for row in rows if row[0] and not str(row[0]).startswith("#")][1:]
    assert data[0][0] == "B001" and data[0][header.index("eq_pet_ct")] == 4


def test_export_can_be_imported_back(client, edition):
    from reporting.services.imports import returns_file_check

    _login(client, society_admin())
    institution = InstitutionFactory()
    survey_return(edition=edition, institution=institution, values=clean_values(edition))
    response = client.get(reverse("spreadsheets:edition_export", kwargs={"year": 2024, "fmt": "csv"}))
    content = b"".join(response.streaming_content)
    plan = returns_file_check(edition=edition, content=content, filename="export.csv")
    assert plan.value_changes == 0 and len(plan.returns) == 1


def test_admin_edition_list_links_to_import_and_exports(client, edition, upload):
    admin_user = society_admin(is_superuser=True)
    _login(client, admin_user)
    page = client.get(reverse("admin:reporting_edition_changelist")).content.decode()
    import_url = reverse("admin:reporting_edition_import_returns", args=[edition.pk])
    assert import_url in page
    assert reverse("admin:reporting_edition_export_csv", args=[edition.pk]) in page
    institution = InstitutionFactory()
    response = upload(client, import_url, "all.csv", csv_bytes(returns_rows(edition, [institution])))
    assert response.status_code == 302
    assert 'id="job-preview"' in client.get(response["Location"]).content.decode()
    export = client.get(reverse("admin:reporting_edition_export_xlsx", args=[edition.pk]))
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_admin_spreadsheet_urls_refuse_reporters(client, edition, own_return):
    _login(client, reporter(own_return.institution))
    response = client.get(reverse("admin:reporting_edition_import_returns", args=[edition.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_running_job_shows_progress_and_status(client, edition, own_return):
    from jobs.models import BackgroundJob, JobState
    from reporting.spreadsheets.jobs import job_create

    user = reporter(own_return.institution)
    _login(client, user)
    job = job_create(owner=user, edition=edition, institution=own_return.institution, approve=False,
                     filename="big.xlsx", content=b"x", language="en", return_id=own_return.pk)
    # As a worker on another host would have it: running, a quarter checked.
    BackgroundJob.objects.filter(pk=job.job.pk).update(state=JobState.RUNNING, phase="check", done=300, total=1237)
    url = reverse("spreadsheets:job", kwargs={"job_id": job.id})
    page = client.get(url).content.decode()
    assert 'id="job-progress"' in page and "24%" in page
    assert client.get(url + "status/").json() == {"state": "checking", "phase": "check", "done": 300,
                                                  "total": 1237, "percent": 24}
    assert client.post(url + "confirm/").status_code == 302  # not previewed yet: nothing happens
    assert not Answer.objects.filter(survey_return=own_return).exclude(item__code="ownership").exists()


def test_unknown_job_ids_are_404(client, edition, own_return):
    _login(client, reporter(own_return.institution))
    for job_id in ("../../etc/passwd", "0" * 32, "not-a-job"):
        assert client.get(f"/spreadsheets/uploads/{job_id}/").status_code == 404


def test_confirm_is_refused_once_the_return_is_submitted(client, edition, own_return, upload, post):
    _login(client, reporter(own_return.institution))
    content = csv_bytes(returns_rows(edition, [own_return.institution]))
    job_url = upload(client, reverse("spreadsheets:return_upload", kwargs={"return_id": own_return.pk}), "m.csv",
                     content)["Location"]
    SurveyReturn.objects.filter(pk=own_return.pk).update(status=ReturnStatus.SUBMITTED)
    post(client, job_url + "confirm/")
    assert not Answer.objects.filter(survey_return=own_return, item__code="staff_physician").exists()
    assert "cannot be changed now" in client.get(job_url).content.decode()


def test_return_links_include_renders_for_the_data_entry_page(edition, own_return):
    from django.template.loader import render_to_string

    html = render_to_string("reporting/spreadsheets/_return_links.html", {"survey_return": own_return})
    assert f"/returns/{own_return.pk}/template.xlsx" in html
    assert f"/returns/{own_return.pk}/upload/" in html


def test_preview_warns_before_blank_cells_remove_answers(client, edition, upload):
    _login(client, society_admin())
    institution = InstitutionFactory()
    survey_return(edition=edition, institution=institution, values={"svc_in_vitro": True, "iv_samples": 10})
    content = f"institution_code,svc_in_vitro,iv_samples\n{institution.code},yes,\n".encode()
    response = upload(client, reverse("spreadsheets:edition_import", kwargs={"year": 2024}), "b.csv", content)
    page = client.get(response["Location"]).content.decode()
    assert 'id="job-removals"' in page and "1 existing answer would be removed" in page
