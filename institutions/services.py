"""Writes to the institution registry and to people's roles."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import tablib
from django.core.exceptions import ValidationError
from django.db import transaction

from institutions.models import Province
from institutions.resources import InstitutionResource

PROVINCES_CSV = Path(__file__).resolve().parent / "data" / "provinces.csv"
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000


@transaction.atomic
def province_list_load() -> int:
    """Make sure the 31 provincial divisions exist (the migration does this on a new database)."""
    count = 0
    with PROVINCES_CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            Province.objects.update_or_create(
                code=row["code"], defaults={"name_zh": row["name_zh"], "name_en": row["name_en"]}
            )
            count += 1
    return count


@dataclass(frozen=True)
class ImportProblem:
    row: int | None  # spreadsheet numbering: the header is row 1
    column: str | None
    message: str

    def __str__(self):
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return (", ".join(parts) + ": " if parts else "") + self.message


class InstitutionImportInvalid(Exception):
    def __init__(self, problems: list[ImportProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class InstitutionImportResult:
    created: int
    updated: int
    unchanged: int


def institution_dataset_read(*, content: bytes, filename: str) -> tablib.Dataset:
    """A CSV (UTF-8 with or without BOM, or GB18030 as Excel on Chinese Windows saves it) or XLSX file."""
    if len(content) > MAX_IMPORT_BYTES:
        raise InstitutionImportInvalid([ImportProblem(None, None, f"the file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB")])
    name = filename.lower()
    try:
        if name.endswith(".xlsx"):
            dataset = tablib.Dataset().load(io.BytesIO(content), format="xlsx")
        elif name.endswith(".csv"):
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    text = content.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                raise InstitutionImportInvalid([ImportProblem(None, None, "the CSV file is neither UTF-8 nor GB18030 text")])
            dataset = tablib.Dataset().load(text, format="csv")
        else:
            raise InstitutionImportInvalid([ImportProblem(None, None, "expected a .csv or .xlsx file")])
    except InstitutionImportInvalid:
        raise
    except Exception as exc:  # a broken file of any kind is the user's problem to fix, not a crash
        raise InstitutionImportInvalid([ImportProblem(None, None, f"the file could not be read as {name.rsplit('.', 1)[-1].upper()}: {exc}")]) from exc
    dataset.headers = [str(h or "").strip().lower() for h in (dataset.headers or [])]
    if dataset.height > MAX_IMPORT_ROWS:
        raise InstitutionImportInvalid([ImportProblem(None, None, f"the file has {dataset.height} rows; at most {MAX_IMPORT_ROWS} are accepted")])
    return dataset


def _dataset_without_blank_rows(dataset: tablib.Dataset) -> tuple[tablib.Dataset, list[int]]:
    """Drop empty rows; return the kept rows' spreadsheet row numbers."""
    kept = tablib.Dataset(headers=dataset.headers)
    numbers = []
    for index, row in enumerate(dataset, start=2):
        if all(cell is None or str(cell).strip() == "" for cell in row):
            continue
        kept.append(row)
        numbers.append(index)
    return kept, numbers


@transaction.atomic
def institution_import(*, dataset: tablib.Dataset, actor=None) -> InstitutionImportResult:
    """Create or update institutions by code. Every problem is listed; on any, nothing is written."""
    dataset, row_numbers = _dataset_without_blank_rows(dataset)
    problems: list[ImportProblem] = []
    if "code" in (dataset.headers or []):
        seen: dict[str, int] = {}
        for number, row in zip(row_numbers, dataset.dict, strict=True):
            code = str(row.get("code") or "").strip()
            if code.endswith(".0"):
                code = code[:-2]
            if code in seen:
                problems.append(ImportProblem(number, "code", f"duplicate code '{code}' (also on row {seen[code]})"))
            elif code:
                seen[code] = number
    resource = InstitutionResource()
    try:
        result = resource.import_data(dataset, dry_run=True, raise_errors=False, use_transactions=True)
    except ValidationError as exc:
        raise InstitutionImportInvalid([ImportProblem(1, None, message) for message in exc.messages]) from exc
    for error in result.base_errors:
        problems.append(ImportProblem(None, None, str(error.error)))
    for index, errors in result.row_errors():
        for error in errors:
            problems.append(ImportProblem(row_numbers[index - 1], None, str(error.error)))
    for invalid in result.invalid_rows:
        number = row_numbers[invalid.number - 1]
        for column, messages in invalid.field_specific_errors.items():
            for message in messages:
                problems.append(ImportProblem(number, column, str(message)))
        for message in invalid.non_field_specific_errors:
            problems.append(ImportProblem(number, None, str(message)))
    if problems:
        raise InstitutionImportInvalid(sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    result = resource.import_data(dataset, dry_run=False, raise_errors=True, use_transactions=True)
    totals = result.totals
    return InstitutionImportResult(
        created=totals.get("new", 0), updated=totals.get("update", 0), unchanged=totals.get("skip", 0)
    )


DEMO_PASSWORD = "survey-demo-2024"


@transaction.atomic
def demo_accounts_create(*, institution=None) -> list[tuple[str, str, str]]:
    """One account per role for trying the app: (username, password, what it can do).

    The reporter belongs to `institution`, by default the first active one (the demo
    dataset's first), the liaison to that institution's province. Running it again resets
    the same accounts.
    """
    from django.contrib.auth import get_user_model

    from institutions.models import Institution, Membership, Role

    User = get_user_model()
    institution = institution or Institution.objects.active().order_by("code").first()
    if institution is None:
        raise ValueError("no institution exists yet: load the demo data or import institutions first")
    accounts = [
        ("reporter", Role.REPORTER, {"institution": institution}, f"reporter of {institution.code} {institution.name}"),
        ("liaison", Role.LIAISON, {"province": institution.province}, f"liaison of province {institution.province}"),
        ("admin", Role.ADMIN, {}, "society admin (national; Django admin too)"),
    ]
    created = []
    for username, role, scope, description in accounts:
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.invalid"})
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.set_password(DEMO_PASSWORD)
        user.save()
        Membership.objects.update_or_create(
            user=user, defaults={"role": role, "institution": None, "province": None, **scope}
        )
        created.append((username, DEMO_PASSWORD, description))
    return created
