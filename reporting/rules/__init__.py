"""Validation rules of a questionnaire: checking rule definitions (the engine lives here too)."""

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"sum", "part_of", "and", "or", "not"}
RULE_KINDS = {"expression", "previous_change"}


def rule_definition_errors(
    *, column: str, text: str, item_codes: set[str], group_codes: set[str]
) -> list[str]:
    """Problems with one expression of a rule definition (empty list when it is sound)."""
    errors = []
    for name in _IDENTIFIER.findall(text):
        if name in _KEYWORDS or name in item_codes or name in group_codes:
            continue
        errors.append(f"{column} names unknown item '{name}'")
    return errors
