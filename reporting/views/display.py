"""How stored things read on a page, in the reader's language.

The audit trail and the review page keep codes (item codes, choice codes, "yes"/"no",
status codes, system notes); people read labels. Codes stay available to experts through
``codes_toggle`` (``?codes=1`` shows them beside the labels) and ``title`` attributes.
"""

from __future__ import annotations

from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reporting.models import ReturnStatus
from reporting.rules.engine import CompiledItem, language_is_chinese
from reporting.values import Value, value_display

# Notes the system itself wrote into AuditEvent.comment, in the words it stored them.
# Shown in the reader's language; anything else is a person's own words, shown as written.
SYSTEM_COMMENTS = {
    "demo dataset (load_demo)": gettext_lazy("Loaded with the demo dataset"),
}


def choice_label(item: CompiledItem, code: str) -> str:
    zh = language_is_chinese()
    for choice_code, label_en, label_zh in item.choices:
        if choice_code == code:
            return (label_zh if zh else label_en) or code
    return code


def typed_value_label(item: CompiledItem | None, value: Value) -> str:
    """A typed answer as a person reads it: 是/否, a choice's label, the number or text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if item is not None and item.type == "choice":
        return choice_label(item, value)
    return value_display(value)


def stored_value_label(item: CompiledItem | None, text: str) -> str:
    """An audit trail value (as ``value_display`` stored it: "yes", "public", "12") as a label."""
    if not text or item is None:
        return text
    if item.type == "boolean":
        return {"yes": _("Yes"), "no": _("No")}.get(text, text)
    if item.type == "choice":
        return choice_label(item, text)
    return text


def status_label(code: str) -> str:
    return str(ReturnStatus(code).label) if code in ReturnStatus.values else code


def system_comment_label(comment: str) -> str:
    label = SYSTEM_COMMENTS.get(comment)
    return str(label) if label is not None else comment


def codes_toggle(request) -> tuple[bool, str]:
    """(whether item codes are shown, the link that flips it), keeping the other parameters."""
    shown = request.GET.get("codes") == "1"
    params = {key: value for key, value in request.GET.items() if key != "codes"}
    if not shown:
        params["codes"] = "1"
    query = urlencode(params)
    return shown, f"{request.path}?{query}" if query else request.path
