"""Property tests: random and mutated files never raise an unhandled exception nor write partly."""

import io
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from reporting.models import Answer, AuditEvent, SurveyReturn
from reporting.services.imports import returns_file_check, returns_import
from reporting.spreadsheets import SpreadsheetInvalid
from reporting.spreadsheets.layout import edition_items
from reporting.spreadsheets.parsing import returns_table_parse
from reporting.spreadsheets.reading import table_open
from reporting.spreadsheets.workbooks import template_workbook_build
from tests.factories import InstitutionFactory
from tests.reporting.entry_support import sent_text
from tests.reporting.spreadsheet_support import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (zh-hans is the site's default)."""
    from django.utils import translation

    with translation.override("en"):
        yield

PROPERTY = settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CODES = ["H1", "H2", "H3", "NOPE", ""]
COLUMNS = ["ownership", "svc_in_vitro", "iv_samples", "iv_tests", "eq_thyroid_analyzer", "svc_pet", "bogus", ""]
CELLS = st.one_of(
    st.sampled_from(["", "0", "1", "12", "-1", "1.5", "yes", "no", "是", "否", "public", "公立", "maybe",
                     "=1+1", "@SUM(A1)", "1,000", "２", "\t", "9999999999"]),
    st.text(max_size=8),
)


def _parse(content: bytes, edition, items) -> None:
    try:
        table = table_open(content=content, filename="upload.xlsx")
        returns_table_parse(table, edition=edition, items=items)
    except SpreadsheetInvalid:
        pass


@pytest.fixture
def template(edition):
    InstitutionFactory(code="H1")
    return template_workbook_build(edition=edition, items=edition_items(edition), rows=[("H1", "x", {"iv_samples": 3})])


@PROPERTY
@given(data=st.binary(max_size=4000))
def test_random_bytes_never_crash_the_reader(edition, data):
    _parse(data, edition, edition_items(edition))


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 40), cut=st.floats(0.05, 1.0))
def test_mutated_templates_never_crash(edition, template, seed, flips, cut):
    rng = random.Random(seed)
    content = bytearray(template[: max(4, int(len(template) * cut))])
    for _ in range(flips):
        content[rng.randrange(len(content))] = rng.randrange(256)
    items = edition_items(edition)
    _parse(bytes(content), edition, items)
    before = (Answer.objects.count(), SurveyReturn.objects.count(), AuditEvent.objects.count())
    try:
        returns_import(edition=edition, content=bytes(content), filename="m.xlsx", actor=None)
    except SpreadsheetInvalid:
        assert (Answer.objects.count(), SurveyReturn.objects.count(), AuditEvent.objects.count()) == before


def _grid_file(header, rows, as_xlsx):
    grid = [["institution_code", *header], *rows]
    if not as_xlsx:
        return csv_bytes(grid), "g.csv"
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook()
    for row in grid:  # control characters cannot be stored in a workbook at all
        workbook.active.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), "g.xlsx"


@PROPERTY
@given(
    header=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=5),
    rows=st.lists(st.tuples(st.sampled_from(CODES), st.lists(CELLS, max_size=6)), max_size=4),
    as_xlsx=st.booleans(),
)
def test_random_grids_import_all_or_nothing(edition, header, rows, as_xlsx):
    for code in ("H1", "H2", "H3"):
        InstitutionFactory(code=code)
    content, name = _grid_file(header, [[code, *cells] for code, cells in rows], as_xlsx)
    before = (Answer.objects.count(), SurveyReturn.objects.count(), AuditEvent.objects.count())
    try:
        plan = returns_file_check(edition=edition, content=content, filename=name)
    except SpreadsheetInvalid as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        plan = None
    try:
        returns_import(edition=edition, content=content, filename=name, actor=None)
    except SpreadsheetInvalid:
        assert plan is None  # the dry run and the import agree
        assert (Answer.objects.count(), SurveyReturn.objects.count(), AuditEvent.objects.count()) == before
        return
    assert plan is not None
    # Written whole: every row's file values are now the stored values.
    for entry in plan.returns:
        stored = {
            code: (i if i is not None else b if b is not None else t)
            for code, i, b, t in Answer.objects.filter(
                survey_return__edition=edition, survey_return__institution__code=entry.institution_code
            ).values_list("item__code", "int_value", "bool_value", "text_value")
        }
        for change in entry.changes:
            expected = change.new
            actual = stored.get(change.code)
            assert sent_text(actual) == expected
