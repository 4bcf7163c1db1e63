"""User input that names a row: URL segments and form values turned into ids, in one place.

A database id is a plain ASCII number within the range of the column. Anything else (a number
too large for the column, full-width digits, a superscript ², a sign) names no row: a URL
segment does not match its pattern (404) and a form or query value counts as absent. Letting
it through raised OverflowError (SQLite cannot bind an integer beyond 64 bits) or ValueError
(``int("²")``, although ``"²".isdigit()``) deep inside a query: a 500.

The URL converters are registered when this module is imported (by the URLconf).
"""

from __future__ import annotations

import re

from django.urls import register_converter

# Primary keys are BigAutoField; SQLite's INTEGER is 64-bit signed as well.
ID_MAX = 2**63 - 1
# PositiveIntegerField on PostgreSQL (versions, revisions, years).
SMALL_NUMBER_MAX = 2**31 - 1

_ASCII_NUMBER = re.compile(r"[0-9]{1,19}")
_YEAR = re.compile(r"[0-9]{4}")


def number_parse(value, *, maximum: int = ID_MAX) -> int | None:
    """`value` as a whole number from 0 to `maximum`, or None if it is anything else."""
    if not isinstance(value, str) or not _ASCII_NUMBER.fullmatch(value):
        return None
    number = int(value)
    return number if number <= maximum else None


def id_parse(value) -> int | None:
    """A form or query value naming a row by its primary key, or None."""
    number = number_parse(value)
    return number if number else None  # ids start at 1


def ids_parse(values) -> set[int]:
    """The values that name rows (as ids_parse); the others are dropped."""
    return {number for number in map(id_parse, values) if number is not None}


def year_parse(value) -> int | None:
    """An edition year (four ASCII digits), or None."""
    return int(value) if isinstance(value, str) and _YEAR.fullmatch(value) else None


class IdConverter:
    """``<id:pk>``: a primary key; a segment out of range does not match (404)."""

    regex = _ASCII_NUMBER.pattern

    def to_python(self, value: str) -> int:
        number = id_parse(value)
        if number is None:
            raise ValueError(f"not an id: {value!r}")  # the resolver treats it as no match
        return number

    def to_url(self, value) -> str:
        return str(int(value))


class YearConverter:
    """``<year:year>``: an edition year, four digits."""

    regex = _YEAR.pattern

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return f"{int(value):04d}"


register_converter(IdConverter, "id")
register_converter(YearConverter, "year")
