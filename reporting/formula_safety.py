"""Spreadsheet formulas in cells: neutralised on export, recognised on import.

Excel and LibreOffice execute a text cell as a formula when it starts with =, +, -, @, tab
or carriage return, also after leading spaces or line breaks (" =1+1" and "\\t=1+1" run as
=1+1 when a CSV is opened). On export such a cell gets a leading apostrophe, which makes it
inert text; numbers stay numbers (a negative growth figure stays -54.43, not '-54.43). On
import the same cells are recognised as formulas (``text_is_formula``) and refused by the
spreadsheet readers, whatever whitespace or control characters precede them.
"""

import re
from decimal import Decimal

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Spreadsheet programs skip these before looking for a formula's first character; so do we.
_IGNORED_BEFORE_FORMULA = re.compile(r"[\s\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]*")
# After +, - or @: what makes the rest of the cell a formula rather than text or a number.
_FORMULA_BODY = re.compile(
    r"""[\s+\-@]*(?:
        [A-Za-z_][A-Za-z0-9_.]*\s*\(          # a function call: SUM(, HYPERLINK(, cmd(
      | \$?[A-Za-z]{1,3}\$?[0-9]+\b            # a cell reference: A1, $B$2
      | [A-Za-z0-9_.]+\s*[|!]                  # DDE (cmd|'/C calc'!A0) or Sheet1!A1
      | [0-9.,]+\s*[-+*/^&<>=%]\s*\S           # arithmetic: 1+1, 2*3
      | \(                                     # a parenthesised expression
    )""",
    re.VERBOSE,
)


def text_is_formula(text: str) -> bool:
    """True if a spreadsheet program would run `text` as a formula.

    = followed by anything; +, - or @ followed by a function call, a cell reference, DDE or
    arithmetic. A plain signed number (-5, +3) or a dash before words ("- 无", "--") is text.
    """
    if text[:1].isalnum():  # most cells (numbers, words, Chinese): read 150,000 in a file
        return False
    start = _IGNORED_BEFORE_FORMULA.match(text).end()
    rest = text[start:]
    if rest.startswith("="):
        return bool(rest[1:].strip())
    if rest[:1] in ("+", "-", "@"):
        return _FORMULA_BODY.match(rest, 1) is not None
    return False


def cell_neutralise(value):
    if value is None or isinstance(value, (bool, int, float, Decimal)):
        return value
    text = str(value)
    if text.startswith(DANGEROUS_PREFIXES) or text_is_formula(text):
        return "'" + text
    return text


def row_neutralise(row):
    return [cell_neutralise(value) for value in row]
