"""What a write does with what was sent: the one rule every writer of answers follows.

A writer (the data-entry form, a spreadsheet upload, ``manage.py import_returns``, a future
API) receives *some* items of a return. ``answers_resolve`` turns what was sent into the
return's answers after the write:

1. an item **absent** from what was sent is left as it is: an absent field is not a blank
   one (radio buttons send nothing while none is checked; a file without the item's column
   says nothing about the item);
2. an item sent **blank** (``None``) is cleared;
3. an item sent with a **value** gets that value;
4. then every item that **does not apply** (some item up its ``applies_if`` chain is not yes
   in the resulting answers) is cleared, whether it was sent or not. The form disables such
   items and browsers do not send disabled inputs; without this rule an answer to a question
   no longer asked would linger.

Sent values that step 4 throws away and that say something (not 0 or no, which are what an
empty answer means there) are returned in ``discarded`` so a writer can tell the person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reporting.rules.engine import CompiledQuestionnaire
from reporting.values import Value


@dataclass(frozen=True)
class AnswerChanges:
    """The outcome of applying what was sent to a return's stored answers."""

    values: dict[str, Value]  # every answer after the write; unanswered items absent
    changes: dict[str, tuple[Value, Value]]  # item code -> (before, after), questionnaire order
    not_applicable: tuple[str, ...] = ()  # items cleared because they do not apply
    discarded: dict[str, Value] = field(default_factory=dict)  # sent, not kept: the item does not apply

    @property
    def blanked(self) -> tuple[str, ...]:
        """Answers removed because a blank was sent for them."""
        return tuple(
            code for code, (before, after) in self.changes.items()
            if after is None and before is not None and code not in self.not_applicable
        )


def _says_something(value: Value) -> bool:
    # 0 and no are what an item that does not apply may hold (see the engine's applies_if rule).
    return value is not None and value is not False and not (type(value) is int and value == 0)


def condition_not_met(questionnaire: CompiledQuestionnaire, code: str, values: Mapping[str, Value]) -> str:
    """The first item up `code`'s applies_if chain that is not yes in `values` ("" if it applies)."""
    parent = questionnaire.items[code].applies_if
    while parent:
        if values.get(parent) is not True:
            return parent
        parent = questionnaire.items[parent].applies_if
    return ""


def answers_resolve(
    *,
    questionnaire: CompiledQuestionnaire,
    stored: Mapping[str, Value],
    sent: Mapping[str, Value],
) -> AnswerChanges:
    """The answers after writing `sent` over `stored` (see the module's rule). Pure; no queries.

    `stored`: the return's answers now (item code -> typed value; unanswered absent or None).
    `sent`: the items the request carried (item code -> typed value; None is a blank).
    Raises ValueError for item codes the questionnaire does not have.
    """
    position = questionnaire.positions
    values = {code: value for code, value in stored.items() if value is not None}
    unknown = []
    for code, value in sent.items():
        if code not in position:
            unknown.append(code)
        elif value is None:
            values.pop(code, None)
        else:
            values[code] = value
    if unknown:
        raise ValueError(f"unknown item codes: {', '.join(sorted(unknown))}")

    not_applicable = []
    discarded = {}
    for code, chain in questionnaire.applies_if_chains:
        for parent in chain:
            if values.get(parent) is not True:
                break
        else:
            continue  # every item up the chain is yes: it applies
        if code in values:
            del values[code]
            if stored.get(code) is not None:
                not_applicable.append(code)
        if _says_something(sent.get(code)):
            discarded[code] = sent[code]

    changed = []
    for code in sent:
        before, after = stored.get(code), values.get(code)
        if before != after or type(before) is not type(after):  # 0 is not no, 1 is not yes
            changed.append(code)
    changed.extend(code for code in not_applicable if code not in sent)
    changed.sort(key=position.__getitem__)
    changes = {code: (stored.get(code), values.get(code)) for code in changed}
    return AnswerChanges(
        values=values, changes=changes, not_applicable=tuple(not_applicable), discarded=discarded,
    )
