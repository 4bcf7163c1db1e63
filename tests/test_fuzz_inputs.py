"""The bad inputs of issue 9 that gave a 500 or slipped through, one by one.

The fuzz test (test_fuzz_endpoints.py) drives every endpoint with hostile values; these pin
each known case and the pieces that handle it: ids parsed in one place, NUL refused before
any view, unknown formats, formulas behind whitespace.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import Resolver404, resolve, reverse

from reporting.converters import ID_MAX, id_parse, ids_parse, number_parse, year_parse
from reporting.formula_safety import cell_neutralise, text_is_formula
from reporting.models import Answer, ReturnStatus
from reporting.services.imports import returns_file_check
from reporting.spreadsheets import SpreadsheetInvalid
from tests import factories
from tests.reporting import entry_support
from tests.reporting.spreadsheet_support import csv_bytes, xlsx_bytes

open_edition, world = entry_support.open_edition, entry_support.world

HUGE = "99999999999999999999999"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- ids --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, number", [
    ("1", 1), ("42", 42), (str(ID_MAX), ID_MAX),
    (str(ID_MAX + 1), None), (HUGE, None), ("0", None), ("-1", None), ("１２", None), ("²", None),
    ("٣", None), (" 7", None), ("7 ", None), ("1.0", None), ("", None), (None, None), ("1\x00", None),
])
def test_id_parse_takes_ascii_numbers_in_range_only(text, number):
    assert id_parse(text) == number


def test_number_and_year_parse():
    assert number_parse("0") == 0 and number_parse(str(2**31), maximum=2**31 - 1) is None
    assert year_parse("2024") == 2024
    assert year_parse("20240") is None and year_parse("２０２４") is None and year_parse("²024") is None
    assert ids_parse(["3", HUGE, "x", "3", "４"]) == {3}


def test_url_converters_match_ids_and_years_in_range_only():
    assert resolve("/returns/12/").kwargs == {"pk": 12}
    assert resolve(f"/returns/{ID_MAX}/").kwargs == {"pk": ID_MAX}
    assert reverse("report:page", kwargs={"year": 2024}) == "/report/2024/"
    for path in (f"/returns/{ID_MAX + 1}/", f"/returns/{HUGE}/", "/returns/0/", "/report/20240/", "/report/24/"):
        with pytest.raises(Resolver404):
            resolve(path)


@pytest.mark.sqlite
@pytest.mark.django_db
def test_reminders_for_an_out_of_range_institution_are_no_reminders(world, django_capture_on_commit_callbacks):
    """It was an OverflowError on SQLite (the database `make run` uses), a 500."""
    client = _client(world["liaison"])
    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/completeness/reminders/", {"institution": [HUGE, "１２", "²"]}, follow=True)
    assert response.status_code == 200
    assert queued == []  # not "every institution" either: the chosen ones name none
    assert "None of the chosen institutions" in response.content.decode() or "所选" in response.content.decode()


@pytest.mark.sqlite
@pytest.mark.django_db
@pytest.mark.parametrize("version", ["²", HUGE, "１"])
def test_review_with_a_strange_version_is_no_500(world, version):
    target = world["return_other"]
    response = _client(world["admin"]).post(f"/returns/{target.pk}/review/", {"action": "review", "version": version})
    assert response.status_code < 500


@pytest.mark.sqlite
@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/report/2024/?revision=%C2%B2", f"/report/2024/figures.csv?revision={HUGE}",
                                 "/audit/export.csv?edition=%C2%B2", f"/returns/{HUGE}/", f"/report/{HUGE}/"])
def test_strange_numbers_in_urls_are_404(world, url):
    assert _client(world["admin"]).get(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_a_login_with_a_very_long_account_name_is_refused_without_a_500(url):
    """Django's form hands a long name to authenticate(); axes failed to record the failure."""
    from axes.models import AccessAttempt

    # The admin's login lets staff in only.
    (factories.society_admin if url.startswith("/admin/") else factories.reporter)(username="reporter-long")
    client = Client()
    for _ in range(2):
        response = client.post(url, {"username": "x" * 100_000, "password": "wrong"})
        assert response.status_code == 200
    (attempt,) = AccessAttempt.objects.all()
    assert attempt.username == "x" * 255 and attempt.failures_since_start == 2
    assert client.post(url, {"username": "reporter-long", "password": factories.PASSWORD}).status_code == 302


# --- NUL ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_nul_character_in_any_field_is_a_400_naming_the_field(world):
    client = _client(world["liaison"])
    response = client.get("/completeness/", {"province": "1\x001"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="error-page" data-status="400"' in page  # the site's 400 page, translated
    assert "字段“province”包含空字符" in page
    target = world["return_other"]
    response = client.post(f"/returns/{target.pk}/review/", {"action": "review", "version": "1", "comment": "a\x00b"})
    assert response.status_code == 400 and "comment" in response.content.decode()
    target.refresh_from_db()
    assert target.status == ReturnStatus.DRAFT and target.version == 1


@pytest.mark.django_db
def test_a_nul_byte_inside_an_uploaded_file_is_the_file_checks_business(world):
    """Only form fields are refused for a NUL: a file's bytes are checked by the reader."""
    reporter, survey_return = world["reporter"], world["return"]
    upload = SimpleUploadedFile("x.csv", b"institution_code\n\x00\n", "text/csv")
    response = _client(reporter).post(f"/returns/{survey_return.pk}/upload/", {"file": upload})
    assert response.status_code in (200, 302)


# --- formats -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fmt, status", [("csv", 200), ("xlsx", 200), ("zzz", 404), ("pdf", 404), ("CSV", 404)])
def test_edition_export_serves_known_formats_only(world, fmt, status):
    response = _client(world["admin"]).get(f"/spreadsheets/2024/export.{fmt}")
    assert response.status_code == status
    if status == 200:
        assert response["Content-Disposition"].endswith(f'.{fmt}"')


# --- formulas ----------------------------------------------------------------------------

FORMULAS = ["=1+1", "\t=1+1", "\r=1+1", "\n=1+1", "   =1+1", "\u3000=1+1", "\u200b=1+1", "\u202e=1+1",
            "+A1", "-1+1", "+1+1", "@SUM(A1:A2)", "-cmd|' /C calc'!A0", "+HYPERLINK(\"http://x\")", "-(2)"]
NOT_FORMULAS = ["=", "-", "--", "-5", "+5", "- 无", "-建议增加培训", "@张三", "a=1", "1+1", "+86 10 1234", "—1+1"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_text_is_recognised_behind_whitespace_and_signs(text):
    assert text_is_formula(text)
    assert cell_neutralise(text) == "'" + text


@pytest.mark.parametrize("text", NOT_FORMULAS)
def test_text_and_signed_numbers_are_not_formulas(text):
    assert not text_is_formula(text)


SUGGESTION_HEADER = ["institution_code", "op_suggestions"]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("cell", ["\t=1+1", "\r=1+1", "  =1+1", "-1+1", "@SUM(A1:A2)", "+A1"])
def test_a_formula_behind_whitespace_is_refused_in_a_text_item(edition, kind, cell):
    """It was stored as "=1+1" (the value is stripped): refused like any formula cell."""
    factories.InstitutionFactory(code="H0001")
    rows = [SUGGESTION_HEADER, ["H0001", cell]]
    content = csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows)
    with pytest.raises(SpreadsheetInvalid) as raised:
        returns_file_check(edition=edition, content=content, filename=f"x.{kind}")
    (problem,) = raised.value.problems
    assert (problem.row, problem.column) == (2, "B (op_suggestions)")
    assert "formula" in problem.message
    assert not Answer.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_text_starting_with_a_dash_is_read_as_text(edition, kind):
    factories.InstitutionFactory(code="H0001")
    rows = [SUGGESTION_HEADER, ["H0001", "- 加强培训"]]
    content = csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows)
    plan = returns_file_check(edition=edition, content=content, filename=f"x.{kind}")
    assert {c.code: c.new for c in plan.returns[0].changes} == {"op_suggestions": "- 加强培训"}
