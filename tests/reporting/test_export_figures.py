"""`manage.py export_figures` and `manage.py aggregate`, as the survey README specifies them."""

import csv
import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from institutions.models import Province
from reporting.models import FigureValue, Item, ReturnStatus
from tests.factories import InstitutionFactory, survey_return


def _complete(edition, **overrides):
    values = {}
    for code, kind in Item.objects.filter(edition=edition).values_list("code", "type"):
        if kind == "integer":
            values[code] = 0
        elif kind == "boolean":
            values[code] = False
    values.update({"ownership": "public", "hospital_level": "tertiary_a", "dept_affiliation": "independent",
                   "licence_class": "II"})
    return values | overrides


@pytest.fixture
def approved(edition):
    survey_return(edition=edition, institution=InstitutionFactory(code="E1"), status=ReturnStatus.APPROVED,
                  values=_complete(edition, eq_pet_ct=2, staff_physician=3, staff_nurse=1, svc_pet=True))
    survey_return(edition=edition, institution=InstitutionFactory(code="E2", province=Province.objects.get(code="65")),
                  status=ReturnStatus.APPROVED, values=_complete(edition, ownership="nonpublic", co_exam_tumor=5))
    out = io.StringIO()
    call_command("aggregate", "--edition", "2024", stdout=out)
    assert "figures computed (171 national)" in out.getvalue()


def _export(*args) -> str:
    out = io.StringIO()
    call_command("export_figures", "--edition", "2024", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.sqlite
def test_national_csv_has_the_contract_columns_and_unrounded_values(approved):
    rows = list(csv.DictReader(io.StringIO(_export())))
    assert list(rows[0]) == ["edition", "group_by", "group", "key", "value"]
    assert len(rows) == 171  # 163 printed figures and 8 per-capita ones
    by_key = {r["key"]: r for r in rows}
    assert by_key["dept_total"] == {"edition": "2024", "group_by": "national", "group": "national",
                                    "key": "dept_total", "value": "2"}
    assert by_key["svc_pet_pct"]["value"] == "50"
    assert by_key["staff_physician_pct"]["value"] == "75"
    assert by_key["co_exam_tumor_pct"]["value"] == "100"
    assert by_key["pet_exam_tumor_pct"]["value"] == ""  # zero denominator: empty, not an error
    assert by_key["co_exam_growth"]["value"] == "-99.97622557"  # (5-21031)/21031, unrounded
    assert [r["key"] for r in rows[:3]] == ["dept_total", "dept_public", "dept_nonpublic"]


@pytest.mark.sqlite
def test_breakdowns_group_by_registry_province_and_the_returns_own_answers(approved):
    rows = list(csv.DictReader(io.StringIO(_export("--by", "province"))))
    assert {r["group_by"] for r in rows} == {"province"}
    assert {r["group"] for r in rows} == {"11", "65"}
    assert {(r["group"], r["value"]) for r in rows if r["key"] == "dept_total"} == {("11", "1"), ("65", "1")}
    assert not [r for r in rows if r["key"].endswith("_growth")]  # 2019 has national totals only
    ownership = {r["group"] for r in csv.DictReader(io.StringIO(_export("--by", "ownership")))}
    assert ownership == {"public", "nonpublic"}
    levels = {r["group"] for r in csv.DictReader(io.StringIO(_export("--by", "hospital_level")))}
    assert levels == {"tertiary_a"}


@pytest.mark.sqlite
def test_json_and_xlsx_carry_the_same_rows(approved, tmp_path):
    data = json.loads(_export("--format", "json"))
    assert data[0] == {"edition": 2024, "group_by": "national", "group": "national", "key": "dept_total",
                       "value": 2}
    target = tmp_path / "figures.xlsx"
    call_command("export_figures", "--edition", "2024", "--by", "province", "--format", "xlsx",
                 "--output", str(target), stdout=io.StringIO(), stderr=io.StringIO())
    sheet = openpyxl.load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("edition", "group_by", "group", "key", "value")
    assert rows[1] == (2024, "province", "11", "dept_total", 1)
    csv_file = tmp_path / "figures.csv"
    call_command("export_figures", "--edition", "2024", "--output", str(csv_file), stdout=io.StringIO(),
                 stderr=io.StringIO())
    assert csv_file.read_text(encoding="utf-8").splitlines()[0] == "edition,group_by,group,key,value"


@pytest.mark.sqlite
def test_bad_arguments_are_named(edition):
    with pytest.raises(CommandError, match="--edition: there is no edition 1990"):
        call_command("export_figures", "--edition", "1990", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--output"):
        call_command("export_figures", "--edition", "2024", "--format", "xlsx", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("export_figures", "--edition", "2024", "--by", "city", stdout=io.StringIO())
    with pytest.raises(CommandError, match="no edition 1990"):
        call_command("aggregate", "--edition", "1990", stdout=io.StringIO())


@pytest.mark.sqlite
def test_an_edition_without_figures_exports_just_the_header(edition):
    err = io.StringIO()
    out = io.StringIO()
    call_command("export_figures", "--edition", "2024", stdout=out, stderr=err)
    assert out.getvalue().strip() == "edition,group_by,group,key,value"
    assert "manage.py aggregate" in err.getvalue()


def test_aggregate_goes_through_celery_when_a_broker_is_configured(approved, settings, monkeypatch):
    """With a broker the command queues the task and waits on its result."""
    from reporting.management.commands import aggregate

    calls = []

    class FakeResult:
        id = "task-1"

        def get(self, timeout):
            calls.append(("get", timeout))
            return 7

    monkeypatch.setattr(aggregate.edition_recompute_task, "delay",
                        lambda edition_id, **options: calls.append((edition_id, options)) or FakeResult())
    settings.CELERY_BROKER_URL = "redis://example:6379/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    out = io.StringIO()
    call_command("aggregate", "--edition", "2024", "--timeout", "30", stdout=out)
    assert calls[1] == ("get", 30.0)
    assert "Queued task task-1" in out.getvalue() and "7 figures computed" in out.getvalue()
    assert FigureValue.objects.filter(edition__year=2024).exists()
