"""Report indicators: checking and evaluating indicator definitions."""

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"N", "sum", "count", "part_of", "and", "in", "growth"}


def indicator_definition_errors(
    *, definition: str, item_codes: set[str], group_codes: set[str], choice_codes: set[str],
    indicator_keys: set[str],
) -> list[str]:
    """Problems with one indicator definition (empty list when it is sound)."""
    errors = []
    for name in _IDENTIFIER.findall(definition):
        known = (item_codes | group_codes | choice_codes | indicator_keys | _KEYWORDS)
        if name not in known:
            errors.append(f"definition names unknown item '{name}'")
    return errors
