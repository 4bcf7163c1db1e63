"""The rules engine against every rule of the 2024 rules.csv, and the expression language."""

import time

import pytest
from django.utils import translation

from reporting.models import ValidationRule
from reporting.rules import RuleSyntaxError, rule_definition_errors, rule_expression_parse
from reporting.rules.engine import return_values_check
from tests.reporting.entry_support import clean_values


def check(edition, values, *, previous=None, for_submission=True, language="en"):
    with translation.override(language):
        return return_values_check(
            edition=edition, values=values, previous_values=previous, for_submission=for_submission
        )


def test_clean_return_has_no_findings(edition):
    assert check(edition, clean_values(edition)) == []


# rule code -> (changes to the clean return, words in the English message, a field it sits by)
RULE_CASES = {
    "personnel_title_sum": ({"title_senior": 4}, "Staff by title (11) must equal the staff total (10)", "title_senior"),
    "personnel_edu_sum": ({"edu_other": 1}, "Staff by education (11) must equal the staff total (10)", "edu_other"),
    "equipment_holder_sum": ({"eq_holder_nm": 2}, "(2) must equal positron plus single-photon units (3)", "eq_holder_nm"),
    "pet_service_without_unit": ({"eq_pet_ct": 0, "eq_holder_nm": 2, "pet_exam_tumor": 0}, "PET imaging is offered", "svc_pet"),
    "pet_exams_without_unit": ({"eq_pet_ct": 0, "eq_pet_mr": 1}, "PET/CT examinations (3000)", "pet_exam_tumor"),
    "pmr_exams_without_unit": ({"pmr_exam_tumor": 40}, "PET/MRI examinations (40)", "pmr_exam_tumor"),
    "sp_exams_without_unit": ({"eq_spect_ct": 0, "eq_holder_nm": 1, "sp_exam_skeletal": 30}, "Single-photon examinations (30)", "sp_exam_skeletal"),
    "co_exams_without_unit": ({"co_exam_tumor": 5}, "Coincidence imaging examinations (5)", "co_exam_tumor"),
    "sa_cases_without_unit": ({"sa_cases_pet_ct": 7}, "Small-animal imaging cases (7)", "sa_cases_pet_ct"),
    "therapy_performed_vs_offered": ({"svc_rpt": False, "svc_rpt_outpatient": None}, "differs from", "svc_rpt"),
    "pet_throughput": ({"pet_exam_tumor": 15001}, "(15001, limit 15000)", "pet_exam_neuro"),
    "pmr_throughput": ({"eq_pet_mr": 1, "eq_holder_nm": 4, "pmr_exam_neuro": 10001}, "More than 10,000 PET/MRI", "pmr_exam_neuro"),
    "sp_throughput": ({"sp_exam_cardio": 35001}, "More than 20,000 single-photon", "sp_exam_cardio"),
}


@pytest.mark.parametrize("rule_code", sorted(RULE_CASES))
def test_each_expression_rule_fires_alone(edition, rule_code):
    changes, words, field = RULE_CASES[rule_code]
    values = {**clean_values(edition), **changes}
    findings = check(edition, values)
    assert [f.rule_code for f in findings] == [rule_code]
    finding = findings[0]
    assert words in finding.message
    assert field in finding.fields
    assert finding.severity == ValidationRule.objects.get(edition=edition, code=rule_code).severity


def test_every_rule_of_the_edition_is_tested(edition):
    codes = set(ValidationRule.objects.filter(edition=edition).values_list("code", flat=True))
    assert codes == set(RULE_CASES) | {"change_since_previous"}


def test_boundaries_do_not_fire(edition):
    values = {**clean_values(edition), "pet_exam_tumor": 15000}
    assert check(edition, values) == []


def test_messages_follow_the_active_language(edition):
    values = {**clean_values(edition), "title_senior": 4}
    (finding,) = check(edition, values, language="zh-hans")
    assert finding.message == "职称合计（11）必须等于人员合计（10）。"


def test_previous_change_one_finding_per_item(edition):
    values = {**clean_values(edition), "staff_nurse": 2}
    previous = {"pet_exam_tumor": 1000, "sp_exam_skeletal": 4990, "staff_nurse": 40, "svc_pet": True}
    findings = check(edition, values, previous=previous)
    by_code = {f.rule_code: f for f in findings}
    # 1000 → 3000 is +200% and +2000: flagged; 4990 → 5000 is small; 40 → 2 is -95% and -38.
    assert set(by_code) == {"change_since_previous:pet_exam_tumor", "change_since_previous:staff_nurse"}
    finding = by_code["change_since_previous:pet_exam_tumor"]
    assert finding.severity == "warning"
    assert finding.fields == ("pet_exam_tumor",)
    assert "(1000 → 3000)" in finding.message
    assert "tumour imaging" in finding.message


def test_previous_change_needs_more_than_the_minimum_absolute_change(edition):
    values = {**clean_values(edition), "rpt_beds": 30}
    assert check(edition, values, previous={"rpt_beds": 10}) == []  # +200% but only +20
    findings = check(edition, {**values, "rpt_beds": 31}, previous={"rpt_beds": 10})
    assert [f.rule_code for f in findings] == ["change_since_previous:rpt_beds"]


def test_applies_if_item_must_be_empty_or_zero_when_parent_is_no(edition):
    values = {**clean_values(edition), "rp_positron": False, "rp_f18": True}
    findings = check(edition, values)
    assert [f.rule_code for f in findings] == ["applies_if:rp_f18"]
    assert findings[0].severity == "error"
    assert check(edition, {**values, "rp_f18": False}) == []
    assert check(edition, {**values, "rp_f18": None}) == []


def test_applies_if_with_unanswered_parent(edition):
    findings = check(edition, {"iv_samples": 5}, for_submission=False)
    assert "applies_if:iv_samples" in [f.rule_code for f in findings]
    assert check(edition, {"iv_samples": 0}, for_submission=False) == []


def test_completeness_only_for_submission(edition):
    values = clean_values(edition)
    del values["eq_cyclotron"]
    assert check(edition, values, for_submission=False) == []
    findings = check(edition, values, for_submission=True)
    assert [f.rule_code for f in findings] == ["required:eq_cyclotron"]


def test_items_that_do_not_apply_need_no_answer(edition):
    values = clean_values(edition)
    values["svc_in_vitro"] = False
    for code in ("iv_samples", "iv_tests", "iv_internal_qc", "iv_eqa_national", "iv_eqa_provincial", "iv_cnas_auditors"):
        values.pop(code)
    assert check(edition, values) == []


def test_text_items_are_optional_and_zero_and_no_are_answers(edition):
    values = clean_values(edition)
    assert "op_suggestions" not in values
    assert values["eq_cyclotron"] == 0 and values["op_lack_specialists"] is False
    assert check(edition, values) == []


def test_wrong_types_are_errors(edition):
    values = {**clean_values(edition), "eq_cyclotron": -1, "svc_pet": "yes", "licence_class": "V"}
    codes = {f.rule_code for f in check(edition, values)}
    assert {"type:eq_cyclotron", "type:svc_pet", "type:licence_class"} <= codes


def test_a_changed_rule_changes_the_check_without_code(edition):
    rule = ValidationRule.objects.get(edition=edition, code="pet_throughput")
    rule.condition = "sum(part_of=pet_exam) <= 2000 * eq_pet_ct"
    rule.save()
    edition.save()  # a reload bumps updated_at, which keys the compiled rules
    findings = check(edition, clean_values(edition))
    assert [f.rule_code for f in findings] == ["pet_throughput"]
    assert "(3000, limit 2000)" in findings[0].message


def test_checking_is_fast_enough_for_a_national_import(edition, django_assert_num_queries):
    values = clean_values(edition)
    check(edition, values)  # compile once
    with django_assert_num_queries(0):
        started = time.perf_counter()
        for _ in range(1237):
            check(edition, values, previous=values)
        elapsed = time.perf_counter() - started
    assert elapsed < 5, elapsed


@pytest.mark.sqlite
@pytest.mark.parametrize(
    "text, message",
    [
        ("a ==", "expected a number, an item code or sum(...) at position 5, found the end"),
        ("sum(a b)", "expected ',' or ')' at position 7, found 'b'"),
        ("a < b < c", "comparisons cannot be chained"),
        ("a $ b", "unexpected character '$' at position 3"),
        ("(a + b", "expected ')' at position 7, found the end"),
        ("sum(part_of=)", "expected a group code after 'part_of='"),
    ],
)
def test_syntax_errors_say_where(text, message):
    with pytest.raises(RuleSyntaxError) as caught:
        rule_expression_parse(text)
    assert message in str(caught.value)


@pytest.mark.sqlite
def test_definition_errors_name_unknown_items_and_groups():
    errors = rule_definition_errors(
        column="condition", text="sum(part_of=staf) == a + bb", item_codes={"a"}, group_codes={"staff"}
    )
    assert errors == [
        "condition names unknown item 'bb'",
        "condition names unknown group 'staf' in part_of=",
    ]
    assert rule_definition_errors(column="when", text="", item_codes=set(), group_codes=set()) == []
    assert rule_definition_errors(column="condition", text="", item_codes=set(), group_codes=set()) == ["condition is empty"]
    assert rule_definition_errors(
        column="condition", text="not (a and b) or 2 * a - 1 >= sum(a, part_of=staff)",
        item_codes={"a", "b"}, group_codes={"staff"},
    ) == []


# --- the expression language against Python's own arithmetic and logic -----------------

CODES = ("a", "b", "c")


def _expressions():
    """Pairs (rule text, the same in Python): and/or give 1/0 in rules, an operand in Python."""
    from hypothesis import strategies as st

    leaves = st.one_of(st.integers(min_value=0, max_value=50).map(str), st.sampled_from(CODES)).map(
        lambda text: (text, text)
    )

    def binary(children, operators, python=None):
        def build(parts):
            (left, left_py), op, (right, right_py) = parts
            text = f"({left} {op} {right})"
            return text, python(left_py, op, right_py) if python else f"({left_py} {op} {right_py})"

        return st.tuples(children, st.sampled_from(operators), children).map(build)

    def extend(children):
        return st.one_of(
            binary(children, ["+", "-", "*"]),
            binary(children, ["==", "!=", "<", "<=", ">", ">="]),
            binary(children, ["and", "or"], lambda left, op, right: f"(bool({left}) {op} bool({right}))"),
            children.map(lambda pair: (f"(not {pair[0]})", f"(not {pair[1]})")),
        )

    return st.recursive(leaves, extend, max_leaves=8)


@pytest.mark.sqlite
def test_expressions_evaluate_like_python():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from reporting.rules.engine import CompiledQuestionnaire, _to_callable

    questionnaire = CompiledQuestionnaire(edition_id=0, items={}, sections=[], groups={}, group_labels={})

    @settings(max_examples=300, deadline=None)
    @given(_expressions(), st.fixed_dictionaries({code: st.integers(0, 30) for code in CODES}))
    def check(pair, numbers):
        text, python = pair
        compiled = _to_callable(rule_expression_parse(text), questionnaire)
        expected = eval(python, {"__builtins__": {"bool": bool}}, dict(numbers))  # noqa: S307 - generated above
        assert compiled(numbers) == expected

    check()


@pytest.mark.sqlite
def test_sum_of_a_group_and_unanswered_items():
    from reporting.rules.engine import CompiledQuestionnaire, _to_callable

    questionnaire = CompiledQuestionnaire(
        edition_id=0, items={}, sections=[], groups={"staff": ("x", "y")}, group_labels={}
    )
    compiled = _to_callable(rule_expression_parse("sum(part_of=staff, z) - 2 * z"), questionnaire)
    assert compiled({"x": 3, "z": 1}) == 2  # y unanswered counts as 0
