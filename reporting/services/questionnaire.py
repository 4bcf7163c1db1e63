"""Loading an edition's definition files into the database.

A definition folder (``reporting/definitions/<year>/``) holds:

- ``edition.toml``: year, data year, version, titles, dates, previous edition, status;
- ``sections.csv``, ``groups.csv``, ``items.csv``: the questionnaire;
- ``rules.csv``: cross-item validation rules;
- ``indicators.csv``: the report definition;
- ``published-figures.csv``: figures as the society printed them.

Every file but ``edition.toml`` is optional, so an edition known only by its published
totals (2019) is one small folder. The whole folder is read and checked before anything is
written; a bad folder is rejected with every problem listed by file, row and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from reporting.indicators import indicator_definition_errors
from reporting.models import (
    Edition,
    EditionStatus,
    Indicator,
    IndicatorFormat,
    Item,
    ItemType,
    PartOfGroup,
    PublishedFigure,
    RuleSeverity,
    Section,
    ValidationRule,
)
from reporting.rules import (
    RULE_KINDS,
    RuleSyntaxError,
    previous_change_parameters,
    rule_definition_errors,
)

DEFINITIONS_DIR = Path(__file__).resolve().parent.parent / "definitions"
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
INDICATOR_FORMATS = set(IndicatorFormat.values)

FILES = {
    "sections.csv": ["code", "title_en", "title_zh"],
    "groups.csv": ["code", "label_en", "label_zh"],
    "items.csv": ["code", "section", "type", "label_en", "label_zh"],
    "rules.csv": ["code", "severity", "kind", "condition", "message_en", "message_zh"],
    "indicators.csv": ["key", "format", "definition"],
    "published-figures.csv": ["key", "value"],
}


@dataclass(frozen=True)
class DefinitionProblem:
    file: str
    row: int | None  # spreadsheet numbering: the header is row 1
    column: str | None
    message: str

    def __str__(self):
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class DefinitionInvalid(Exception):
    def __init__(self, problems: list[DefinitionProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class EditionDefinition:
    path: Path
    meta: dict
    checksum: str
    sections: list[dict] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    rules: list[dict] = field(default_factory=list)
    indicators: list[dict] = field(default_factory=list)
    published: list[dict] = field(default_factory=list)


def _read_csv(path: Path, problems: list[DefinitionProblem]) -> list[tuple[int, dict]]:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        problems.append(DefinitionProblem(name, None, None, "is not UTF-8 text"))
        return []
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [col for col in FILES[name] if col not in header]
    for col in missing:
        problems.append(DefinitionProblem(name, 1, col, "required column is missing"))
    if missing:
        return []
    rows = []
    for row_number, row in enumerate(reader, start=2):
        if None in row:
            problems.append(DefinitionProblem(name, row_number, None, "has more cells than the header"))
            continue
        rows.append((row_number, {k: (v or "").strip() for k, v in row.items()}))
    return rows


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|")] if value else []


def definition_read(path: Path) -> EditionDefinition:
    """Read and check one definition folder; raise DefinitionInvalid listing every problem."""
    path = Path(path)
    problems: list[DefinitionProblem] = []
    meta_path = path / "edition.toml"
    if not meta_path.exists():
        raise DefinitionInvalid([DefinitionProblem("edition.toml", None, None, "file is missing")])
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        if file.is_file():
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
    try:
        meta = tomllib.loads(meta_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DefinitionInvalid([DefinitionProblem("edition.toml", None, None, str(exc))]) from exc
    for key, kind in (("year", int), ("data_year", int), ("version", str), ("title_en", str), ("title_zh", str)):
        if not isinstance(meta.get(key), kind):
            problems.append(DefinitionProblem("edition.toml", None, key, f"must be a {kind.__name__}"))
    for key in ("opens_on", "closes_on"):
        if key in meta and not isinstance(meta[key], dt.date):
            problems.append(DefinitionProblem("edition.toml", None, key, "must be a date (YYYY-MM-DD)"))
    if meta.get("status", EditionStatus.DRAFT) not in EditionStatus.values:
        problems.append(DefinitionProblem("edition.toml", None, "status", f"must be one of {', '.join(EditionStatus.values)}"))
    if "previous" in meta and not isinstance(meta["previous"], int):
        problems.append(DefinitionProblem("edition.toml", None, "previous", "must be a year"))

    definition = EditionDefinition(path=path, meta=meta, checksum=digest.hexdigest())
    rows = {name: _read_csv(path / name, problems) if (path / name).exists() else [] for name in FILES}

    section_codes = _check_codes("sections.csv", "code", rows["sections.csv"], problems)
    group_codes = _check_codes("groups.csv", "code", rows["groups.csv"], problems)
    item_rows = rows["items.csv"]
    item_codes = _check_codes("items.csv", "code", item_rows, problems)
    item_types = {row["code"]: row["type"] for _, row in item_rows}
    choice_codes: set[str] = set()

    definition.sections = [row for _number, row in rows["sections.csv"]]
    definition.groups = [row for _number, row in rows["groups.csv"]]

    for number, row in item_rows:
        def problem(column, message, number=number):
            problems.append(DefinitionProblem("items.csv", number, column, message))

        kind = row["type"]
        if kind not in ItemType.values:
            problem("type", f"unknown type '{kind}' (expected one of {', '.join(ItemType.values)})")
        if row["section"] not in section_codes:
            problem("section", f"names unknown section '{row['section']}'")
        for col in ("label_en", "label_zh"):
            if not row[col]:
                problem(col, "must not be empty")
        choices = _split(row.get("choices", ""))
        if kind == ItemType.CHOICE:
            if not choices or any(not c for c in choices):
                problem("choices", "a choice item needs codes separated by |, none empty")
            elif len(set(choices)) != len(choices):
                problem("choices", "repeats a choice code")
            for col in ("choice_labels_en", "choice_labels_zh"):
                labels = _split(row.get(col, ""))
                if labels and len(labels) != len(choices):
                    problem(col, f"has {len(labels)} labels for {len(choices)} choices")
            choice_codes.update(choices)
        elif choices:
            problem("choices", f"only choice items have choices, not {kind} items")
        applies_if = row.get("applies_if", "")
        if applies_if:
            if applies_if not in item_codes:
                problem("applies_if", f"names missing item '{applies_if}'")
            elif item_types.get(applies_if) != ItemType.BOOLEAN:
                problem("applies_if", f"must name a boolean item; '{applies_if}' is {item_types.get(applies_if)}")
            elif applies_if == row["code"]:
                problem("applies_if", "an item cannot depend on itself")
        part_of = row.get("part_of", "")
        if part_of:
            if kind != ItemType.INTEGER:
                problem("part_of", "only integer items can be part of a total")
            if part_of not in group_codes and part_of not in item_codes:
                problem("part_of", f"names missing group or item '{part_of}'")
        definition.items.append({**row, "choices": choices, "_row": number})

    # applies_if chains must end: a cycle would make an item depend on itself.
    parents = {row["code"]: row.get("applies_if") for _, row in item_rows}
    for number, row in item_rows:
        seen, code = set(), row["code"]
        while code and code not in seen:
            seen.add(code)
            code = parents.get(code)
        if code:
            problems.append(DefinitionProblem("items.csv", number, "applies_if", "forms a cycle"))

    rule_codes = _check_codes("rules.csv", "code", rows["rules.csv"], problems)
    del rule_codes
    for number, row in rows["rules.csv"]:
        def problem(column, message, number=number):
            problems.append(DefinitionProblem("rules.csv", number, column, message))

        if row["severity"] not in RuleSeverity.values:
            problem("severity", f"must be one of {', '.join(RuleSeverity.values)}")
        if row["kind"] not in RULE_KINDS:
            problem("kind", f"unknown kind '{row['kind']}'")
        elif row["kind"] == "expression":
            for column in ("when", "condition"):
                for message in rule_definition_errors(
                    column=column, text=row.get(column, ""), item_codes=item_codes, group_codes=group_codes
                ):
                    problem(column, message)
        elif row["kind"] == "previous_change":
            try:
                previous_change_parameters(row["condition"])
            except RuleSyntaxError as exc:
                problem("condition", str(exc))
        fields = _split(row.get("fields", ""))
        for name in fields:
            target = name.removeprefix("part_of=")
            if target not in item_codes and target not in group_codes:
                problem("fields", f"names unknown item '{target}'")
        definition.rules.append({**row, "fields": fields})

    indicator_keys = _check_codes("indicators.csv", "key", rows["indicators.csv"], problems)
    for number, row in rows["indicators.csv"]:
        if row["format"] not in INDICATOR_FORMATS:
            problems.append(DefinitionProblem("indicators.csv", number, "format", f"must be one of {', '.join(sorted(INDICATOR_FORMATS))}"))
        for message in indicator_definition_errors(
            definition=row["definition"], item_codes=item_codes, group_codes=group_codes,
            choice_codes=choice_codes, indicator_keys=indicator_keys,
        ):
            problems.append(DefinitionProblem("indicators.csv", number, "definition", message))
        definition.indicators.append(row)

    _check_codes("published-figures.csv", "key", rows["published-figures.csv"], problems)
    for number, row in rows["published-figures.csv"]:
        try:
            value = Decimal(row["value"])
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append(DefinitionProblem("published-figures.csv", number, "value", f"'{row['value']}' is not a number"))
            continue
        fmt = row.get("format") or IndicatorFormat.INT
        if fmt not in INDICATOR_FORMATS:
            problems.append(DefinitionProblem("published-figures.csv", number, "format", f"must be one of {', '.join(sorted(INDICATOR_FORMATS))}"))
        definition.published.append({"key": row["key"], "value": value, "format": fmt, "quote": row.get("quote", "")})

    if problems:
        raise DefinitionInvalid(problems)
    return definition


def _check_codes(file: str, column: str, rows, problems) -> set[str]:
    seen: dict[str, int] = {}
    for number, row in rows:
        code = row[column]
        if not code:
            problems.append(DefinitionProblem(file, number, column, "must not be empty"))
        elif column == "code" and not CODE_PATTERN.match(code):
            problems.append(DefinitionProblem(file, number, column, f"'{code}' must be lower-case letters, digits and _"))
        elif code in seen:
            problems.append(DefinitionProblem(file, number, column, f"duplicate code '{code}' (first on row {seen[code]})"))
        else:
            seen[code] = number
    return set(seen)


def _upsert(model, edition, key_field: str, rows: list[dict], *, delete_missing: bool = True) -> None:
    """Make the edition's rows of `model` exactly `rows`: update, create, delete extras."""
    existing = {getattr(obj, key_field): obj for obj in model.objects.filter(edition=edition)}
    wanted = set()
    for values in rows:
        key = values[key_field]
        wanted.add(key)
        obj = existing.get(key)
        if obj is None:
            model.objects.create(edition=edition, **values)
            continue
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, values[name])
            obj.save(update_fields=changed)
    if delete_missing:
        model.objects.filter(edition=edition).exclude(**{f"{key_field}__in": wanted}).delete()


def edition_definition_load(*, path: Path | str) -> tuple[Edition, bool]:
    """Load one definition folder. Returns (edition, changed); unchanged files write nothing."""
    return edition_definition_save(definition=definition_read(Path(path)))


@transaction.atomic
def edition_definition_save(*, definition: EditionDefinition) -> tuple[Edition, bool]:
    """Write a definition that ``definition_read`` checked (possibly adapted, as the demo
    edition is). Returns (edition, changed); a definition with the stored checksum writes nothing."""
    meta = definition.meta
    edition = Edition.objects.filter(year=meta["year"]).first()
    if edition is not None and edition.definition_checksum == definition.checksum:
        return edition, False

    previous = None
    if meta.get("previous"):
        previous = Edition.objects.filter(year=meta["previous"]).first()
        if previous is None:
            raise DefinitionInvalid([DefinitionProblem("edition.toml", None, "previous", f"edition {meta['previous']} is not loaded")])
    fields = {
        "data_year": meta["data_year"],
        "title_en": meta["title_en"],
        "title_zh": meta["title_zh"],
        "opens_on": meta.get("opens_on"),
        "closes_on": meta.get("closes_on"),
        "previous": previous,
        "definition_version": meta["version"],
        "definition_checksum": definition.checksum,
    }
    if edition is None:
        # The file's status is where a new edition starts; afterwards admins move it.
        edition = Edition.objects.create(year=meta["year"], status=meta.get("status", EditionStatus.DRAFT), **fields)
    else:
        for name, value in fields.items():
            setattr(edition, name, value)
        edition.save()

    _upsert(Section, edition, "code", [
        {"code": row["code"], "position": pos, "title_en": row["title_en"], "title_zh": row["title_zh"]}
        for pos, row in enumerate(definition.sections, start=1)
    ], delete_missing=False)
    _upsert(PartOfGroup, edition, "code", [
        {"code": row["code"], "label_en": row["label_en"], "label_zh": row["label_zh"]}
        for row in definition.groups
    ])
    sections = {s.code: s for s in Section.objects.filter(edition=edition)}
    item_rows = []
    for pos, row in enumerate(definition.items, start=1):
        labels_en = _split(row.get("choice_labels_en", ""))
        labels_zh = _split(row.get("choice_labels_zh", ""))
        item_rows.append({
            "code": row["code"],
            "position": pos,
            "section": sections[row["section"]],
            "type": row["type"],
            "choices": [
                {
                    "code": code,
                    "label_en": labels_en[i] if labels_en else code,
                    "label_zh": labels_zh[i] if labels_zh else code,
                }
                for i, code in enumerate(row["choices"])
            ],
            "unit_en": row.get("unit", ""),
            "unit_zh": row.get("unit_zh", ""),
            "part_of": row.get("part_of", ""),
            "label_en": row["label_en"],
            "label_zh": row["label_zh"],
        })
    # applies_if points at other items: set after every item exists.
    _upsert(Item, edition, "code", [{**row, "applies_if": None} for row in item_rows])
    items = {i.code: i for i in Item.objects.filter(edition=edition)}
    for row in definition.items:
        parent = items.get(row.get("applies_if", ""))
        item = items[row["code"]]
        if item.applies_if_id != (parent.pk if parent else None):
            item.applies_if = parent
            item.save(update_fields=["applies_if"])
    Section.objects.filter(edition=edition).exclude(code__in=[r["code"] for r in definition.sections]).delete()

    _upsert(ValidationRule, edition, "code", [
        {
            "code": row["code"], "position": pos, "severity": row["severity"], "kind": row["kind"],
            "when": row.get("when", ""), "condition": row["condition"], "fields": row["fields"],
            "message_en": row["message_en"], "message_zh": row["message_zh"],
        }
        for pos, row in enumerate(definition.rules, start=1)
    ])
    _upsert(Indicator, edition, "key", [
        {
            "key": row["key"], "position": pos, "section": row.get("section", ""), "format": row["format"],
            "definition": row["definition"], "label_en": row.get("label_en", ""), "label_zh": row.get("label_zh", ""),
        }
        for pos, row in enumerate(definition.indicators, start=1)
    ])
    _upsert(PublishedFigure, edition, "key", definition.published)
    return edition, True


def definition_folders() -> list[Path]:
    """The editions the project ships, oldest first (a later one may name an earlier one)."""
    folders = [p for p in DEFINITIONS_DIR.iterdir() if (p / "edition.toml").exists()]
    return sorted(folders, key=lambda p: int(p.name) if p.name.isdigit() else 0)
