"""Typed answer values: parsing what people type or upload, and showing what is stored.

One place decides what counts as a yes, a whole number or a choice, so the browser form,
the spreadsheet import and the audit trail agree.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from reporting.models import MAX_INTEGER_VALUE, Answer, Item, ItemType

Value = int | bool | str | None

TRUE_WORDS = {"yes", "true", "1", "y", "是", "有"}
FALSE_WORDS = {"no", "false", "0", "n", "否", "无"}


class ValueInvalid(ValueError):
    """A raw value does not fit its item; the message names the problem for a person."""


def value_parse(item: Item, raw) -> Value:
    """Turn raw input (str, number, bool, None) into the item's typed value; '' is unanswered."""
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "":
            return None
    if item.type == ItemType.INTEGER:
        return _parse_integer(raw)
    if item.type == ItemType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if isinstance(raw, (int, float)) and raw in (0, 1):
            word = str(int(raw))
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueInvalid(_("“%(value)s” is not yes or no.") % {"value": raw})
    if item.type == ItemType.CHOICE:
        text = str(raw).strip()
        codes = item.choice_codes
        if text in codes:
            return text
        # Accept a choice's label too: people type what they see.
        for choice in item.choices:
            if text in (choice.get("label_zh"), choice.get("label_en")):
                return choice["code"]
        raise ValueInvalid(
            _("“%(value)s” is not one of %(choices)s.") % {"value": raw, "choices": ", ".join(codes)}
        )
    return str(raw)


def _parse_integer(raw) -> int:
    if isinstance(raw, bool):
        raise ValueInvalid(_("“%(value)s” is not a whole number.") % {"value": raw})
    if isinstance(raw, float):
        if not raw.is_integer():
            raise ValueInvalid(_("“%(value)s” is not a whole number.") % {"value": raw})
        value = int(raw)
    elif isinstance(raw, int):
        value = raw
    else:
        text = str(raw).replace(",", "").replace("，", "").strip()
        if text.endswith(".0"):
            text = text[:-2]
        try:
            # int() takes full-width digits (１２) as typed with a Chinese input method, but
            # not every character str.isdigit() accepts (a superscript ² raised ValueError).
            value = int(text) if text.lstrip("-").isdigit() else None
        except ValueError:
            value = None
        if value is None:
            raise ValueInvalid(_("“%(value)s” is not a whole number.") % {"value": raw})
    if value < 0:
        raise ValueInvalid(_("%(value)s is negative; counts are 0 or more.") % {"value": value})
    if value > MAX_INTEGER_VALUE:
        raise ValueInvalid(
            _("%(value)s is larger than %(max)s.") % {"value": value, "max": f"{MAX_INTEGER_VALUE:,}"}
        )
    return value


def answer_value(answer: Answer, item: Item) -> Value:
    if item.type == ItemType.INTEGER:
        return answer.int_value
    if item.type == ItemType.BOOLEAN:
        return answer.bool_value
    return answer.text_value


def answer_set_value(answer: Answer, item: Item, value: Value) -> None:
    answer.int_value = value if item.type == ItemType.INTEGER else None
    answer.bool_value = value if item.type == ItemType.BOOLEAN else None
    answer.text_value = value if item.type in (ItemType.CHOICE, ItemType.TEXT) else None


def value_display(value: Value) -> str:
    """The stored form of a value in the audit trail and exports ('' for unanswered)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
