"""Report indicators: the notation of ``indicators.csv`` and its parser.

An indicator definition is a small arithmetic language over item codes (see
``docs/report.md``)::

    N                                   the number of returns in the group
    count(svc_pet)                      returns where boolean svc_pet is yes
    count(ownership=public)             returns whose choice is public
    count(licence_class in IIIA|IIIB)   either value
    count(eq_pet_ct+eq_pet_mr>0)        returns where a per-return expression holds
    count(a>0 and hospital_level in tertiary_a|tertiary_other)
    sum(eq_pet_ct)  sum(a,b,c)  sum(part_of=staff)
    100*count(svc_pet)/N                arithmetic: + - * / and parentheses
    growth(positron_units)              100*(this edition's K - previous edition's K)/previous K
    1000000*sum(eq_cyclotron)/population   per million inhabitants of the group (national or a
                                        province; other breakdowns have no population)

Parsing gives a tree (the dataclasses below); ``reporting.indicators.sql`` compiles trees
to one SQL query per edition.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from reporting.expressions import (
    COMPARISONS,
    Binary,
    ItemRef,
    Number,
    TokenCursor,
    token_pattern,
    tokenize,
)

__all__ = [
    "IndicatorSyntaxError",
    "indicator_definition_errors",
    "indicator_parse",
    "indicator_uses_population",
]


class IndicatorSyntaxError(ValueError):
    """A definition does not follow the notation; the message says where and why."""


# --- the tree -------------------------------------------------------------------------


# Number (a Decimal here) and Binary (+ - * /) come from reporting.expressions.


@dataclass(frozen=True)
class ReturnCount:
    """``N``: returns in the group."""


@dataclass(frozen=True)
class Population:
    """``population``: the residents of the group (national or a province, from the census)."""


@dataclass(frozen=True)
class Sum:
    """``sum(a,b)`` or ``sum(part_of=g)``: one or several integer items summed."""

    codes: tuple[str, ...] = ()
    group: str | None = None


@dataclass(frozen=True)
class Count:
    condition: Condition


@dataclass(frozen=True)
class Negative:
    operand: Expression


@dataclass(frozen=True)
class Growth:
    key: str


# Per-return conditions (inside count(...)).
@dataclass(frozen=True)
class IsYes:
    code: str


@dataclass(frozen=True)
class ChoiceIn:
    code: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Compare:
    op: str  # > >= < <= == !=
    left: Expression  # per-return expression: Number, ItemValue, Sum, Binary
    right: Expression


# An integer item's value in one return (inside a comparison).
ItemValue = ItemRef


@dataclass(frozen=True)
class Logical:
    op: str  # and / or
    left: Condition
    right: Condition


@dataclass(frozen=True)
class Not:
    operand: Condition


Expression = Number | ReturnCount | Population | Sum | Count | Binary | Negative | Growth | ItemValue
Condition = IsYes | ChoiceIn | Compare | Logical | Not


# --- the tokenizer --------------------------------------------------------------------

_TOKEN = token_pattern(number=r"\d+(?:\.\d+)?", operators=r"==|!=|>=|<=|[-+*/(),=|<>]")
_COMPARISONS = COMPARISONS


def _unreadable(text: str, position: int) -> IndicatorSyntaxError:
    return IndicatorSyntaxError(f"unexpected '{text[position:].strip()[:10]}' at character {position + 1}")


class _Parser(TokenCursor):
    def __init__(self, text: str):
        super().__init__(tokenize(text, _TOKEN, unreadable=_unreadable))
        self.text = text

    # helpers
    def accept(self, value: str) -> bool:
        if self.current[1] == value and self.current[0] in ("op", "name"):
            self.index += 1
            return True
        return False

    def expect(self, value: str):
        if not self.accept(value):
            self.fail(f"expected '{value}'")

    def name(self, what: str) -> str:
        kind, value, _ = self.current
        if kind != "name":
            self.fail(f"expected {what}")
        self.index += 1
        return value

    def fail(self, message: str):
        kind, value, position = self.current
        found = "the end" if kind == "end" else f"'{value}'"
        raise IndicatorSyntaxError(f"{message} at character {position + 1}, found {found}")

    # grammar
    def indicator(self) -> Expression:
        if self.current[1] == "growth" and self.peek()[1] == "(":
            self.index += 2
            key = self.name("an indicator key")
            self.expect(")")
            node = Growth(key)
        else:
            node = self.expression(per_return=False)
        if self.current[0] != "end":
            self.fail("unexpected text")
        return node

    def expression(self, *, per_return: bool) -> Expression:
        node = self.term(per_return=per_return)
        while self.current[1] in ("+", "-") and self.current[0] == "op":
            op = self.current[1]
            self.index += 1
            node = Binary(op, node, self.term(per_return=per_return))
        return node

    def term(self, *, per_return: bool) -> Expression:
        node = self.factor(per_return=per_return)
        while self.current[1] in ("*", "/") and self.current[0] == "op":
            op = self.current[1]
            self.index += 1
            node = Binary(op, node, self.factor(per_return=per_return))
        return node

    def factor(self, *, per_return: bool) -> Expression:
        kind, value, _ = self.current
        if kind == "number":
            self.index += 1
            return Number(Decimal(value))
        if kind == "op" and value == "-":
            self.index += 1
            return Negative(self.factor(per_return=per_return))
        if kind == "op" and value == "(":
            self.index += 1
            node = self.expression(per_return=per_return)
            self.expect(")")
            return node
        if kind == "name":
            if value == "sum" and self.peek()[1] == "(":
                return self.sum()
            if value == "count" and self.peek()[1] == "(":
                if per_return:
                    self.fail("count(...) cannot be used inside count(...)")
                self.index += 2
                condition = self.condition()
                self.expect(")")
                return Count(condition)
            if value == "growth":
                self.fail("growth(...) must be the whole definition")
            if value == "N" and not per_return:
                self.index += 1
                return ReturnCount()
            if value == "population" and not per_return:
                self.index += 1
                return Population()
            if per_return:
                self.index += 1
                return ItemValue(value)
            self.fail("expected N, population, count(...), sum(...) or a number (item codes go inside count or sum)")
        self.fail("expected a number, N, count(...) or sum(...)")

    def sum(self) -> Sum:
        self.index += 2  # sum (
        if self.current[1] == "part_of" and self.peek()[1] == "=":
            self.index += 2
            group = self.name("a part_of group code")
            self.expect(")")
            return Sum(group=group)
        codes = [self.name("an item code")]
        while self.accept(","):
            codes.append(self.name("an item code"))
        self.expect(")")
        return Sum(codes=tuple(codes))

    def condition(self) -> Condition:
        node = self.conjunction()
        while self.accept("or"):
            node = Logical("or", node, self.conjunction())
        return node

    def conjunction(self) -> Condition:
        node = self.negation()
        while self.accept("and"):
            node = Logical("and", node, self.negation())
        return node

    def negation(self) -> Condition:
        if self.accept("not"):
            return Not(self.negation())
        return self.atom()

    def atom(self) -> Condition:
        kind, value, _ = self.current
        following = self.peek()
        if kind == "name" and value not in ("sum",):
            if following[0] == "op" and following[1] == "=":
                self.index += 2
                return ChoiceIn(value, (self.choice_value(),))
            if following[0] == "name" and following[1] == "in":
                self.index += 2
                values = [self.choice_value()]
                while self.accept("|"):
                    values.append(self.choice_value())
                return ChoiceIn(value, tuple(values))
            if following[1] in (")", "and", "or") or following[0] == "end":
                self.index += 1
                return IsYes(value)
        left = self.expression(per_return=True)
        op = self.current[1]
        if self.current[0] != "op" or op not in _COMPARISONS:
            self.fail("expected a comparison (>, >=, <, <=, ==, !=)")
        self.index += 1
        return Compare(op, left, self.expression(per_return=True))

    def choice_value(self) -> str:
        kind, value, _ = self.current
        if kind not in ("name", "number"):
            self.fail("expected a choice code")
        self.index += 1
        return value


@functools.lru_cache(maxsize=4096)
def indicator_parse(definition: str) -> Expression:
    """The tree of one definition; raises IndicatorSyntaxError. Trees are immutable, so each
    definition is parsed once per process (every aggregation run compiles all of them)."""
    if not definition or not definition.strip():
        raise IndicatorSyntaxError("definition is empty")
    return _Parser(definition).indicator()


def indicator_names(node) -> dict[str, set[str]]:
    """Names a tree uses, by role: items, booleans, choices (code→values), groups, keys."""
    names = {"items": set(), "booleans": set(), "integers": set(), "groups": set(), "keys": set(), "choices": {}}

    def walk(node):
        match node:
            case Sum(codes=codes, group=group):
                names["integers"].update(codes)
                if group:
                    names["groups"].add(group)
            case Count(condition=condition):
                walk(condition)
            case Binary(left=left, right=right) | Compare(left=left, right=right) | Logical(left=left, right=right):
                walk(left)
                walk(right)
            case Negative(operand=operand) | Not(operand=operand):
                walk(operand)
            case Growth(key=key):
                names["keys"].add(key)
            case IsYes(code=code):
                names["booleans"].add(code)
            case ItemValue(code=code):
                names["integers"].add(code)
            case ChoiceIn(code=code, values=values):
                names["choices"].setdefault(code, set()).update(values)

    walk(node)
    names["items"] = names["booleans"] | names["integers"] | set(names["choices"])
    return names


def indicator_uses_population(node) -> bool:
    """Whether a tree divides (or multiplies) by the group's population."""
    match node:
        case Population():
            return True
        case Binary(left=left, right=right):
            return indicator_uses_population(left) or indicator_uses_population(right)
        case Negative(operand=operand):
            return indicator_uses_population(operand)
    return False


def indicator_definition_errors(
    *, definition: str, item_codes: set[str], group_codes: set[str], choice_codes: set[str],
    indicator_keys: set[str], item_types: dict[str, str] | None = None,
) -> list[str]:
    """Problems with one indicator definition (empty list when it is sound).

    ``item_types`` ({code: type}), when given, also checks that booleans are counted,
    integers summed and choices compared with their own codes' names.
    """
    try:
        tree = indicator_parse(definition)
    except IndicatorSyntaxError as exc:
        return [str(exc)]
    names = indicator_names(tree)
    errors = []
    for code in sorted(names["items"]):
        if code not in item_codes:
            errors.append(f"names unknown item '{code}'")
    for group in sorted(names["groups"]):
        if group not in group_codes:
            errors.append(f"names unknown part_of group '{group}'")
    for key in sorted(names["keys"]):
        if key not in indicator_keys:
            errors.append(f"growth names unknown indicator '{key}'")
    for code, values in sorted(names["choices"].items()):
        for value in sorted(values - choice_codes):
            errors.append(f"'{value}' is not a choice code of '{code}'")
    if item_types:
        expected = {"booleans": "boolean", "integers": "integer"}
        for role, kind in expected.items():
            for code in sorted(names[role]):
                if code in item_types and item_types[code] != kind:
                    errors.append(f"'{code}' is a {item_types[code]} item, not {kind}")
        for code in sorted(names["choices"]):
            if code in item_types and item_types[code] != "choice":
                errors.append(f"'{code}' is a {item_types[code]} item, not choice")
    return errors
