"""Validation rules of a questionnaire: the expression language of ``rules.csv``.

One parser serves both the definition loader (``rule_definition_errors``) and the engine
(``reporting.rules.engine``), so a rule that loads is a rule the engine can evaluate.

The language, over one return's values::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := additive (("==" | "!=" | "<" | "<=" | ">" | ">=") additive)?
    additive   := term (("+" | "-") term)*
    term       := unary ("*" unary)*
    unary      := "-" unary | primary
    primary    := INTEGER | ITEM_CODE | "sum(" sum_args ")" | "(" expr ")"
    sum_args   := sum_arg ("," sum_arg)*
    sum_arg    := ITEM_CODE | "part_of=" GROUP_CODE

Booleans count as 1/0 and unanswered items as 0; a comparison is 1 when true, 0 when false.
"""

from __future__ import annotations

from dataclasses import dataclass

from reporting.expressions import (
    COMPARISONS,
    Binary,
    ItemRef,
    Number,
    TokenCursor,
    token_pattern,
    tokenize,
)

RULE_KINDS = {"expression", "previous_change"}

_TOKEN = token_pattern(number=r"\d+", operators=r"==|!=|<=|>=|[<>+\-*(),=]")
_COMPARISONS = COMPARISONS
_RESERVED = {"sum", "part_of", "and", "or", "not"}


class RuleSyntaxError(ValueError):
    """A rule expression that cannot be parsed; the message says where and why."""


# --- syntax tree (Number, ItemRef and Binary come from reporting.expressions) -----------


@dataclass(frozen=True)
class Sum:
    codes: tuple[str, ...]  # item codes named directly
    groups: tuple[str, ...]  # part_of groups, expanded per edition


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: object


def _unreadable(text: str, position: int) -> RuleSyntaxError:
    rest = text[position:]
    start = position + len(rest) - len(rest.lstrip())
    return RuleSyntaxError(f"unexpected character '{text[start]}' at position {start + 1}")


class _Parser(TokenCursor):
    def __init__(self, text: str):
        # Positions count from 1 in the rules' messages.
        super().__init__(tokenize(text, _TOKEN, unreadable=_unreadable, first_position=1))

    def peek(self) -> tuple[str, str, int]:  # the rules look at the current token only
        return self.current

    def next(self) -> tuple[str, str, int]:
        return self.advance()

    def expect(self, value: str) -> None:
        kind, text, position = self.next()
        if text != value or kind == "end":
            found = f"'{text}'" if kind != "end" else "the end"
            raise RuleSyntaxError(f"expected '{value}' at position {position}, found {found}")

    def at_word(self, word: str) -> bool:
        kind, text, _ = self.peek()
        return kind == "name" and text == word

    def parse(self):
        tree = self.or_expr()
        kind, text, position = self.peek()
        if kind != "end":
            raise RuleSyntaxError(f"unexpected '{text}' at position {position}")
        return tree

    def or_expr(self):
        tree = self.and_expr()
        while self.at_word("or"):
            self.next()
            tree = Binary("or", tree, self.and_expr())
        return tree

    def and_expr(self):
        tree = self.not_expr()
        while self.at_word("and"):
            self.next()
            tree = Binary("and", tree, self.not_expr())
        return tree

    def not_expr(self):
        if self.at_word("not"):
            self.next()
            return Unary("not", self.not_expr())
        return self.comparison()

    def comparison(self):
        tree = self.additive()
        kind, text, _ = self.peek()
        if kind == "op" and text in _COMPARISONS:
            self.next()
            tree = Binary(text, tree, self.additive())
            kind, text, position = self.peek()
            if kind == "op" and text in _COMPARISONS:
                raise RuleSyntaxError(f"comparisons cannot be chained (position {position})")
        return tree

    def additive(self):
        tree = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.next()[1]
            tree = Binary(op, tree, self.term())
        return tree

    def term(self):
        tree = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] == "*":
            self.next()
            tree = Binary("*", tree, self.unary())
        return tree

    def unary(self):
        if self.peek()[0] == "op" and self.peek()[1] == "-":
            self.next()
            return Unary("-", self.unary())
        return self.primary()

    def primary(self):
        kind, text, position = self.next()
        if kind == "number":
            return Number(int(text))
        if kind == "op" and text == "(":
            tree = self.or_expr()
            self.expect(")")
            return tree
        if kind == "name" and text == "sum":
            return self.sum_call()
        if kind == "name" and text not in _RESERVED:
            return ItemRef(text)
        found = f"'{text}'" if kind != "end" else "the end"
        raise RuleSyntaxError(f"expected a number, an item code or sum(...) at position {position}, found {found}")

    def sum_call(self):
        self.expect("(")
        codes, groups = [], []
        while True:
            kind, text, position = self.next()
            if kind == "name" and text == "part_of":
                self.expect("=")
                kind, text, position = self.next()
                if kind != "name":
                    raise RuleSyntaxError(f"expected a group code after 'part_of=' at position {position}")
                groups.append(text)
            elif kind == "name" and text not in _RESERVED:
                codes.append(text)
            else:
                found = f"'{text}'" if kind != "end" else "the end"
                raise RuleSyntaxError(f"expected an item code or part_of=GROUP in sum(...) at position {position}, found {found}")
            kind, text, position = self.next()
            if kind == "op" and text == ")":
                return Sum(tuple(codes), tuple(groups))
            if not (kind == "op" and text == ","):
                found = f"'{text}'" if kind != "end" else "the end"
                raise RuleSyntaxError(f"expected ',' or ')' at position {position}, found {found}")


def rule_expression_parse(text: str):
    """The syntax tree of one rule expression; raises RuleSyntaxError."""
    if not text or not text.strip():
        raise RuleSyntaxError("is empty")
    return _Parser(text).parse()


def rule_expression_names(tree) -> tuple[set[str], set[str]]:
    """(item codes, group codes) an expression refers to."""
    items: set[str] = set()
    groups: set[str] = set()

    def walk(node):
        if isinstance(node, ItemRef):
            items.add(node.code)
        elif isinstance(node, Sum):
            items.update(node.codes)
            groups.update(node.groups)
        elif isinstance(node, Unary):
            walk(node.operand)
        elif isinstance(node, Binary):
            walk(node.left)
            walk(node.right)

    walk(tree)
    return items, groups


def previous_change_parameters(text: str) -> dict[str, int]:
    """``pct=50;min_abs=20`` → {"pct": 50, "min_abs": 20}; raises RuleSyntaxError."""
    parameters = {}
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        name, _, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if name not in ("pct", "min_abs"):
            raise RuleSyntaxError(f"unknown parameter '{name}' (expected pct and min_abs)")
        if not value.isdigit():
            raise RuleSyntaxError(f"{name} must be a whole number, not '{value}'")
        parameters[name] = int(value)
    if "pct" not in parameters:
        raise RuleSyntaxError("needs pct=<percent>, e.g. pct=50;min_abs=20")
    parameters.setdefault("min_abs", 0)
    return parameters


def rule_definition_errors(
    *, column: str, text: str, item_codes: set[str], group_codes: set[str]
) -> list[str]:
    """Problems with one expression of a rule definition (empty list when it is sound).

    ``when`` may be empty (the rule always applies); ``condition`` may not.
    """
    if column == "when" and not (text or "").strip():
        return []
    try:
        tree = rule_expression_parse(text)
    except RuleSyntaxError as exc:
        return [f"{column} {exc}"]
    items, groups = rule_expression_names(tree)
    errors = [f"{column} names unknown item '{code}'" for code in sorted(items - item_codes)]
    # A part_of target may be a named group or an item that is itself a total.
    errors += [
        f"{column} names unknown group '{code}' in part_of="
        for code in sorted(groups - group_codes - item_codes)
    ]
    return errors
