"""The answer summary (CountedReturn, CellItemTotal) kept up to date incrementally gives
exactly the figures of a full rebuild, whatever happens to the returns in between."""

import random

import pytest
from django.db import connections, transaction
from django.db.models import F

from institutions.models import Province
from reporting.models import (
    AggregationState,
    Answer,
    CellItemTotal,
    CountedReturn,
    FigureValue,
    Item,
    ReturnStatus,
    SurveyReturn,
)
from reporting.services import aggregation
from reporting.services.aggregation import edition_figures_compute, edition_figures_rows
from tests.factories import InstitutionFactory, survey_return, zero_values
from tests.reporting.test_aggregation import later_edition

PROVINCES = ["11", "31", "44"]
OWNERSHIP = ["public", "nonpublic"]
LEVELS = ["tertiary_a", "tertiary_other", "secondary", "other"]


class _Rollback(Exception):
    pass


def _rebuilt_rows(edition):
    """The figures of a full rebuild, computed in a savepoint that is then rolled back, so the
    incrementally maintained summary stays as it was."""
    try:
        with transaction.atomic():
            rows = edition_figures_rows(edition=edition, rebuild=True)
            raise _Rollback
    except _Rollback:
        return rows


def _stored(edition):
    return {(b, g, k): v for b, g, k, v in
            FigureValue.objects.filter(edition=edition).values_list("breakdown", "group", "key", "value")}


def _random_values(edition, rng):
    return zero_values(edition) | {
        "ownership": rng.choice(OWNERSHIP),
        "hospital_level": rng.choice(LEVELS),
        "eq_pet_ct": rng.choice([0, 0, 1, 3]),
        "eq_pet_mr": rng.choice([0, 1]),
        "svc_pet": rng.random() < 0.5,
        "staff_physician": rng.randint(0, 9),
        "staff_nurse": rng.randint(0, 9),
        "tx_i131_graves": rng.randint(0, 50),
    }


def _answers_change(edition, survey_return_id, values):
    """Edit answers the way the services do: the values change and the version goes up."""
    items = dict(Item.objects.filter(edition=edition, code__in=values).values_list("code", "pk"))
    for code, value in values.items():
        field = {str: "text_value", bool: "bool_value", int: "int_value"}[type(value)]
        Answer.objects.filter(survey_return_id=survey_return_id, item_id=items[code]).update(**{field: value})
    SurveyReturn.objects.filter(pk=survey_return_id).update(version=F("version") + 1)


ACTIONS = ["add", "reopen", "edit_approve", "edit_approved", "move", "delete", "nothing", "add"]


def _step(edition, rng, number, action):
    returns = list(SurveyReturn.objects.filter(edition=edition).order_by("pk"))
    approved = [r for r in returns if r.status == ReturnStatus.APPROVED]
    waiting = [r for r in returns if r.status != ReturnStatus.APPROVED]
    if action == "add" or not approved:
        institution = InstitutionFactory(code=f"R{number}", province_id=rng.choice(PROVINCES))
        survey_return(edition=edition, institution=institution, values=_random_values(edition, rng),
                      status=rng.choice([ReturnStatus.APPROVED, ReturnStatus.APPROVED, ReturnStatus.SUBMITTED]))
    elif action == "reopen":
        SurveyReturn.objects.filter(pk=rng.choice(approved).pk).update(
            status=ReturnStatus.SENT_BACK, version=F("version") + 1)
    elif action == "edit_approve" and waiting:
        chosen = rng.choice(waiting)
        # Often moves the return to another cell (its ownership or level answer changes).
        _answers_change(edition, chosen.pk, {k: v for k, v in _random_values(edition, rng).items()
                                             if k in ("ownership", "hospital_level", "eq_pet_ct", "staff_nurse")})
        SurveyReturn.objects.filter(pk=chosen.pk).update(status=ReturnStatus.APPROVED, version=F("version") + 1)
    elif action == "edit_approved":
        # Reopened, edited and approved again before the aggregation ran: still approved,
        # but other answers and a new version.
        _answers_change(edition, rng.choice(approved).pk,
                        {k: v for k, v in _random_values(edition, rng).items() if k in ("hospital_level", "eq_pet_mr")})
    elif action == "move":
        institution = rng.choice(approved).institution
        institution.province = Province.objects.get(code=rng.choice([p for p in PROVINCES if p != institution.province_id]))
        institution.save()  # the registry changes; the return's version does not
    elif action == "delete":
        rng.choice(returns).delete()


@pytest.mark.sqlite
@pytest.mark.parametrize(("seed", "cells_one_by_one"), [(1, 48), (2, 48), (3, 48), (4, 0)])
def test_incremental_summary_matches_a_full_rebuild_after_any_changes(edition, seed, cells_one_by_one, monkeypatch):
    # With 0, every change takes the path of an import approving many returns: all cells summed again.
    monkeypatch.setattr(aggregation, "CELLS_UPDATED_ONE_BY_ONE", cells_one_by_one)
    rng = random.Random(seed)
    for number in range(6):
        institution = InstitutionFactory(code=f"S{number}", province_id=rng.choice(PROVINCES))
        survey_return(edition=edition, institution=institution, status=ReturnStatus.APPROVED,
                      values=_random_values(edition, rng))
    edition_figures_compute(edition_id=edition.pk)
    first = AggregationState.objects.get(edition=edition)
    # Every kind of change twice, in an order that differs by seed.
    for number, action in enumerate(rng.sample(ACTIONS * 2, len(ACTIONS) * 2)):
        _step(edition, rng, number, action)
        # As the Celery task after an approval: only the groups of the cells that changed are
        # recomputed, the other stored figures are left as they are.
        edition_figures_compute(edition_id=edition.pk, only_changed=True)
        assert _stored(edition) == _rebuilt_rows(edition), f"after step {number} ({action})"
        assert edition_figures_rows(edition=edition) == _stored(edition)
    # Each step was an update of the summary, never a fallback to a rebuild.
    last = AggregationState.objects.get(edition=edition)
    assert last.rebuilt_at == first.rebuilt_at and last.run >= 8


@pytest.mark.sqlite
def test_recomputing_updates_only_the_cells_whose_returns_changed(edition):
    for number, (province, level) in enumerate([("11", "tertiary_a"), ("11", "secondary"), ("31", "tertiary_a")]):
        survey_return(edition=edition, institution=InstitutionFactory(code=f"C{number}", province_id=province),
                      status=ReturnStatus.APPROVED,
                      values=zero_values(edition) | {"ownership": "public", "hospital_level": level, "eq_pet_ct": 1})
    edition_figures_compute(edition_id=edition.pk)
    untouched = dict(CellItemTotal.objects.filter(edition=edition, province="31").values_list("pk", "total"))
    state = AggregationState.objects.get(edition=edition)
    assert CountedReturn.objects.filter(edition=edition).count() == 3

    changed = SurveyReturn.objects.get(institution__code="C0")
    _answers_change(edition, changed.pk, {"eq_pet_ct": 5})
    edition_figures_compute(edition_id=edition.pk)

    # Shanghai's cell was not summed again: the same rows, not new ones with equal values.
    assert dict(CellItemTotal.objects.filter(edition=edition, province="31").values_list("pk", "total")) == untouched
    item = Item.objects.get(edition=edition, code="eq_pet_ct")
    assert CellItemTotal.objects.get(edition=edition, province="11", hospital_level="tertiary_a", item_id=item.pk).total == 5
    later = AggregationState.objects.get(edition=edition)
    assert later.run == state.run + 1 and later.rebuilt_at == state.rebuilt_at
    assert CountedReturn.objects.get(edition=edition, return_id=changed.pk).version == changed.version + 1


@pytest.mark.sqlite
def test_a_changed_definition_rebuilds_the_summary(edition):
    survey_return(edition=edition, institution=InstitutionFactory(code="D0"), status=ReturnStatus.APPROVED,
                  values=zero_values(edition) | {"ownership": "public", "hospital_level": "other"})
    edition_figures_compute(edition_id=edition.pk)
    first = AggregationState.objects.get(edition=edition)
    edition.definition_checksum = "another questionnaire file"
    edition.save()
    edition_figures_compute(edition_id=edition.pk)
    assert AggregationState.objects.get(edition=edition).rebuilt_at > first.rebuilt_at


def test_rebuild_and_update_query_counts_do_not_follow_the_data(edition, django_assert_num_queries):
    """Rebuild, update and no-change runs each issue a fixed number of statements, whatever
    the number of returns (the figures go in by COPY, which Django does not log)."""
    if connections["default"].vendor != "postgresql":
        pytest.skip("SQLite splits bulk inserts by its variable limit, so the count follows the data")

    def add(count, start):
        for number in range(start, start + count):
            survey_return(edition=edition, institution=InstitutionFactory(code=f"Q{number}", province_id="11"),
                          status=ReturnStatus.APPROVED,
                          values=zero_values(edition) | {"ownership": "public", "hospital_level": "other"})

    add(3, 0)
    # savepoint, edition FOR UPDATE, indicators, items, previous edition, savepoint, SET LOCAL,
    # state, delete the edition's counted returns, cell and group totals, insert counted
    # returns, ANALYZE, parallel workers on, select the cell totals (COPY, not logged),
    # parallel workers off, insert group totals, insert state, figures, release, stored
    # figures, delete them, the editions that follow this one, release.
    with django_assert_num_queries(23):
        edition_figures_compute(edition_id=edition.pk)
    for start, count in ((10, 2), (20, 7)):
        add(count, start)
        # ... state, stale cells, insert counted returns, cells of this run, subtract the
        # cells' group totals, delete and insert their cell totals, add the group totals,
        # prune zero group totals, update state, figures of the changed groups, stored
        # figures of those groups, delete the changed ones, following editions ...
        with django_assert_num_queries(23):
            edition_figures_compute(edition_id=edition.pk, only_changed=True)
    # Nothing changed: ... state, stale cells, insert counted returns (none), and stop.
    with django_assert_num_queries(12):
        edition_figures_compute(edition_id=edition.pk, only_changed=True)


@pytest.mark.sqlite
def test_more_per_return_conditions_than_bits_is_a_compile_error():
    """Each count(expression) condition is one bit of CountedReturn.conditions."""
    from reporting.indicators import indicator_parse
    from reporting.indicators.sql import (
        MAX_CONDITIONS,
        IndicatorCompileError,
        ItemInfo,
        aggregation_compile,
    )

    items = {"eq_pet_ct": ItemInfo(id=1, type="integer")}
    indicators = [(f"k{n}", indicator_parse(f"count(eq_pet_ct>{n})")) for n in range(MAX_CONDITIONS + 1)]

    def compile_(indicators):
        return aggregation_compile(indicators=indicators, items=items, edition_id=1, approved_status="approved",
                                   previous_source=None, previous_edition_id=None, quote_name=lambda n: f'"{n}"')

    assert "conditions" in compile_(indicators[:MAX_CONDITIONS]).counted_insert_sql
    with pytest.raises(IndicatorCompileError, match=f"at most {MAX_CONDITIONS}"):
        compile_(indicators)


def test_a_correction_in_the_previous_edition_refreshes_the_next_editions_growth(
    edition, django_capture_on_commit_callbacks
):
    institution = InstitutionFactory(code="G1", province_id="11")
    earlier = survey_return(edition=edition, institution=institution, status=ReturnStatus.APPROVED,
                            values=zero_values(edition) | {"ownership": "public", "hospital_level": "other", "eq_pet_ct": 4})
    edition_figures_compute(edition_id=edition.pk)
    later = later_edition(edition)
    survey_return(edition=later, institution=institution, status=ReturnStatus.APPROVED,
                  values={"eq_pet_ct": 6, "eq_pet_mr": 0})
    edition_figures_compute(edition_id=later.pk)

    def growth():
        return FigureValue.objects.get(edition=later, breakdown="national", key="positron_units_growth").value

    assert growth() == 50  # 4 units, then 6
    _answers_change(edition, earlier.pk, {"eq_pet_ct": 3})  # 2024 corrected after 2029 was computed
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        edition_figures_compute(edition_id=edition.pk, only_changed=True)
    assert len(callbacks) == 1
    assert growth() == 100  # 3 units, then 6
