"""`manage.py export_figures` and `manage.py aggregate`, as the survey README specifies them."""

import csv
import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from reporting.formula_safety import cell_neutralise
from reporting.models import FigureValue
from reporting.selectors_report import figure_export_rows, value_number, value_plain
from reporting.services.exports import figure_download_rows, figures_csv, figures_json, figures_xlsx
from tests.factories import approved_pair


@pytest.fixture
def approved(edition):
    approved_pair(edition)
    out = io.StringIO()
    call_command("aggregate", "--edition", "2024", stdout=out)
    assert "figures computed (171 national)" in out.getvalue()


CONTRACT = ["edition", "group_by", "group", "key", "value"]


def _export(*args) -> str:
    out = io.StringIO()
    call_command("export_figures", "--edition", "2024", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.sqlite
def test_national_csv_has_the_contract_columns_and_unrounded_values(approved):
    rows = list(csv.DictReader(io.StringIO(_export())))
    assert list(rows[0])[:5] == ["edition", "group_by", "group", "key", "value"]
    assert len(rows) == 171  # 163 printed figures and 8 per-capita ones
    by_key = {r["key"]: r for r in rows}
    assert {k: by_key["dept_total"][k] for k in CONTRACT} == {
        "edition": "2024", "group_by": "national", "group": "national", "key": "dept_total", "value": "2"}
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
    assert {k: data[0][k] for k in CONTRACT} == {"edition": 2024, "group_by": "national", "group": "national",
                                                 "key": "dept_total", "value": 2}
    assert list(data[0])[:5] == CONTRACT
    target = tmp_path / "figures.xlsx"
    call_command("export_figures", "--edition", "2024", "--by", "province", "--format", "xlsx",
                 "--output", str(target), stdout=io.StringIO(), stderr=io.StringIO())
    sheet = openpyxl.load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("edition", "group_by", "group", "key", "value")
    assert rows[2][:5] == (2024, "province", "11", "dept_total", 1)  # row 2: the headers for people
    csv_file = tmp_path / "figures.csv"
    call_command("export_figures", "--edition", "2024", "--output", str(csv_file), stdout=io.StringIO(),
                 stderr=io.StringIO())
    assert csv_file.read_text(encoding="utf-8").splitlines()[0].startswith("edition,group_by,group,key,value,")


# ---- readable downloads: the contract columns as before, then what a person needs ----------


def _old_contract_rows(edition, by):
    """The first five columns exactly as the exports wrote them before the readable columns
    (tablib over `figure_export_rows`): (CSV text, JSON and XLSX values)."""
    rows = figure_export_rows(edition=edition, breakdown=by)
    as_csv = [[str(cell_neutralise(c)) for c in (year, group_by, group, key)] + [value_plain(value)]
              for year, group_by, group, key, value in rows]
    as_numbers = [[cell_neutralise(c) for c in (year, group_by, group, key)] + [value_number(value)]
                  for year, group_by, group, key, value in rows]
    return as_csv, as_numbers


@pytest.mark.parametrize("by", [None, "province", "ownership", "hospital_level", "all"])
def test_the_contract_columns_are_unchanged(approved, edition, tmp_path, by):
    old_csv, old_numbers = _old_contract_rows(edition, by)
    assert len(old_csv) > 10
    rows = figure_download_rows(edition=edition, breakdown=by)
    table = list(csv.reader(io.StringIO(figures_csv(rows))))
    assert table[0][:5] == CONTRACT
    assert [r[:5] for r in table[1:]] == old_csv
    web = list(csv.reader(io.StringIO(figures_csv(rows, for_excel=True).removeprefix("\ufeff"))))
    assert [r[:5] for r in web] == [CONTRACT, *old_csv]
    data = figures_json(rows)
    assert [list(d)[:5] for d in data] == [CONTRACT] * len(data)
    assert [[d[k] for k in CONTRACT] for d in data] == old_numbers
    sheet = openpyxl.load_workbook(io.BytesIO(figures_xlsx(rows))).active
    cells = list(sheet.iter_rows(values_only=True))
    assert list(cells[0][:5]) == CONTRACT
    assert [list(r[:5]) for r in cells[2:]] == old_numbers


def _rows_by(text: str) -> dict:
    return {(r["group_by"], r["group"], r["key"]): r for r in csv.DictReader(io.StringIO(text))}


@pytest.mark.sqlite
def test_csv_names_the_indicator_and_group_in_both_languages_and_rounds_as_printed(approved):
    columns = _export().splitlines()[0].split(",")
    assert columns == [*CONTRACT, "value_rounded", "unit", "label_zh", "label_en", "group_zh", "group_en",
                       "format"]
    national = _rows_by(_export())
    dept = national[("national", "national", "dept_total")]
    assert dept["value_rounded"] == "2" and dept["unit"] == "" and dept["format"] == "int"
    assert (dept["label_zh"], dept["label_en"]) == ("参加普查的科室（家）", "Departments in the survey")
    assert (dept["group_zh"], dept["group_en"]) == ("全国", "National")
    pet = national[("national", "national", "svc_pet_pct")]
    assert (pet["value"], pet["value_rounded"], pet["unit"], pet["format"]) == ("50", "50.0", "%", "pct1")
    growth = national[("national", "national", "co_exam_growth")]
    assert (growth["value"], growth["value_rounded"]) == ("-99.97622557", "-99.98")  # pct2, as printed
    empty = national[("national", "national", "pet_exam_tumor_pct")]
    assert empty["value"] == "" and empty["value_rounded"] == ""
    provinces = _rows_by(_export("--by", "province"))
    assert provinces[("province", "11", "dept_total")]["group_zh"] == "北京市"
    assert provinces[("province", "65", "dept_total")]["group_en"] == "Xinjiang"
    ownership = _rows_by(_export("--by", "ownership"))
    assert ownership[("ownership", "nonpublic", "dept_total")]["group_zh"] == "非公立"
    level = _rows_by(_export("--by", "hospital_level"))[("hospital_level", "tertiary_a", "dept_total")]
    assert (level["group_zh"], level["group_en"]) == ("三级甲等", "Top-tier tertiary (3A)")


@pytest.mark.sqlite
def test_json_carries_the_same_readable_fields_as_numbers(approved):
    data = {(d["group_by"], d["group"], d["key"]): d for d in json.loads(_export("--format", "json", "--by", "province"))}
    row = data[("province", "11", "svc_pet_pct")]
    assert row == {"edition": 2024, "group_by": "province", "group": "11", "key": "svc_pet_pct", "value": 100,
                   "value_rounded": 100, "unit": "%", "label_zh": "开展PET显像（%）",
                   "label_en": "Offer PET imaging (%)", "group_zh": "北京市", "group_en": "Beijing", "format": "pct1"}
    national = {d["key"]: d for d in json.loads(_export("--format", "json"))}
    assert national["co_exam_growth"]["value_rounded"] == -99.98
    assert national["pet_exam_tumor_pct"]["value_rounded"] is None


def test_xlsx_has_bilingual_frozen_headers_widths_and_numbers(approved, tmp_path):
    target = tmp_path / "figures.xlsx"
    call_command("export_figures", "--edition", "2024", "--format", "xlsx", "--output", str(target),
                 stdout=io.StringIO(), stderr=io.StringIO())
    sheet = openpyxl.load_workbook(target).active
    names = [c.value for c in sheet[1]]
    headers = dict(zip(names, [c.value for c in sheet[2]], strict=True))
    assert headers["label_zh"] == "指标（中文） / Indicator (Chinese)"
    assert headers["value_rounded"] == "报告中的数值（取整） / Value as printed"
    assert all(" / " in header for header in headers.values())  # Chinese / English
    assert sheet.freeze_panes == "A3"  # both header rows stay in view
    assert sheet.column_dimensions["H"].width == 40  # the Chinese label is readable
    rows = {r[3]: dict(zip(names, r, strict=True)) for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["dept_total"]["value"] == 2 and isinstance(rows["dept_total"]["value"], int)
    assert rows["co_exam_growth"]["value_rounded"] == -99.98
    cells = {row[3].value: row for row in sheet.iter_rows(min_row=3)}
    rounded = names.index("value_rounded")
    assert cells["dept_total"][rounded].number_format == "#,##0"
    assert cells["svc_pet_pct"][rounded].number_format == "0.0"
    assert cells["co_exam_growth"][rounded].number_format == "0.00"


def test_the_readable_rows_cost_five_queries_whatever_the_groups(approved, edition, django_assert_num_queries):
    with django_assert_num_queries(5):
        rows = figure_download_rows(edition=edition, breakdown="all")
    assert {r.group_by for r in rows} == {"national", "province", "ownership", "hospital_level"}
    assert all(r.label_zh and r.label_en and r.group_zh and r.group_en for r in rows)


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
    assert out.getvalue().strip().split(",")[:5] == CONTRACT
    assert len(out.getvalue().strip().splitlines()) == 1
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
