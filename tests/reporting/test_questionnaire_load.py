"""Loading questionnaire definition files: good, bad in every way, and twice."""

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from reporting.models import Edition, Item, PublishedFigure, ValidationRule
from reporting.services.questionnaire import (
    DEFINITIONS_DIR,
    DefinitionInvalid,
    definition_read,
    edition_definition_load,
)

SHIPPED_2024 = DEFINITIONS_DIR / "2024"


@pytest.fixture
def definition_copy(tmp_path) -> Path:
    """A writable copy of the 2024 definition as a next edition (2027) would start."""
    folder = tmp_path / "2027"
    shutil.copytree(SHIPPED_2024, folder)
    toml = (folder / "edition.toml").read_text(encoding="utf-8")
    toml = toml.replace("year = 2024", "year = 2027").replace('version = "2024.2"', 'version = "2027.1"')
    (folder / "edition.toml").write_text(toml, encoding="utf-8")
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` of a definition file, which must hold it."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _edit_items(folder: Path, old: str, new: str) -> None:
    _edit(folder / "items.csv", old, new)


@pytest.mark.sqlite
def test_shipped_2024_definition_has_every_item_of_the_instrument(edition):
    items = Item.objects.filter(edition=edition)
    assert items.count() == 123
    rpt_beds = items.get(code="rpt_beds")
    assert rpt_beds.applies_if.code == "rpt_performs"
    assert rpt_beds.unit_zh == "张"
    staff = items.filter(part_of="staff").values_list("code", flat=True)
    assert len(staff) == 8 and "staff_physician" in staff
    ownership = items.get(code="ownership")
    assert ownership.choice_codes == ["public", "nonpublic"]
    assert ownership.choices[0]["label_zh"] == "公立"
    assert edition.previous.year == 2019
    assert ValidationRule.objects.filter(edition=edition, severity="error").count() == 3


def test_2019_edition_has_published_totals_and_no_returns(edition_2019):
    figures = dict(PublishedFigure.objects.filter(edition=edition_2019).values_list("key", "value"))
    assert figures["positron_units"] == 427
    assert figures["tx_total"] == 525480
    assert len(figures) == 10
    assert not edition_2019.returns.exists()
    assert not edition_2019.items.exists()


def test_loading_twice_changes_nothing(edition):
    before = list(Item.objects.filter(edition=edition).order_by("pk").values())
    loaded, changed = edition_definition_load(path=SHIPPED_2024)
    assert loaded == edition and changed is False
    assert list(Item.objects.filter(edition=edition).order_by("pk").values()) == before


def test_setup_survey_command_reports_unchanged_second_time(edition, capsys):
    call_command("setup_survey")
    out = capsys.readouterr().out
    assert "Edition 2024 (definition 2024.2): unchanged; 123 items" in out


def test_next_edition_is_a_new_file_not_code(db, edition, definition_copy):
    _edit_items(
        definition_copy,
        "op_suggestions,opinions,text",
        "op_ai_use,opinions,boolean,,,,,,,,Uses AI-assisted reading,使用人工智能辅助诊断\nop_suggestions,opinions,text",
    )
    new, changed = edition_definition_load(path=definition_copy)
    assert changed
    assert new.year == 2027
    assert new.items.count() == 124
    assert new.items.get(code="op_ai_use").type == "boolean"
    assert Item.objects.filter(edition=edition).count() == 123  # 2024 untouched


def test_changed_definition_updates_in_place(db, edition, definition_copy):
    edition_definition_load(path=definition_copy)
    _edit_items(definition_copy, "PET or PET/CT scanners", "PET and PET/CT scanners")
    ids_before = set(Item.objects.filter(edition__year=2027).values_list("pk", flat=True))
    _, changed = edition_definition_load(path=definition_copy)
    assert changed
    assert set(Item.objects.filter(edition__year=2027).values_list("pk", flat=True)) == ids_before
    assert Item.objects.get(edition__year=2027, code="eq_pet_ct").label_en == "PET and PET/CT scanners"


BAD_ITEM_EDITS = [
    pytest.param(
        "eq_pet_ct,equipment,integer", "eq_pet_ct,equipment,decimal",
        "items.csv, row 14, column type: unknown type 'decimal'", id="unknown-type",
    ),
    pytest.param(
        "eq_pet_mr,equipment,integer", "eq_pet_ct,equipment,integer",
        "items.csv, row 15, column code: duplicate code 'eq_pet_ct' (first on row 14)", id="duplicate-code",
    ),
    pytest.param(
        "beds,张,rpt_performs,", "beds,张,rpt_performed,",
        "items.csv, row 83, column applies_if: names missing item 'rpt_performed'", id="applies-if-missing",
    ),
    pytest.param(
        ",,staff,Staff: physicians", ",,stafff,Staff: physicians",
        "items.csv, row 102, column part_of: names missing group or item 'stafff'", id="part-of-missing",
    ),
    pytest.param(
        "public|nonpublic,Public|Non-public", "public||nonpublic,Public|Non-public",
        "items.csv, row 2, column choices: a choice item needs codes separated by |, none empty", id="malformed-choices",
    ),
    pytest.param(
        "public|nonpublic,Public|Non-public", "public|public,Public|Non-public",
        "items.csv, row 2, column choices: repeats a choice code", id="repeated-choice",
    ),
    pytest.param(
        "svc_rpt_ward,services,boolean,,,,,,svc_rpt", "svc_rpt_ward,services,boolean,,,,,,eq_pet_ct",
        "items.csv, row 8, column applies_if: must name a boolean item; 'eq_pet_ct' is integer", id="applies-if-not-boolean",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD_ITEM_EDITS)
def test_bad_definition_is_rejected_with_row_and_column_and_nothing_loaded(
    db, edition, definition_copy, old, new, expected
):
    _edit_items(definition_copy, old, new)
    with pytest.raises(DefinitionInvalid) as caught:
        edition_definition_load(path=definition_copy)
    messages = [str(problem) for problem in caught.value.problems]
    assert any(message.startswith(expected) for message in messages), messages
    assert not Edition.objects.filter(year=2027).exists()


def test_bad_definition_lists_every_problem(definition_copy):
    _edit_items(definition_copy, "eq_pet_ct,equipment,integer", "eq_pet_ct,equipment,decimal")
    _edit_items(definition_copy, "beds,张,rpt_performs,", "beds,张,nothing_here,")
    with pytest.raises(DefinitionInvalid) as caught:
        definition_read(definition_copy)
    columns = {(p.row, p.column) for p in caught.value.problems}
    assert {(14, "type"), (83, "applies_if")} <= columns


def test_bad_rule_and_figure_files_are_rejected(definition_copy):
    _edit(definition_copy / "rules.csv", "sum(part_of=edu) ==", "sum(part_of=educ) ==")
    _edit(definition_copy / "published-figures.csv", "dept_total,1237", "dept_total,many")
    with pytest.raises(DefinitionInvalid) as caught:
        definition_read(definition_copy)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("rules.csv, row 3, column condition:") and "'educ'" in m for m in messages), messages
    assert "published-figures.csv, row 2, column value: 'many' is not a number" in messages


def test_setup_survey_command_rejects_bad_folder(db, edition, definition_copy):
    _edit_items(definition_copy, "eq_pet_ct,equipment,integer", "eq_pet_ct,equipment,decimal")
    with pytest.raises(CommandError, match="row 14, column type: unknown type 'decimal'"):
        call_command("setup_survey", path=[definition_copy])
    assert not Edition.objects.filter(year=2027).exists()


def test_bad_previous_change_parameters_are_rejected_at_load(definition_copy):
    _edit(definition_copy / "rules.csv", "pct=50;min_abs=20", "pct=half;min_abs=20")
    with pytest.raises(DefinitionInvalid) as caught:
        definition_read(definition_copy)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("rules.csv, row 15, column condition: pct must be a whole number") for m in messages), messages
