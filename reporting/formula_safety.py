"""Neutralising spreadsheet formulas in exported cells (CSV/formula injection).

A text cell that starts with =, +, -, @, tab or carriage return is executed by Excel or
LibreOffice as a formula; prefixing it with an apostrophe makes it inert text. Numbers are
left as numbers (a negative growth figure stays -54.43, not the text '-54.43).
"""

from decimal import Decimal

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell_neutralise(value):
    if value is None or isinstance(value, (bool, int, float, Decimal)):
        return value
    text = str(value)
    if text.startswith(DANGEROUS_PREFIXES):
        return "'" + text
    return text


def row_neutralise(row):
    return [cell_neutralise(value) for value in row]
