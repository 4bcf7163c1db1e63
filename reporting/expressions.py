"""The expression toolkit shared by the two definition languages: the rules of ``rules.csv``
(``reporting.rules``) and the indicators of ``indicators.csv`` (``reporting.indicators``).

Both are small arithmetic languages over item codes. They share the tokenizer, the cursor a
recursive-descent parser walks the tokens with, and the tree nodes that mean the same in both
(numbers, item references, binary operators); each language keeps its own grammar and nodes
for what only it has (``count(...)``, ``growth(...)``, ``population``; ``and``/``or`` as
values), and its own error messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
NAME = r"[A-Za-z_][A-Za-z0-9_]*"

Token = tuple[str, str, int]  # kind ("number", "name", "op", "end"), text, position


# --- nodes both languages use -----------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: int | Decimal


@dataclass(frozen=True)
class ItemRef:
    """One item's value in one return."""

    code: str


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / and comparisons; the rules also use "and" and "or"
    left: object
    right: object


# --- tokens -----------------------------------------------------------------------------


def token_pattern(*, number: str, operators: str) -> re.Pattern:
    """A token: optional blanks, then a number, a name or one of the operators (an
    alternation, longest first)."""
    return re.compile(rf"\s*(?:(?P<number>{number})|(?P<name>{NAME})|(?P<op>{operators}))")


def tokenize(text: str, pattern: re.Pattern, *, unreadable: Callable[[str, int], Exception],
             first_position: int = 0) -> list[Token]:
    """The tokens of `text`, ending with an ("end", "", position) token. Positions count from
    `first_position`; `unreadable(text, index)` makes the error for text no token matches."""
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = pattern.match(text, position)
        if match is None or match.end() == position:
            raise unreadable(text, position)
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), match.start(kind) + first_position))
        position = match.end()
    tokens.append(("end", "", len(text) + first_position))
    return tokens


class TokenCursor:
    """Where a recursive-descent parser is in its tokens."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token
