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


def test_rows_are_read_a_chunk_at_a_time(edition, five_returns, django_assert_num_queries):
    # items, then per chunk of 2: one page of returns + one query of their answers, then the empty page.
    with django_assert_num_queries(1 + 3 * 2 + 1):
        rows = list(returns_export_rows(edition=edition, chunk_size=2))
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
