"""The import service and `manage.py import_returns` (contract in the survey README)."""

import pytest
from django.core.management import CommandError, call_command

from reporting.models import Answer, AuditEvent, AuditSource, ReturnStatus, SurveyReturn
from reporting.services.imports import returns_file_check, returns_import
from reporting.spreadsheets import SpreadsheetInvalid
from tests.factories import InstitutionFactory, society_admin, survey_return
from tests.reporting.entry_support import clean_values
from tests.reporting.spreadsheet_support import csv_bytes, returns_rows, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (zh-hans is the site's default)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _write(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.sqlite
def test_command_imports_csv_and_approves(edition, tmp_path, django_capture_on_commit_callbacks):
    institutions = [InstitutionFactory(), InstitutionFactory()]
    path = _write(tmp_path, "returns.csv", csv_bytes(returns_rows(edition, institutions)))
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("import_returns", str(path), "--edition", "2024", "--approve", stdout=open("/dev/null", "w"))
    returns = SurveyReturn.objects.filter(edition=edition, institution__in=institutions)
    assert returns.count() == 2
    assert set(returns.values_list("status", flat=True)) == {ReturnStatus.APPROVED}
    expected = {code for code, value in clean_values(edition).items() if value is not None}
    for ret in returns:
        assert Answer.objects.filter(survey_return=ret).count() == len(expected)
        assert ret.version == 2
    staff = Answer.objects.get(survey_return__institution=institutions[0], item__code="staff_physician")
    assert staff.int_value == 5
    # One recomputation of the figures for the whole file, not one per return.
    assert len(callbacks) == 1
    events = AuditEvent.objects.filter(survey_return__institution=institutions[0], kind="value")
    assert events.count() == len(expected)
    assert set(events.values_list("source", flat=True)) == {AuditSource.IMPORT}


def test_command_rejects_whole_file_listing_every_error(edition, tmp_path):
    good, other = InstitutionFactory(), InstitutionFactory()
    rows = returns_rows(edition, [good, other])
    header = rows[0]
    rows[2][header.index("staff_nurse")] = "-3"
    rows[2][header.index("svc_pet")] = "maybe"
    rows.append(["NOPE999", *[""] * (len(header) - 1)])
    path = _write(tmp_path, "bad.csv", csv_bytes(rows))
    with pytest.raises(CommandError) as raised:
        call_command("import_returns", str(path), "--edition", "2024")
    message = str(raised.value)
    assert "nothing was written" in message
    assert "row 3" in message and "staff_nurse" in message and "negative" in message
    assert "svc_pet" in message and "maybe" in message
    assert "row 4" in message and "NOPE999" in message
    assert not SurveyReturn.objects.filter(institution__in=[good, other]).exists()


def test_command_exit_code_is_non_zero_on_error(edition, tmp_path, capsys):
    from django.core.management import execute_from_command_line

    path = _write(tmp_path, "bad.csv", b"institution_code,not_an_item\nX,1\n")
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "import_returns", str(path), "--edition", "2024"])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert "row 1, column B (not_an_item)" in err
    assert "is not an item code of the 2024 survey" in err


def test_rule_errors_reject_and_warnings_are_reported(edition):
    institution = InstitutionFactory()
    values = clean_values(edition)
    values["title_senior"] = 99  # titles no longer add up to the staff total
    with pytest.raises(SpreadsheetInvalid) as raised:
        returns_file_check(edition=edition, content=csv_bytes(returns_rows(edition, [institution], values)), filename="x.csv")
    assert any("title_senior" in (p.column or "") or "title" in p.message.lower() or "职称" in p.message
               for p in raised.value.problems)

    values = clean_values(edition)
    values["svc_rpt"] = False  # rpt_performs stays yes: a warning, not an error
    values["svc_rpt_outpatient"] = False
    plan = returns_file_check(edition=edition, content=csv_bytes(returns_rows(edition, [institution], values)), filename="x.csv")
    assert plan.warnings
    assert plan.returns[0].warnings


@pytest.mark.sqlite
def test_import_updates_only_changed_values_and_bumps_version(edition):
    admin = society_admin()
    institution = InstitutionFactory()
    values = clean_values(edition)
    ret = survey_return(edition=edition, institution=institution, values=values)
    changed = dict(values, iv_samples=1500)
    content = csv_bytes(returns_rows(edition, [institution], changed))
    plan = returns_file_check(edition=edition, content=content, filename="x.csv")
    assert plan.value_changes == 1
    assert plan.returns[0].changes[0].code == "iv_samples"
    result = returns_import(edition=edition, content=content, filename="x.csv", actor=admin)
    assert result.values_changed == 1 and result.returns_created == 0
    ret.refresh_from_db()
    assert ret.version == 2
    event = AuditEvent.objects.get(survey_return=ret, kind="value")
    assert (event.item_code, event.old_value, event.new_value, event.actor) == ("iv_samples", "1000", "1500", admin)
    assert event.return_version == 2
    # Importing the same file again changes nothing.
    again = returns_import(edition=edition, content=content, filename="x.csv", actor=admin)
    assert again.values_changed == 0
    ret.refresh_from_db()
    assert ret.version == 2


def test_blank_cell_clears_and_missing_column_keeps(edition):
    institution = InstitutionFactory()
    ret = survey_return(edition=edition, institution=institution, values={"svc_in_vitro": True, "iv_samples": 10, "iv_tests": 20})
    returns_import(edition=edition, content=b"institution_code,iv_samples\n" + institution.code.encode() + b",\n",
                   filename="x.csv", actor=None)
    assert dict(Answer.objects.filter(survey_return=ret).values_list("item__code", "int_value")) == {"svc_in_vitro": None, "iv_tests": 20}


def test_stale_preview_is_rejected(edition):
    institution = InstitutionFactory()
    content = csv_bytes(returns_rows(edition, [institution]))
    plan = returns_file_check(edition=edition, content=content, filename="x.csv")
    survey_return(edition=edition, institution=institution)  # someone starts the return meanwhile
    with pytest.raises(SpreadsheetInvalid) as raised:
        returns_import(edition=edition, content=content, filename="x.csv", actor=None, expected_versions=plan.versions())
    assert "after the preview" in str(raised.value) or "预览" in str(raised.value)
    assert not Answer.objects.filter(survey_return__institution=institution).exists()


@pytest.mark.sqlite
def test_xlsx_import_matches_csv(edition):
    institution = InstitutionFactory()
    rows = returns_rows(edition, [institution])
    result = returns_import(edition=edition, content=xlsx_bytes(rows), filename="r.xlsx", actor=None)
    assert result.returns_created == 1
    assert Answer.objects.get(survey_return__institution=institution, item__code="ownership").text_value == "public"


def test_reporter_scope_refuses_other_institutions(edition):
    own, other = InstitutionFactory(), InstitutionFactory()
    content = csv_bytes(returns_rows(edition, [own, other]))
    with pytest.raises(SpreadsheetInvalid) as raised:
        returns_import(edition=edition, content=content, filename="x.csv", actor=None, institution=own)
    assert [p.row for p in raised.value.problems] == [3]
    assert not SurveyReturn.objects.filter(institution__in=[own, other]).exists()


@pytest.mark.sqlite
def test_audit_value_rows_match_audit_value_events(edition):
    """The import's fast audit rows are exactly the shared audit service's events."""
    from django.utils import timezone

    from reporting.services.audit import audit_value_events
    from reporting.services.imports import EVENT_COLUMNS, audit_value_rows

    ret = survey_return(edition=edition)
    old = {"a": 1, "b": True, "c": None, "d": "x", "e": 0}
    new = {"a": 2, "b": True, "c": "public", "d": None, "e": False}
    now = timezone.now()
    rows = audit_value_rows(edition_id=edition.pk, return_id=ret.pk, old=old, new=new, actor_id=None, at=now,
                            return_version=3)
    events = audit_value_events(survey_return=ret, old=old, new=new, actor=None, source=AuditSource.IMPORT,
                                return_version=3)
    as_rows = [
        tuple(now if column == "at" else getattr(event, column) for column in EVENT_COLUMNS) for event in events
    ]
    assert rows == as_rows
    assert [row[6] for row in rows] == ["a", "c", "d", "e"]


def test_command_prints_warnings_and_approval_needs_complete_returns(edition, tmp_path, capsys):
    institution = InstitutionFactory()
    values = clean_values(edition)
    values["svc_rpt"] = False  # therapy performed but not offered: a warning
    values["svc_rpt_outpatient"] = False
    path = _write(tmp_path, "warn.csv", csv_bytes(returns_rows(edition, [institution], values)))
    call_command("import_returns", str(path), "--edition", "2024")
    err = capsys.readouterr().err
    assert "warning: row 2" in err

    partial = _write(tmp_path, "partial.csv", f"institution_code,iv_samples\n{InstitutionFactory().code},5\n".encode())
    with pytest.raises(CommandError) as raised:
        call_command("import_returns", str(partial), "--edition", "2024", "--approve")
    assert "must be answered" in str(raised.value)
