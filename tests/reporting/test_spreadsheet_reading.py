"""Reading and parsing uploaded files: every kind of bad file gets a clear message."""

import io
import zipfile

import pytest
from openpyxl import load_workbook

from reporting.models import Answer, SurveyReturn
from reporting.services.imports import returns_file_check, returns_import
from reporting.spreadsheets import SpreadsheetInvalid
from reporting.spreadsheets.layout import edition_items
from reporting.spreadsheets.parsing import returns_table_parse
from reporting.spreadsheets.reading import csv_text_decode, table_open
from reporting.spreadsheets.workbooks import template_workbook_build
from tests.factories import InstitutionFactory
from tests.reporting.spreadsheet_support import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (zh-hans is the site's default)."""
    from django.utils import translation

    with translation.override("en"):
        yield

HEADER = ["institution_code", "ownership", "svc_pet", "eq_thyroid_analyzer", "eq_bone_densitometer"]


def _problems(edition, content, filename="x.csv"):
    with pytest.raises(SpreadsheetInvalid) as raised:
        returns_file_check(edition=edition, content=content, filename=filename)
    return raised.value.problems


def _messages(problems):
    return "\n".join(str(p) for p in problems)


@pytest.fixture
def institution(db):
    return InstitutionFactory(code="H0001", name="北京协和医院")


@pytest.mark.parametrize("encoding,bom", [("utf-8", False), ("utf-8", True), ("gbk", False), ("gb18030", False)])
def test_csv_encodings_excel_writes_are_all_accepted(edition, institution, encoding, bom):
    rows = [HEADER + ["institution_name"], ["H0001", "公立", "是", "1", "0", "北京协和医院"]]
    content = csv_bytes(rows, encoding=encoding)
    if bom:
        content = b"\xef\xbb\xbf" + content
    plan = returns_file_check(edition=edition, content=content, filename="x.csv")
    changes = {c.code: c.new for c in plan.returns[0].changes}
    assert changes == {"ownership": "public", "svc_pet": "yes", "eq_thyroid_analyzer": "1", "eq_bone_densitometer": "0"}


@pytest.mark.sqlite
def test_csv_text_decode_prefers_utf8_then_gb18030():
    assert csv_text_decode("机构".encode("gb18030")) == "机构"
    assert csv_text_decode("\ufeff机构".encode()) == "机构"
    with pytest.raises(SpreadsheetInvalid):
        csv_text_decode(b"\x00\x01binary")


@pytest.mark.sqlite
@pytest.mark.parametrize("content,expected", [
    (b"", "empty"),
    (b"%PDF-1.7\n\x00\x00\x00", "not a spreadsheet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xls"),
    (b"PK\x03\x04not really a zip", "damaged"),
    (b"\x80\x81\xfd\xff\xfe" * 10, "not a spreadsheet we can read"),
])
def test_files_that_are_not_spreadsheets(content, expected):
    with pytest.raises(SpreadsheetInvalid) as raised:
        table_open(content=content, filename="upload.xlsx" if content.startswith(b"PK") else "upload.csv")
    assert expected in str(raised.value)


@pytest.mark.sqlite
def test_a_zip_that_is_no_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(SpreadsheetInvalid) as raised:
        table_open(content=buffer.getvalue(), filename="x.xlsx")
    assert "not an Excel workbook" in str(raised.value)


def _bomb(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * size)
    return buffer.getvalue()


@pytest.mark.sqlite
def test_zip_bomb_is_refused_before_inflating():
    content = _bomb(20 * 1024 * 1024)
    assert len(content) < 100_000
    with pytest.raises(SpreadsheetInvalid) as raised:
        table_open(content=content, filename="bomb.xlsx")
    assert "zip bomb" in str(raised.value)


@pytest.mark.sqlite
def test_uncompressed_size_cap(settings):
    settings.SPREADSHEET_MAX_UNCOMPRESSED_BYTES = 500_000
    content = xlsx_bytes([["institution_code", "eq_thyroid_analyzer"]] + [[f"H{i}", i] for i in range(20_000)])
    with pytest.raises(SpreadsheetInvalid) as raised:
        table_open(content=content, filename="big.xlsx")
    assert "limit" in str(raised.value)


@pytest.mark.sqlite
def test_file_size_cap(settings):
    settings.SPREADSHEET_MAX_BYTES = 1000
    with pytest.raises(SpreadsheetInvalid) as raised:
        table_open(content=b"institution_code,eq_thyroid_analyzer\n" + b"H1,1\n" * 500, filename="x.csv")
    assert "limit is" in str(raised.value)


def test_row_cap(edition, settings):
    settings.SPREADSHEET_MAX_DATA_ROWS = 10
    rows = [["institution_code", "eq_thyroid_analyzer"]] + [[f"H{i}", "1"] for i in range(11)]
    problems = _problems(edition, csv_bytes(rows))
    assert "more than 10" in _messages(problems)


def test_formulas_are_refused_naming_the_cell(edition, institution):
    content = xlsx_bytes([HEADER, ["H0001", "public", "yes", 1, 0]], formulas=[("D2", "=1+1")])
    problems = _problems(edition, content, "x.xlsx")
    assert len(problems) == 1
    assert problems[0].row == 2 and problems[0].column == "D (eq_thyroid_analyzer)"
    assert "formula" in problems[0].message and "=1+1" in problems[0].message


def test_merged_cells_are_refused(edition, institution):
    content = xlsx_bytes([HEADER, ["H0001", "public", "yes", 1, 0]], merge="D2:E2")
    problems = _problems(edition, content, "x.xlsx")
    assert "D2:E2" in _messages(problems) and "Merged" in _messages(problems)


def test_empty_rows_are_skipped(edition, institution):
    other = InstitutionFactory(code="H0002")
    rows = [HEADER, [], ["H0001", "public", "yes", "1", "0"], ["", "", "", "", ""], [other.code, "", "", "", ""], []]
    for content, name in ((csv_bytes(rows), "x.csv"), (xlsx_bytes(rows), "x.xlsx")):
        plan = returns_file_check(edition=edition, content=content, filename=name)
        assert [p.institution_code for p in plan.returns] == ["H0001", "H0002"]


def test_duplicate_institution_rows(edition, institution):
    rows = [HEADER, ["H0001", "public", "", "", ""], ["H0001", "nonpublic", "", "", ""]]
    problems = _problems(edition, csv_bytes(rows))
    assert [(p.row, p.column) for p in problems] == [(3, "A (institution_code)")]
    assert "first in row 2" in problems[0].message


def test_unknown_institution_and_item_codes(edition, institution):
    problems = _problems(edition, csv_bytes([HEADER + ["pet_exam_bogus"], ["H0001", "", "", "", "", ""]]))
    assert [(p.row, p.column) for p in problems] == [(1, "F (pet_exam_bogus)")]
    problems = _problems(edition, csv_bytes([HEADER, ["ZZ404", "", "", "", ""]]))
    assert "No institution has the code ZZ404" in _messages(problems)


def test_another_editions_template_is_refused(edition, institution):
    rows = [HEADER, ["#edition", "2019"], ["H0001", "public", "", "", ""]]
    problems = _problems(edition, xlsx_bytes(rows), "x.xlsx")
    assert len(problems) == 1 and "2019" in problems[0].message and "2024" in problems[0].message


def test_header_must_start_with_institution_code(edition):
    problems = _problems(edition, csv_bytes([["code", "eq_thyroid_analyzer"], ["H1", "1"]]))
    assert problems[0].row == 1 and "institution_code" in problems[0].message


def test_values_in_columns_without_header(edition, institution):
    problems = _problems(edition, csv_bytes([["institution_code", "eq_thyroid_analyzer", ""], ["H0001", "1", "oops"]]))
    assert [(p.row, p.column) for p in problems] == [(2, "C")]


def test_numeric_institution_codes_from_excel(edition):
    InstitutionFactory(code="110001")
    plan = returns_file_check(edition=edition, content=xlsx_bytes([["institution_code", "eq_thyroid_analyzer"], [110001, 2.0]]),
                              filename="x.xlsx")
    assert plan.returns[0].institution_code == "110001"
    assert plan.returns[0].changes[0].new == "2"


def test_template_round_trip(edition, institution):
    """The downloaded template, filled with openpyxl, imports what was typed."""
    items = edition_items(edition)
    content = template_workbook_build(edition=edition, items=items, rows=[("H0001", "北京协和医院", {})])
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=6, column=header.index("ownership") + 1, value="非公立")  # a label from the drop-down
    sheet.cell(row=6, column=header.index("svc_in_vitro") + 1, value="是")
    sheet.cell(row=6, column=header.index("iv_samples") + 1, value=120)
    buffer = io.BytesIO()
    workbook.save(buffer)
    returns_import(edition=edition, content=buffer.getvalue(), filename="t.xlsx", actor=None)
    answers = dict(Answer.objects.filter(survey_return__institution=institution).values_list("item__code", "text_value"))
    assert answers["ownership"] == "nonpublic"
    assert Answer.objects.get(survey_return__institution=institution, item__code="iv_samples").int_value == 120
    assert SurveyReturn.objects.filter(institution=institution).count() == 1


@pytest.mark.sqlite
def test_parse_collects_every_cell_problem_without_db_writes(edition):
    table = table_open(content=csv_bytes([HEADER, ["A", "maybe", "perhaps", "-1", "1.5"]]), filename="x.csv")
    parsed = returns_table_parse(table, edition=edition, items=edition_items(edition))
    assert [p.column for p in parsed.problems] == ["B (ownership)", "C (svc_pet)", "D (eq_thyroid_analyzer)", "E (eq_bone_densitometer)"]


def _rewrite_member(content: bytes, member: str, transform) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info.filename, transform(data) if info.filename == member else data)
    return buffer.getvalue()


@pytest.mark.sqlite
def test_xml_entities_are_refused():
    """A DTD (billion laughs, external entities) is refused before any XML is parsed."""
    content = xlsx_bytes([HEADER, ["H0001", "public", "yes", 1, 0]])
    laughs = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'

    def with_dtd(data: bytes) -> bytes:
        return laughs + (data[data.index(b"?>") + 2:] if b"?>" in data[:100] else data)

    bad = _rewrite_member(content, "xl/worksheets/sheet1.xml", with_dtd)
    with pytest.raises(SpreadsheetInvalid) as raised:
        table_open(content=bad, filename="x.xlsx")
    assert "could not be read" in str(raised.value)


def test_xlsx_cell_kinds_are_read(edition, institution):
    """Shared strings (with rich-text runs), inline strings, booleans and numbers, as Excel stores them."""
    main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    content = xlsx_bytes([HEADER, ["H0001", "public", True, 3, 2.0]])
    assert list(table_open(content=content, filename="x.xlsx").rows)[1] == (2, ["H0001", "public", True, 3, 2])

    def shared_cells(data: bytes) -> bytes:
        data = data.replace(b'<c r="A2" t="inlineStr"><is><t>H0001</t></is></c>', b'<c r="A2" t="s"><v>1</v></c>')
        return data.replace(b'<c r="B2" t="inlineStr"><is><t>public</t></is></c>', b'<c r="B2" t="s"><v>0</v></c>')

    def shared_rel(data: bytes) -> bytes:
        return data.replace(b"</Relationships>", (
            b'<Relationship Id="rIdS" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/sharedStrings"/></Relationships>'
        ))

    content = _rewrite_member(content, "xl/worksheets/sheet1.xml", shared_cells)
    content = _rewrite_member(content, "xl/_rels/workbook.xml.rels", shared_rel)
    buffer = io.BytesIO(content)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("xl/sharedStrings.xml", b'<sst xmlns="' + main + b'"><si><t>nonpublic</t></si>'
                         b"<si><r><t>H00</t></r><r><t>01</t></r><rPh><t>x</t></rPh></si></sst>")
    rows = list(table_open(content=buffer.getvalue(), filename="x.xlsx").rows)
    assert rows[1] == (2, ["H0001", "nonpublic", True, 3, 2])


def test_formula_text_in_csv_is_refused_too(edition, institution):
    problems = _problems(edition, csv_bytes([HEADER, ["H0001", "public", "yes", "=2*3", "0"]]))
    assert [(p.row, p.column) for p in problems] == [(2, "D (eq_thyroid_analyzer)")]
    assert "formula" in problems[0].message


def test_excel_unicode_text_and_sep_hint_are_accepted(edition, institution):
    """Excel's "Unicode text" (UTF-16, tab-separated) and a CSV with Excel's "sep=" line."""
    text = "\t".join(HEADER) + "\r\nH0001\t公立\t是\t1\t0\r\n"
    plan = returns_file_check(edition=edition, content=text.encode("utf-16"), filename="x.txt")
    assert {c.code: c.new for c in plan.returns[0].changes}["ownership"] == "public"
    content = ("sep=;\n" + ";".join(HEADER) + "\nH0001;public;no;2;0\n").encode()
    plan = returns_file_check(edition=edition, content=content, filename="x.csv")
    assert {c.code: c.new for c in plan.returns[0].changes}["eq_thyroid_analyzer"] == "2"
    assert plan.returns[0].row == 3


def test_a_zip_claiming_an_unsupported_version_is_a_damaged_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    content = bytearray(buffer.getvalue())
    # The central directory entry's "version needed to extract" (offset 6): 14.2, which the
    # zipfile module refuses with NotImplementedError rather than BadZipFile.
    central = content.index(b"PK\x01\x02")
    content[central + 6:central + 8] = (142).to_bytes(2, "little")
    with pytest.raises(SpreadsheetInvalid, match="damaged"):
        table_open(content=bytes(content), filename="upload.xlsx")
