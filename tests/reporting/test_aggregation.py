"""Aggregation: each kind of indicator on a small hand-built dataset with a known answer."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connections

from institutions.models import Province
from reporting.indicators import (
    ChoiceIn,
    Compare,
    Count,
    Growth,
    IndicatorSyntaxError,
    IsYes,
    Logical,
    indicator_definition_errors,
    indicator_parse,
)
from reporting.models import (
    Edition,
    FigureValue,
    Indicator,
    Item,
    ReturnStatus,
    Section,
)
from reporting.services import aggregation
from reporting.services.aggregation import edition_figures_compute, edition_figures_rows
from tests.factories import InstitutionFactory, survey_return, zero_values

# A second database, SQLite in memory, registered before the test databases are set up, so
# one test can run the aggregation on both engines over the same rows.
SQLITE_ALIAS = "aggregation_sqlite_check"
if SQLITE_ALIAS not in settings.DATABASES:
    settings.DATABASES[SQLITE_ALIAS] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    connections.settings[SQLITE_ALIAS] = connections.configure_settings(
        {"default": settings.DATABASES["default"], SQLITE_ALIAS: settings.DATABASES[SQLITE_ALIAS]}
    )[SQLITE_ALIAS]

# ---- the notation -------------------------------------------------------------------


@pytest.mark.sqlite
def test_parse_conditions_of_every_kind():
    tree = indicator_parse(
        "100*count(eq_pet_ct+eq_pet_mr>0 and hospital_level in tertiary_a|tertiary_other)"
        "/count(eq_pet_ct+eq_pet_mr>0)"
    )
    numerator = tree.left.right
    assert isinstance(numerator, Count)
    assert isinstance(numerator.condition, Logical)
    assert isinstance(numerator.condition.left, Compare)
    assert numerator.condition.right == ChoiceIn("hospital_level", ("tertiary_a", "tertiary_other"))
    assert indicator_parse("count(svc_pet)") == Count(IsYes("svc_pet"))
    assert indicator_parse("count(ownership=public)") == Count(ChoiceIn("ownership", ("public",)))
    assert indicator_parse("growth(tx_total)") == Growth("tx_total")


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("", "empty"),
        ("count(svc_pet", "expected ')'"),
        ("svc_pet", "item codes go inside count or sum"),
        ("100*growth(tx_total)", "whole definition"),
        ("count(count(svc_pet))", "cannot be used inside"),
        ("sum(a,)", "expected an item code"),
        ("count(x) $", "unexpected"),
    ],
)
def test_syntax_errors_say_what_is_wrong(definition, message):
    with pytest.raises(IndicatorSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        indicator_parse(definition)


@pytest.mark.sqlite
def test_definition_errors_name_unknown_codes_and_wrong_types():
    errors = indicator_definition_errors(
        definition="100*count(nope)/sum(part_of=ghost) + count(ownership=martian)",
        item_codes={"ownership", "svc_pet"}, group_codes={"staff"}, choice_codes={"public"},
        indicator_keys=set(),
    )
    assert "names unknown item 'nope'" in errors
    assert "names unknown part_of group 'ghost'" in errors
    assert "'martian' is not a choice code of 'ownership'" in errors
    typed = indicator_definition_errors(
        definition="sum(svc_pet)", item_codes={"svc_pet"}, group_codes=set(), choice_codes=set(),
        indicator_keys=set(), item_types={"svc_pet": "boolean"},
    )
    assert typed == ["'svc_pet' is a boolean item, not integer"]
    assert indicator_definition_errors(
        definition="growth(missing)", item_codes=set(), group_codes=set(), choice_codes=set(),
        indicator_keys={"tx_total"},
    ) == ["growth names unknown indicator 'missing'"]


def test_shipped_definitions_are_sound(edition):
    assert edition.indicators.count() == 171
    items = dict(Item.objects.filter(edition=edition).values_list("code", "type"))
    for indicator in edition.indicators.all():
        tree = indicator_parse(indicator.definition)
        assert tree is not None
        assert indicator_definition_errors(
            definition=indicator.definition, item_codes=set(items),
            group_codes=set(edition.groups.values_list("code", flat=True)),
            choice_codes={c["code"] for i in edition.items.all() for c in i.choices},
            indicator_keys=set(edition.indicators.values_list("key", flat=True)), item_types=items,
        ) == [], indicator.key


# ---- known answers ------------------------------------------------------------------


@pytest.fixture
def small_dataset(edition):
    beijing, shanghai = Province.objects.get(code="11"), Province.objects.get(code="31")
    rows = [
        # (province, registry ownership, answered ownership, level, overrides)
        (beijing, "public", "public", "tertiary_a",
         {"svc_pet": True, "eq_pet_ct": 2, "eq_pet_mr": 1, "eq_cyclotron": 1, "staff_physician": 6,
          "staff_nurse": 2, "dept_affiliation": "independent", "licence_class": "IIIA",
          "tx_i131_graves": 30, "tx_other": 10, "rpt_performs": True}),
        (beijing, "public", "nonpublic", "secondary",  # the return's own answer decides the group
         {"svc_pet": True, "eq_pet_ct": 0, "eq_pet_mr": 0, "staff_physician": 1, "staff_nurse": 1,
          "dept_affiliation": "imaging", "licence_class": "IIIB"}),
        (shanghai, "public", "public", "tertiary_other",
         {"svc_pet": False, "eq_pet_ct": 1, "staff_physician": 2, "dept_affiliation": "independent",
          "licence_class": "II"}),
    ]
    returns = []
    for number, (province, registry_owner, owner, level, overrides) in enumerate(rows):
        institution = InstitutionFactory(code=f"K{number}", province=province, ownership=registry_owner)
        values = zero_values(edition) | {"ownership": owner, "hospital_level": level} | overrides
        returns.append(survey_return(edition=edition, institution=institution,
                                     status=ReturnStatus.APPROVED, values=values))
    # A submitted (not approved) return never counts.
    survey_return(edition=edition, institution=InstitutionFactory(code="K9"), status=ReturnStatus.SUBMITTED,
                  values=zero_values(edition) | {"ownership": "public", "hospital_level": "tertiary_a", "eq_pet_ct": 50})
    return returns


def _figures(edition):
    return {
        (f.breakdown, f.group, f.key): f.value for f in FigureValue.objects.filter(edition=edition)
    }


def _assert_known_answers(edition):
    figures = _figures(edition)
    national = {key: value for (b, g, key), value in figures.items() if b == "national"}
    assert national["dept_total"] == 3  # N
    assert national["svc_pet_n"] == 2  # count(boolean)
    assert national["svc_pet_pct"] == Decimal("66.66666667")  # 100*count/N, 8 places
    assert national["dept_public"] == 2  # count(choice=value), from the answers
    assert national["dept_nonpublic"] == 1
    assert national["dept_tertiary"] == 2  # count(choice in a|b)
    assert national["licence_class_iii"] == 2
    assert national["positron_inst_pct"] == Decimal("66.66666667")  # count(expr>0)/N
    assert national["positron_inst_tertiary_pct"] == 100  # count(.. and ..)/count(..)
    assert national["cyclotron_inst"] == 1
    assert national["positron_units"] == 4  # sum + sum
    assert national["eq_pet_ct_units"] == 3
    assert national["staff_total"] == 12  # sum(part_of=staff)
    assert national["staff_physician_pct"] == Decimal("75.00000000")
    assert national["tx_total"] == 40
    assert national["tx_i131_graves_pct"] == 75
    assert national["affil_independent_pct"] == Decimal("66.66666667")
    # Growth against the 2019 published totals (2019 has no returns): (4-427)/427.
    assert national["positron_units_growth"] == Decimal("-99.06323185")
    assert national["staff_growth"] == Decimal("-99.90459533")
    # A percentage with a zero denominator is empty, not an error.
    assert national["pet_exam_tumor_pct"] is None
    assert national["pet_exam_total"] == 0
    # Breakdowns: province from the registry, ownership and level from the return's answers.
    assert figures[("province", "11", "dept_total")] == 2
    assert figures[("province", "31", "positron_units")] == 1
    assert figures[("ownership", "nonpublic", "dept_total")] == 1
    assert figures[("ownership", "public", "positron_units")] == 4
    assert figures[("hospital_level", "secondary", "svc_pet_pct")] == 100
    assert figures[("hospital_level", "tertiary_other", "positron_inst_tertiary_pct")] == 100
    assert figures[("hospital_level", "secondary", "positron_inst_tertiary_pct")] is None
    # Growth only where the previous edition has figures: 2019 has national ones only.
    assert ("province", "11", "positron_units_growth") not in figures
    assert not any(key.endswith("_growth") for (b, g, key) in figures if b != "national")


@pytest.mark.sqlite
def test_each_kind_of_indicator_has_its_known_answer(edition, small_dataset):
    edition_figures_compute(edition_id=edition.pk)
    _assert_known_answers(edition)


@pytest.mark.sqlite
def test_recomputing_is_idempotent_and_follows_the_returns(edition, small_dataset):
    edition_figures_compute(edition_id=edition.pk)
    first = _figures(edition)
    edition_figures_compute(edition_id=edition.pk)
    assert _figures(edition) == first
    small_dataset[0].status = ReturnStatus.SENT_BACK
    small_dataset[0].save()
    edition_figures_compute(edition_id=edition.pk)
    assert _figures(edition)[("national", "national", "dept_total")] == 2


@pytest.mark.sqlite
def test_an_interrupted_recomputation_leaves_the_previous_figures(edition, small_dataset, monkeypatch):
    edition_figures_compute(edition_id=edition.pk)
    before = _figures(edition)
    small_dataset[2].status = ReturnStatus.SENT_BACK
    small_dataset[2].save()

    def crash(**kwargs):
        raise RuntimeError("worker killed between the delete and the insert")

    monkeypatch.setattr(aggregation, "_figure_values_insert", crash)
    with pytest.raises(RuntimeError):
        edition_figures_compute(edition_id=edition.pk)
    assert _figures(edition) == before
    monkeypatch.undo()
    edition_figures_compute(edition_id=edition.pk)
    assert _figures(edition)[("national", "national", "dept_total")] == 2


@pytest.mark.sqlite
def test_no_approved_returns_gives_no_figures(edition):
    assert edition_figures_compute(edition_id=edition.pk) == 0
    assert not FigureValue.objects.filter(edition=edition).exists()


def later_edition(edition):
    """A 2029 edition after `edition`: two equipment items, positron units and their growth."""
    later = Edition.objects.create(year=2029, data_year=2028, title_en="t", title_zh="t", previous=edition)
    section = Section.objects.create(edition=later, code="equipment", position=1, title_en="E", title_zh="E")
    for position, code in enumerate(["eq_pet_ct", "eq_pet_mr"], start=1):
        Item.objects.create(edition=later, section=section, code=code, position=position, type="integer",
                            label_en=code, label_zh=code)
    Indicator.objects.create(edition=later, key="positron_units", position=1, format="int",
                             definition="sum(eq_pet_ct)+sum(eq_pet_mr)")
    Indicator.objects.create(edition=later, key="positron_units_growth", position=2, format="pct1",
                             definition="growth(positron_units)")
    return later


def test_growth_uses_the_previous_editions_figures_when_it_has_returns(edition, small_dataset):
    """A later edition compares with 2024's computed figures, group by group."""
    edition_figures_compute(edition_id=edition.pk)
    later = later_edition(edition)
    survey_return(edition=later, institution=small_dataset[0].institution, status=ReturnStatus.APPROVED,
                  values={"eq_pet_ct": 5, "eq_pet_mr": 1})
    rows = edition_figures_rows(edition=later)
    # 2024: 4 units nationally, 3 in Beijing; 2029: 6 in Beijing only.
    assert rows[("national", "national", "positron_units_growth")] == 50
    assert rows[("province", "11", "positron_units_growth")] == 100
    assert ("province", "31", "positron_units") not in rows


def test_recompute_is_queued_on_commit_once_per_edition(edition, small_dataset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for _ in range(3):  # e.g. an import approving several returns
            aggregation.edition_recompute_schedule(edition_id=edition.pk)
        assert not FigureValue.objects.filter(edition=edition).exists()
    assert len(callbacks) == 1
    assert FigureValue.objects.filter(edition=edition, key="dept_total", breakdown="national").get().value == 3


@pytest.mark.django_db(databases=["default", SQLITE_ALIAS])
def test_postgresql_and_sqlite_give_identical_figures(edition, small_dataset):
    """The same rows copied into a SQLite database aggregate to the same digits."""
    from institutions.models import Institution
    from reporting.models import Answer, PublishedFigure, SurveyReturn

    if connections["default"].vendor == "sqlite":
        pytest.skip("the suite already runs on SQLite")
    for model in (Province, Institution, Edition, Section, Item, Indicator, PublishedFigure, SurveyReturn, Answer):
        objects = list(model.objects.order_by("pk"))
        if model is Edition:
            objects.sort(key=lambda e: e.year)  # previous editions first
        if model is Item:
            for obj in objects:
                obj.applies_if_id = None  # not used by the aggregation; avoids ordering the copy
        model.objects.using(SQLITE_ALIAS).all().delete()
        model.objects.using(SQLITE_ALIAS).bulk_create(objects, batch_size=200)
    on_postgres = edition_figures_rows(edition=edition)
    on_sqlite = edition_figures_rows(edition=edition, using=SQLITE_ALIAS)
    assert len(on_postgres) > 1000
    assert on_sqlite == on_postgres
