"""The national demo dataset reproduces the published report."""

import io
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command

from institutions.models import Institution
from reporting.demo.generator import (
    count_window,
    distribute,
    quotas_from_pcts,
    rounds_to,
    split_rows,
)
from reporting.models import (
    Answer,
    FigureValue,
    Item,
    PublishedFigure,
    ReturnStatus,
    SurveyReturn,
)
from reporting.rules.engine import return_values_check
from reporting.values import answer_value

PLACES = {"int": 0, "pct0": 0, "pct1": 1, "pct2": 2}


@pytest.mark.sqlite
def test_rounding_windows_and_splits_are_exact():
    assert count_window(Decimal("53.3"), 1237) == (659, 659)
    assert rounds_to(566, 659, Decimal("85.9"))
    quotas = quotas_from_pcts(15677, {"a": "43.0", "b": "28.5", "c": "28.5"})
    assert sum(quotas.values()) == 15677
    assert all(rounds_to(quotas[k], 15677, Decimal(p)) for k, p in {"a": "43.0", "b": "28.5", "c": "28.5"}.items())
    assert distribute(10, [1, 1, 1], minimum=2) == [4, 3, 3]
    table = split_rows([3, 0, 7, 5], {"x": 9, "y": 4, "z": 2})
    assert [sum(row.values()) for row in table] == [3, 0, 7, 5]
    assert {k: sum(row[k] for row in table) for k in "xyz"} == {"x": 9, "y": 4, "z": 2}
    assert all(v >= 0 for row in table for v in row.values())


def _rounded(value: Decimal, fmt: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-PLACES[fmt]), rounding=ROUND_HALF_UP)


@pytest.mark.slow
def test_load_demo_reproduces_every_published_figure(edition):
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "1237 institutions created" in out.getvalue()
    assert Institution.objects.filter(code__startswith="DEMO", is_synthetic=True).count() == 1237
    assert Institution.objects.filter(is_synthetic=True).values("province_id").distinct().count() == 31
    assert all(name.endswith("（示例）") for name in Institution.objects.filter(is_synthetic=True).values_list("name", flat=True))
    assert SurveyReturn.objects.filter(edition=edition, status=ReturnStatus.APPROVED).count() == 1237

    call_command("aggregate", "--edition", "2024", stdout=io.StringIO())
    national = {f.key: f.value for f in FigureValue.objects.filter(edition=edition, breakdown="national")}
    mismatches = {}
    for published in PublishedFigure.objects.filter(edition=edition):
        computed = _rounded(national[published.key], published.format)
        if computed != _rounded(published.value, published.format):
            mismatches[published.key] = (published.value, computed)
    # The one figure the report got wrong: 570,840 against 525,480 is +8.6%, not 8.0%.
    assert mismatches == {"tx_growth": (Decimal("8.0000"), Decimal("8.6"))}
    assert PublishedFigure.objects.filter(edition=edition).count() == 163

    # Every return passes every error rule (warnings are the report's own inconsistencies).
    items = {i.pk: i for i in Item.objects.filter(edition=edition)}
    values: dict[int, dict] = {}
    for answer in Answer.objects.filter(survey_return__edition=edition):
        item = items[answer.item_id]
        values.setdefault(answer.survey_return_id, {})[item.code] = answer_value(answer, item)
    findings = Counter()
    for return_values in values.values():
        for finding in return_values_check(edition=edition, values=return_values, for_submission=True):
            findings[(finding.severity, finding.rule_code)] += 1
    assert not [key for key in findings if key[0] == "error"], findings
    assert findings[("warning", "therapy_performed_vs_offered")] == 801 - 763
    assert findings[("warning", "pet_service_without_unit")] == 663 - 659

    # Loading again changes nothing.
    answers_before = Answer.objects.filter(survey_return__edition=edition).count()
    ids_before = sorted(Answer.objects.filter(survey_return__edition=edition).values_list("pk", flat=True))[:50]
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "0 institutions created, 0 updated; 0 returns created, 0 rewritten" in out.getvalue()
    assert Answer.objects.filter(survey_return__edition=edition).count() == answers_before
    assert sorted(Answer.objects.filter(survey_return__edition=edition).values_list("pk", flat=True))[:50] == ids_before
