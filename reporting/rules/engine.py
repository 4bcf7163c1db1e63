"""The rules engine: every validation rule of an edition, evaluated over one return's values.

The edition's questionnaire (items, groups, ``ValidationRule`` rows) is compiled once per
edition and definition version into plain Python callables, so checking a return costs no
queries and a 1,237-return import checks quickly. There is no per-rule Python code here: a
new edition changes its ``rules.csv`` and this engine follows.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from reporting.models import (
    MAX_INTEGER_VALUE,
    Edition,
    Item,
    ItemType,
    PartOfGroup,
    Section,
    ValidationRule,
)
from reporting.rules import (
    Binary,
    ItemRef,
    Number,
    Sum,
    Unary,
    previous_change_parameters,
    rule_expression_parse,
)
from reporting.values import Value

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class RuleFinding:
    rule_code: str
    severity: str  # "error" | "warning"
    fields: tuple[str, ...]  # item codes the message sits by
    message: str  # already in the active language


# --- the compiled questionnaire ---------------------------------------------------------


@dataclass(frozen=True)
class CompiledItem:
    id: int
    code: str
    type: str
    section_code: str
    label_en: str
    label_zh: str
    unit_en: str
    unit_zh: str
    choices: tuple[tuple[str, str, str], ...]  # (code, label_en, label_zh)
    applies_if: str  # code of the boolean item that must be yes, or ""
    part_of: str

    def label(self, language_zh: bool | None = None) -> str:
        if language_zh is None:
            language_zh = _language_is_chinese()
        return self.label_zh if language_zh else self.label_en

    def unit(self, language_zh: bool | None = None) -> str:
        if language_zh is None:
            language_zh = _language_is_chinese()
        return self.unit_zh if language_zh else self.unit_en


@dataclass(frozen=True)
class CompiledSection:
    code: str
    title_en: str
    title_zh: str
    item_codes: tuple[str, ...]

    def title(self) -> str:
        return self.title_zh if _language_is_chinese() else self.title_en


@dataclass(frozen=True)
class CompiledRule:
    code: str
    severity: str
    kind: str
    fields: tuple[str, ...]  # item codes, part_of groups expanded
    message_en: str
    message_zh: str
    when: object = None  # callable(numbers) -> bool, or None
    condition: object = None  # callable(numbers) -> bool
    left: object = None  # callable(numbers) -> int, for {left}
    right: object = None
    pct: int = 0
    min_abs: int = 0
    # Every item the when/condition expressions read (groups expanded); empty for previous_change.
    reads: frozenset[str] = frozenset()


@dataclass
class CompiledQuestionnaire:
    edition_id: int
    items: dict[str, CompiledItem]  # in questionnaire order
    sections: list[CompiledSection]
    groups: dict[str, tuple[str, ...]]  # group code -> member item codes
    group_labels: dict[str, tuple[str, str]]  # group code -> (label_en, label_zh)
    rules: list[CompiledRule] = field(default_factory=list)
    # Per-language prototypes of the data-entry form's fields (reporting.forms.entry).
    form_cache: dict = field(default_factory=dict, repr=False)

    @cached_property
    def applies_if_chains(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(item code, the items up its applies_if chain) for every item with a condition."""
        chains = []
        for code, item in self.items.items():
            chain, parent = [], item.applies_if
            while parent:
                chain.append(parent)
                parent = self.items[parent].applies_if
            if chain:
                chains.append((code, tuple(chain)))
        return tuple(chains)

    @cached_property
    def positions(self) -> dict[str, int]:
        """Item code -> its position in the questionnaire."""
        return {code: position for position, code in enumerate(self.items)}

    def applies(self, code: str, values: dict[str, Value]) -> bool:
        """Whether an item is asked: every item up its applies_if chain is yes."""
        parent = self.items[code].applies_if
        while parent:
            if values.get(parent) is not True:
                return False
            parent = self.items[parent].applies_if
        return True


_CACHE: dict[tuple, CompiledQuestionnaire] = {}
_CACHE_LOCK = threading.Lock()


def questionnaire_compiled(edition: Edition) -> CompiledQuestionnaire:
    """The edition's questionnaire and rules, compiled once per definition version."""
    key = (edition.pk, edition.definition_checksum, edition.updated_at)
    compiled = _CACHE.get(key)
    if compiled is None:
        compiled = _compile(edition)
        with _CACHE_LOCK:
            for stale in [k for k in _CACHE if k[0] == edition.pk]:
                del _CACHE[stale]
            _CACHE[key] = compiled
    return compiled


def _compile(edition: Edition) -> CompiledQuestionnaire:
    sections = list(Section.objects.filter(edition=edition).order_by("position"))
    section_codes = {s.pk: s.code for s in sections}
    rows = list(
        Item.objects.filter(edition=edition)
        .order_by("position")
        .values(
            "id", "code", "type", "section_id", "label_en", "label_zh", "unit_en", "unit_zh",
            "choices", "applies_if__code", "part_of",
        )
    )
    items = {
        row["code"]: CompiledItem(
            id=row["id"],
            code=row["code"],
            type=row["type"],
            section_code=section_codes[row["section_id"]],
            label_en=row["label_en"],
            label_zh=row["label_zh"],
            unit_en=row["unit_en"],
            unit_zh=row["unit_zh"],
            choices=tuple((c["code"], c.get("label_en", c["code"]), c.get("label_zh", c["code"])) for c in row["choices"]),
            applies_if=row["applies_if__code"] or "",
            part_of=row["part_of"],
        )
        for row in rows
    }
    groups: dict[str, list[str]] = {}
    for item in items.values():
        if item.part_of:
            groups.setdefault(item.part_of, []).append(item.code)
    group_labels = {
        g.code: (g.label_en, g.label_zh) for g in PartOfGroup.objects.filter(edition=edition)
    }
    compiled = CompiledQuestionnaire(
        edition_id=edition.pk,
        items=items,
        sections=[
            CompiledSection(
                code=s.code,
                title_en=s.title_en,
                title_zh=s.title_zh,
                item_codes=tuple(i.code for i in items.values() if i.section_code == s.code),
            )
            for s in sections
        ],
        groups={code: tuple(members) for code, members in groups.items()},
        group_labels=group_labels,
    )
    for rule in ValidationRule.objects.filter(edition=edition).order_by("position"):
        compiled.rules.append(_compile_rule(rule, compiled))
    return compiled


def _compile_rule(rule: ValidationRule, questionnaire: CompiledQuestionnaire) -> CompiledRule:
    fields = []
    for name in rule.fields or []:
        if name.startswith("part_of="):
            fields.extend(questionnaire.groups.get(name.removeprefix("part_of="), ()))
        else:
            fields.append(name)
    common = {
        "code": rule.code,
        "severity": rule.severity,
        "kind": rule.kind,
        "fields": tuple(dict.fromkeys(fields)),
        "message_en": rule.message_en,
        "message_zh": rule.message_zh,
    }
    if rule.kind == "previous_change":
        parameters = previous_change_parameters(rule.condition)
        return CompiledRule(**common, pct=parameters["pct"], min_abs=parameters["min_abs"])
    condition_tree = rule_expression_parse(rule.condition)
    when_tree = rule_expression_parse(rule.when) if rule.when and rule.when.strip() else None
    # {left}/{right} are the sides of the condition's comparison. When the condition only
    # compares with a constant ("eq_pet_ct > 0"), its sides tell the reader nothing new, and
    # the values that matter are those of the `when` comparison ("sum(part_of=pet_exam) > 0").
    sides = condition_tree if _is_comparison(condition_tree) else None
    if sides is not None and isinstance(sides.right, Number) and _is_comparison(when_tree):
        sides = when_tree
    left = _to_callable(sides.left, questionnaire) if sides is not None else None
    right = _to_callable(sides.right, questionnaire) if sides is not None else None
    when = _to_callable(when_tree, questionnaire) if when_tree is not None else None
    reads = _items_read(condition_tree, questionnaire)
    if when_tree is not None:
        reads |= _items_read(when_tree, questionnaire)
    return CompiledRule(
        **common,
        when=when,
        condition=_to_callable(condition_tree, questionnaire),
        left=left,
        right=right,
        reads=frozenset(reads),
    )


def _items_read(node, questionnaire: CompiledQuestionnaire) -> set[str]:
    """The item codes an expression tree reads, part_of groups expanded."""
    if isinstance(node, ItemRef):
        return {node.code}
    if isinstance(node, Sum):
        codes = set(node.codes)
        for group in node.groups:
            codes.update(questionnaire.groups.get(group, ()))
        return codes
    if isinstance(node, Unary):
        return _items_read(node.operand, questionnaire)
    if isinstance(node, Binary):
        return _items_read(node.left, questionnaire) | _items_read(node.right, questionnaire)
    return set()


def _is_comparison(tree) -> bool:
    return isinstance(tree, Binary) and tree.op in ("==", "!=", "<", "<=", ">", ">=")


def _python_source(node, questionnaire: CompiledQuestionnaire) -> str:
    """Python source for a syntax tree over `n` (item code -> number).

    Safe to compile: the tree holds only integers, identifiers the tokenizer accepted
    (letters, digits, _) written with repr(), and a fixed set of operators.
    """
    if isinstance(node, Number):
        return repr(node.value)
    if isinstance(node, ItemRef):
        return f"n.get({node.code!r}, 0)"
    if isinstance(node, Sum):
        codes = list(node.codes)
        for group in node.groups:
            codes.extend(questionnaire.groups.get(group, ()))
        if not codes:
            return "0"
        return "(" + " + ".join(f"n.get({code!r}, 0)" for code in codes) + ")"
    if isinstance(node, Unary):
        operand = _python_source(node.operand, questionnaire)
        return f"(not {operand})" if node.op == "not" else f"(-{operand})"
    if isinstance(node, Binary):
        left = _python_source(node.left, questionnaire)
        right = _python_source(node.right, questionnaire)
        if node.op in ("and", "or"):
            # Python's and/or return an operand; rules want a truth value (1/0).
            return f"(bool({left}) {node.op} bool({right}))"
        return f"({left} {node.op} {right})"
    raise TypeError(f"unknown node {node!r}")


def _to_callable(tree, questionnaire: CompiledQuestionnaire):
    source = _python_source(tree, questionnaire)
    code = compile(f"lambda n: {source}", "<rule>", "eval")
    return eval(code, {"__builtins__": {"bool": bool}})  # noqa: S307 - source built from a checked tree


# --- evaluation -------------------------------------------------------------------------


def _language_is_chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


language_is_chinese = _language_is_chinese


_PLACEHOLDER = re.compile(r"\{(left|right|item|old|new)\}")


def _format(template: str, **values) -> str:
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


def _number(value: Value) -> int:
    if value is True:
        return 1
    if value is None or value is False or isinstance(value, str):
        return 0
    return value


def _empty_or_zero(value: Value) -> bool:
    return value is None or value is False or value == 0 or value == ""


def return_values_check(
    *,
    edition: Edition,
    values: dict[str, Value],
    previous_values: dict[str, Value] | None = None,
    for_submission: bool,
    unreadable: Collection[str] = (),
) -> list[RuleFinding]:
    """Every finding of the edition's rules for one return's values (errors and warnings).

    `values` maps item codes to typed values (missing or None: unanswered). Rules 4 and 5 of
    the survey (applies_if, completeness) follow from the items; the rest are the edition's
    ``ValidationRule`` rows. Completeness is checked only `for_submission`.

    `unreadable` names items whose typed value could not be read (“四” in a count): no check
    that reads one of them is made, so none reports a follow-on problem computed as if the
    item were unanswered.
    """
    questionnaire = questionnaire_compiled(edition)
    zh = _language_is_chinese()
    findings: list[RuleFinding] = []
    items = questionnaire.items

    unreadable = frozenset(unreadable)
    if unreadable:
        values = {code: value for code, value in values.items() if code not in unreadable}
    for code, item in items.items():
        if code in unreadable:
            continue
        value = values.get(code)
        if value is not None and not value_fits_item(item, value):
            findings.append(RuleFinding(
                f"type:{code}", ERROR, (code,),
                _("“%(item)s”: the value does not fit the question.") % {"item": item.label(zh)},
            ))
            continue
        if item.applies_if and not questionnaire.applies(code, values):
            if unreadable and _chain_reads(questionnaire, code, unreadable):
                continue
            if not _empty_or_zero(value):
                parent = items[item.applies_if]
                findings.append(RuleFinding(
                    f"applies_if:{code}", ERROR, (code, parent.code),
                    _("“%(item)s” is asked only when “%(parent)s” is yes: leave it empty or 0.")
                    % {"item": item.label(zh), "parent": parent.label(zh)},
                ))
            continue
        if for_submission and value is None and item.type != ItemType.TEXT:
            findings.append(RuleFinding(
                f"required:{code}", ERROR, (code,),
                _("“%(item)s” must be answered before the return is submitted (0 and no are answers).")
                % {"item": item.label(zh)},
            ))

    numbers = None
    for rule in questionnaire.rules:
        template = rule.message_zh if zh else rule.message_en
        if rule.kind == "previous_change":
            if previous_values:
                findings.extend(_previous_change_findings(rule, questionnaire, values, previous_values, template, zh))
            continue
        if unreadable and not unreadable.isdisjoint(rule.reads):
            continue
        if numbers is None:
            numbers = {code: _number(value) for code, value in values.items() if value is not None}
        if rule.when is not None and not rule.when(numbers):
            continue
        if rule.condition(numbers):
            continue
        message = _format(
            template,
            left=rule.left(numbers) if rule.left else "",
            right=rule.right(numbers) if rule.right else "",
        )
        findings.append(RuleFinding(rule.code, rule.severity, rule.fields, message))
    return findings


def _chain_reads(questionnaire: CompiledQuestionnaire, code: str, codes: frozenset[str]) -> bool:
    """Whether one of `codes` is up the item's applies_if chain."""
    parent = questionnaire.items[code].applies_if
    while parent:
        if parent in codes:
            return True
        parent = questionnaire.items[parent].applies_if
    return False


def value_fits_item(item: CompiledItem, value: Value) -> bool:
    """Rule 1: the typed value is of the item's type and range."""
    if item.type == ItemType.INTEGER:
        return type(value) is int and 0 <= value <= MAX_INTEGER_VALUE
    if item.type == ItemType.BOOLEAN:
        return isinstance(value, bool)
    if item.type == ItemType.CHOICE:
        return any(value == choice[0] for choice in item.choices)
    return isinstance(value, str)


def _previous_change_findings(rule, questionnaire, values, previous_values, template, zh):
    findings = []
    for code, item in questionnaire.items.items():
        if item.type != ItemType.INTEGER:
            continue
        new, old = values.get(code), previous_values.get(code)
        if new is None or old is None or isinstance(old, bool) or not isinstance(old, int):
            continue
        change = abs(new - old)
        if change > rule.min_abs and change * 100 > rule.pct * old:
            findings.append(RuleFinding(
                f"{rule.code}:{code}", rule.severity, (code,),
                _format(template, item=item.label(zh), old=old, new=new),
            ))
    return findings


def findings_by_field(findings: list[RuleFinding]) -> dict[str, list[RuleFinding]]:
    """Findings grouped by the item codes they sit next to."""
    grouped: dict[str, list[RuleFinding]] = {}
    for finding in findings:
        for code in finding.fields:
            grouped.setdefault(code, []).append(finding)
    return grouped
