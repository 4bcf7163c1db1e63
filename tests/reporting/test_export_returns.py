"""The institution-level export service: layout, neutralisation, chunked (bounded) reading."""

import io

import pytest
from openpyxl import load_workbook

from reporting.models import ReturnStatus
from reporting.services.exports import (
    returns_export_csv_chunks,
    returns_export_rows,
    returns_export_xlsx_file,
)
from tests.factories import InstitutionFactory, survey_return

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_returns(edition):
    return [
        survey_return(edition=edition, institution=InstitutionFactory(code=f"E{n:03d}"),
                      values={"eq_pet_ct": n, "svc_pet": n % 2 == 0, "ownership": "public"},
                      status=ReturnStatus.APPROVED if n < 3 else ReturnStatus.DRAFT)
        for n in range(5)
    ]


def test_rows_are_read_a_chunk_at_a_time(edition, five_returns):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        rows = list(returns_export_rows(edition=edition, chunk_size=2))
    # The items, then one query per page of 2 returns (with their answers); the last page is
    # short, so no empty page is asked for. (Each page runs in a transaction of its own, with
    # JIT compilation off: savepoints here, inside the test's transaction.)
    selects = [query["sql"] for query in queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE", "SET"))]
    assert len(selects) == 1 + 3, selects
    data = [row for row in rows[5:]]
    assert [row[0] for row in data] == ["E000", "E001", "E002", "E003", "E004"]
    header = rows[0]
    assert [row[header.index("eq_pet_ct")] for row in data] == [0, 1, 2, 3, 4]
    assert [row[header.index("svc_pet")] for row in data] == ["yes", "no", "yes", "no", "yes"]
    assert len(header) == 5 + 123


def test_status_filter(edition, five_returns):
    rows = list(returns_export_rows(edition=edition, statuses=[ReturnStatus.APPROVED]))
    assert [row[0] for row in rows[5:]] == ["E000", "E001", "E002"]


def test_cells_are_neutralised(edition):
    survey_return(edition=edition, institution=InstitutionFactory(code="E900", name="@cmd|' /C calc'!A0"))
    text = "".join(returns_export_csv_chunks(edition=edition))
    assert text.startswith("\ufeffinstitution_code,")
    assert "'@cmd" in text


def test_xlsx_written_in_write_only_mode(edition, five_returns):
    handle = returns_export_xlsx_file(edition=edition)
    sheet = load_workbook(io.BytesIO(handle.read()), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "institution_code" and rows[1][:2] == ("#edition", 2024)
    assert [row[0] for row in rows[5:]] == ["E000", "E001", "E002", "E003", "E004"]


# --- the fast rows against a plain reference ------------------------------------------------
#
# The export reads each page's answers already gathered by PostgreSQL and neutralises only the
# text that can start a formula; the reference below is the export as first written (one
# return at a time, every answer through the ORM, every cell through cell_neutralise). The
# files must stay identical byte for byte.

FORMULAS = ["=1+1", "-2+3", "+SUM(A1:A2)", "@cmd|' /C calc'!A0", " =HYPERLINK(\"x\")", "\t=1", "\r=1"]
HARMLESS = ["- 无", "--", "-5", "+3", "'quoted", "对核医学，\"建议\"\n两行", "plain text", "１２ full-width"]


def _reference_rows(edition, statuses=None):
    from reporting.formula_safety import cell_neutralise, row_neutralise
    from reporting.models import SurveyReturn
    from reporting.spreadsheets.layout import edition_items, item_hint, item_label
    from reporting.values import value_display

    items = edition_items(edition)
    blanks = [""] * 4
    yield ["institution_code", "institution_name", "province", "return_status", "return_version",
           *(item.code for item in items)]
    yield ["#edition", edition.year, edition.title_zh, edition.title_en]
    yield ["#zh", *blanks, *(item_label(item, "zh") for item in items)]
    yield ["#en", *blanks, *(item_label(item, "en") for item in items)]
    yield ["#hint", *blanks, *(item_hint(item) for item in items)]
    returns = SurveyReturn.objects.filter(edition=edition).select_related("institution").order_by("institution__code")
    if statuses:
        returns = returns.filter(status__in=statuses)
    for stored in returns:
        institution = stored.institution
        answers = {answer.item_id: answer for answer in stored.answers.all()}
        row = row_neutralise([institution.code, institution.name, institution.province_id, stored.status,
                              stored.version])
        for item in items:
            answer = answers.get(item.id)
            if answer is None:
                row.append("")
            elif item.type == "integer":
                row.append(cell_neutralise(answer.int_value))
            else:
                value = answer.bool_value if item.type == "boolean" else answer.text_value
                row.append(cell_neutralise(value_display(value)))
        yield row


def _reference_csv(rows) -> bytes:
    import csv

    output = io.StringIO()
    writer = csv.writer(output)
    for row in rows:
        writer.writerow(row)
    return ("\ufeff" + output.getvalue()).encode("utf-8")


def _reference_xlsx(rows) -> bytes:
    from openpyxl import Workbook

    from reporting.spreadsheets.workbooks import xlsx_safe

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("returns")
    for row in rows:
        sheet.append([xlsx_safe(value) for value in row])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _xlsx_parts(data: bytes) -> dict[str, bytes]:
    """The workbook's files, without its creation time (docProps/core.xml)."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name != "docProps/core.xml"}


def _typed(rows):
    return [[(type(value), value) for value in row] for row in rows]


@pytest.fixture
def varied_returns(edition, edition_2019):
    """Every item type answered, left blank and answered empty; text that is and is not a
    formula; Chinese; control characters; every status; an answer to another edition's item."""
    from reporting.models import Answer, Item

    statuses = list(ReturnStatus.values)
    for n in range(9):
        texts = FORMULAS + HARMLESS
        values = {
            "eq_pet_ct": n * 1000, "svc_pet": n % 2 == 0, "svc_rpt": n % 3 == 0,
            "ownership": ["public", "nonpublic", "=1+1"][n % 3], "licence_class": "II",
            "op_suggestions": texts[n % len(texts)] if n % 4 else texts[(n + 7) % len(texts)] + "\x01",
        }
        if n == 4:
            values = {}  # nothing answered
        institution = InstitutionFactory(code=f"V{n:03d}", name=["=HYPERLINK(1)", "第二医院", "-1+2", "北京协和医院"][n % 4])
        survey_return(edition=edition, institution=institution, status=statuses[n % len(statuses)], values=values)
    last = institution.returns.get()
    # Answers stored empty (an integer without a number, yes/no without either), a text that
    # is only a formula's tail, and an answer to an item of another edition (not exported).
    other_edition_item = Item.objects.create(
        edition=edition_2019, section=Item.objects.filter(edition=edition).first().section, code="eq_spect",
        position=1, type="integer", label_en="SPECT", label_zh="SPECT")
    items = {item.code: item for item in Item.objects.filter(edition=edition, code__in=["eq_spect", "svc_probe_lab",
                                                                                         "dept_affiliation"])}
    Answer.objects.bulk_create([
        Answer(survey_return=last, item=items["eq_spect"], int_value=None),
        Answer(survey_return=last, item=items["svc_probe_lab"], bool_value=None),
        Answer(survey_return=last, item=items["dept_affiliation"], text_value=None),
        Answer(survey_return=last, item=other_edition_item, int_value=7),
    ])


@pytest.mark.sqlite
@pytest.mark.parametrize("statuses", [None, [ReturnStatus.APPROVED, ReturnStatus.SUBMITTED]])
def test_rows_equal_the_reference_on_every_path(edition, varied_returns, statuses):
    from django.db import connection

    from reporting.services import exports
    from reporting.spreadsheets.layout import edition_items

    reference = list(_reference_rows(edition, statuses))
    assert len(reference) > 6
    assert _typed(exports.returns_export_rows(edition=edition, statuses=statuses, chunk_size=2)) == _typed(reference)
    if connection.vendor == "postgresql":  # the path SQLite takes, here too
        pages = exports._pages_portable(edition=edition, items=edition_items(edition), statuses=statuses, chunk_size=2)
        assert _typed(row for page in pages for row in page) == _typed(reference[5:])


@pytest.mark.sqlite
def test_files_equal_the_reference_byte_for_byte(edition, varied_returns):
    reference = list(_reference_rows(edition))
    streamed = "".join(returns_export_csv_chunks(edition=edition)).encode("utf-8")
    assert streamed == _reference_csv(reference)
    assert b"'=HYPERLINK(1)" in streamed and "第二医院".encode() in streamed
    assert _xlsx_parts(returns_export_xlsx_file(edition=edition).read()) == _xlsx_parts(_reference_xlsx(reference))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_jobs_write_the_reference_files(edition, varied_returns, fmt):
    from jobs.models import BackgroundJob
    from jobs.storage import survey_files
    from reporting.services.export_jobs import returns_export_job_run, returns_export_job_start
    from tests.factories import society_admin

    job = returns_export_job_start(edition=edition, actor=society_admin(), fmt=fmt)
    returns_export_job_run(job_id=job.pk)
    job = BackgroundJob.objects.get(pk=job.pk)
    assert (job.state, job.done, job.total) == ("done", 9, 9)
    with survey_files().open(job.file_name) as handle:
        written = handle.read()
    reference = list(_reference_rows(edition))
    if fmt == "csv":
        assert written == _reference_csv(reference)
    else:
        assert _xlsx_parts(written) == _xlsx_parts(_reference_xlsx(reference))
