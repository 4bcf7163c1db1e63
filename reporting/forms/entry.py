"""The data-entry form of a return, generated from the edition's questionnaire.

Every input is a text-like field so a failed save re-displays exactly what the person
typed; values are parsed by ``reporting.values`` (the same rules as the spreadsheet import).
Only the items the request carries are "sent" (``sent_values``): an absent field is not a
blank one, and what a save does with them is ``reporting.services.answers.answers_resolve``.
A bound form shows the posted value of each item it was sent and the stored value of the rest.
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Layout, LayoutObject
from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from reporting.models import ItemType
from reporting.rules.engine import ERROR, CompiledQuestionnaire, RuleFinding, language_is_chinese
from reporting.values import Value, ValueInvalid, value_parse

EXPLANATION_PREFIX = "explain__"


def _raw(value: Value) -> str:
    """A stored value as the form shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def findings_in_reading_order(findings: list[RuleFinding]) -> list[RuleFinding]:
    """Errors (they block) before warnings (they need explaining); otherwise the rules' order."""
    return sorted(findings, key=lambda finding: finding.severity != ERROR)


class ReturnForm(forms.Form):
    """One field per item, named by the item code.

    After is_valid(): `sent_values` (item code -> typed value, None for a blank) for the
    items the request carried, and `unreadable` (codes whose value could not be read).
    `values` are the stored answers: the initial values, and what a bound form shows for
    items the request did not carry.
    """

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, questionnaire: CompiledQuestionnaire, values: dict[str, Value] | None = None,
                 read_only: bool = False, **kwargs):
        values = values or {}
        kwargs.setdefault("initial", {})
        kwargs["initial"].update({code: _raw(value) for code, value in values.items()})
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        zh = language_is_chinese()
        for code, prototype in _prototype_fields(questionnaire).items():
            # A shallow copy with its own widget and attributes: cheap, and safe to change
            # per request (disabled state, findings as help text, error classes).
            field = copy.copy(prototype)
            field.widget = copy.copy(prototype.widget)
            field.widget.attrs = dict(prototype.widget.attrs)
            if read_only:
                field.disabled = True
            self.fields[code] = field
        if read_only:
            self.fields["version"].disabled = True
        self._disable_items_that_do_not_apply()
        self.helper = self._helper(zh)

    def shown_value(self, code: str) -> str:
        """What the page shows for an item: the posted value if it was sent, else the stored one."""
        if self.is_bound and code in self.data:
            return self.data.get(code, "")
        return self.initial.get(code, "")

    def _disable_items_that_do_not_apply(self) -> None:
        """Render items whose applies_if chain is not all yes as disabled (the JS keeps this live)."""
        items = self.questionnaire.items
        for code, item in items.items():
            parent = item.applies_if
            while parent:
                if self.shown_value(parent) != "yes":
                    self.fields[code].widget.attrs["disabled"] = "disabled"
                    break
                parent = items[parent].applies_if

    def _helper(self, zh: bool) -> FormHelper:
        helper = FormHelper()
        helper.form_tag = False
        helper.disable_csrf = True
        helper.include_media = False  # plain widgets have none; collecting it walks 123 widgets
        sections = []
        group_last_item = {members[-1]: group for group, members in self.questionnaire.groups.items()}
        for section in self.questionnaire.sections:
            parts = [StaticHTML(format_html('<h2 class="h5 section-title">{}</h2>', section.title_zh if zh else section.title_en))]
            for code in section.item_codes:
                item = self.questionnaire.items[code]
                parts.append(ItemField(code, item_type=item.type, unit=item.unit(zh)))
                group = group_last_item.get(code)
                if group:
                    parts.append(Subtotal(group, label=self.questionnaire.group_labels.get(group, (group, group))[1 if zh else 0]))
            sections.append(Div(*parts, css_id=f"section-{section.code}", css_class="entry-section"))
        helper.layout = Layout(*sections)
        return helper

    def _subtotal(self, group: str) -> str:
        total = 0
        for code in self.questionnaire.groups[group]:
            raw = str(self.shown_value(code) or "").replace(",", "").strip()
            if raw.isdigit():
                total += int(raw)
        return f"{total}"

    def progress(self) -> FormProgress:
        """How many of the items that apply are answered, per section and overall, and how many
        errors and warnings each section shows (the messages next to its fields).

        Items are counted as the page shows them (what was typed, after a refused save). Free
        text is optional, so only the items a submission needs count; an item that does not
        apply (its applies_if chain is not all yes) counts nowhere. static/js/return-form.js
        recounts the answers the same way as the person types.
        """
        if getattr(self, "_progress", None) is not None:
            return self._progress
        items = self.questionnaire.items
        messages = getattr(self, "_messages_by_field", {})
        parse_errors = self.errors if self.is_bound else {}
        zh = language_is_chinese()
        sections = []
        for section in self.questionnaire.sections:
            asked = answered = errors = warnings = 0
            for code in section.item_codes:
                item = items[code]
                severities = [severity for severity, _message in messages.get(code, ())]
                errors += len(parse_errors.get(code, ())) + severities.count("error")
                warnings += severities.count("warning")
                if item.type == ItemType.TEXT or "disabled" in self.fields[code].widget.attrs:
                    continue
                asked += 1
                if str(self.shown_value(code) or "").strip():
                    answered += 1
            sections.append(SectionProgress(
                code=section.code, title=section.title_zh if zh else section.title_en,
                asked=asked, answered=answered, errors=errors, warnings=warnings,
            ))
        self._progress = FormProgress(sections)
        return self._progress

    def clean(self):
        cleaned = super().clean()
        sent: dict[str, Value] = {}
        unreadable: set[str] = set()
        for code, item in self.questionnaire.items.items():
            if code not in self.data:
                continue  # not sent (a disabled input, radio buttons none checked): left as it is
            try:
                sent[code] = value_parse(_ItemView(item), self.data.get(code, ""))
            except ValueInvalid as exc:
                unreadable.add(code)
                self.add_error(code, str(exc))
        self.sent_values = sent
        self.unreadable = unreadable
        return cleaned

    def explanations(self) -> dict[str, str]:
        """The warning explanations posted with the form, by finding rule code."""
        return {
            key.removeprefix(EXPLANATION_PREFIX): value.strip()
            for key, value in self.data.items()
            if key.startswith(EXPLANATION_PREFIX)
        }

    def attach_findings(self, findings: list[RuleFinding], item_comments: dict[str, list[str]] | None = None) -> None:
        """Show each finding (and reviewers' item comments) next to its fields."""
        by_field: dict[str, list[tuple[str, str]]] = {}
        marked: dict[str, set[str]] = {}
        for finding in findings_in_reading_order(findings):
            # The message sits by the first of its fields; every field of it is outlined.
            fields = [code for code in finding.fields if code in self.fields]
            if fields:
                by_field.setdefault(fields[0], []).append((finding.severity, finding.message))
            for code in fields:
                marked.setdefault(code, set()).add(finding.severity)
        for code, comments in (item_comments or {}).items():
            for body in comments:
                by_field.setdefault(code, []).append(("comment", body))
        self._messages_by_field = by_field  # for the progress in the section navigation
        labels = {"error": _("Error"), "warning": _("Warning"), "comment": _("Reviewer")}
        for code, entries in by_field.items():
            self.fields[code].help_text = format_html_join(
                "", '<span class="finding finding-{}"><strong>{}:</strong> {}</span>',
                ((severity, labels[severity], message) for severity, message in entries),
            )
        for code, severities in marked.items():
            css = "is-invalid" if "error" in severities else "is-warning"
            field = self.fields[code]
            existing = field.widget.attrs.get("class", "")
            field.widget.attrs["class"] = f"{existing} {css}".strip()


@dataclass(frozen=True)
class SectionProgress:
    code: str
    title: str
    asked: int  # items that apply and need an answer to submit
    answered: int
    errors: int
    warnings: int

    @property
    def complete(self) -> bool:
        return self.answered == self.asked


@dataclass(frozen=True)
class FormProgress:
    sections: list[SectionProgress]

    @property
    def asked(self) -> int:
        return sum(s.asked for s in self.sections)

    @property
    def answered(self) -> int:
        return sum(s.answered for s in self.sections)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.sections)

    @property
    def warnings(self) -> int:
        return sum(s.warnings for s in self.sections)


def _prototype_fields(questionnaire: CompiledQuestionnaire) -> dict[str, forms.Field]:
    """The form's item fields, built once per questionnaire and language, then copied per form."""
    language = get_language() or ""
    prototypes = questionnaire.form_cache.get(language)
    if prototypes is not None:
        return prototypes
    zh = language_is_chinese()
    yes_no = [("yes", _("Yes")), ("no", _("No"))]
    prototypes = {}
    for code, item in questionnaire.items.items():
        attrs = {}
        if item.applies_if:
            attrs["data-applies-if"] = item.applies_if
        if item.part_of:
            attrs["data-part-of"] = item.part_of
        label = item.label(zh)
        if item.type == ItemType.INTEGER:
            attrs.update({"inputmode": "numeric", "autocomplete": "off"})
            field = forms.CharField(label=label, required=False, max_length=32, widget=forms.TextInput)
        elif item.type == ItemType.BOOLEAN:
            field = forms.ChoiceField(label=label, required=False, choices=yes_no, widget=forms.RadioSelect)
        elif item.type == ItemType.CHOICE:
            choices = [("", "—")] + [(c, lz if zh else le) for c, le, lz in item.choices]
            field = forms.ChoiceField(label=label, required=False, choices=choices, widget=forms.Select)
        else:
            attrs["rows"] = 3
            field = forms.CharField(label=label, required=False, max_length=4000, widget=forms.Textarea)
        field.widget.attrs.update(attrs)
        prototypes[code] = field
    questionnaire.form_cache[language] = prototypes
    return prototypes


class StaticHTML:
    """Markup fixed when the layout is built (crispy's HTML would compile a template per render)."""

    def __init__(self, html: str):
        self.html = html

    def render(self, form, context, template_pack=None, **kwargs):
        return self.html


class Subtotal:
    """The live subtotal of a part_of group, shown after its last item."""

    def __init__(self, group: str, label: str):
        self.group, self.label = group, label

    def render(self, form, context, template_pack=None, **kwargs):
        return format_html(
            '<div class="subtotal" data-subtotal-group="{}">{}<output data-subtotal-for="{}">{}</output></div>',
            self.group, _("%(group)s: ") % {"group": self.label}, self.group, form._subtotal(self.group),
        )


class ItemField(LayoutObject):
    """One questionnaire item as Bootstrap 5 markup: label, input (unit beside it), errors, findings.

    A crispy layout object that writes its markup in Python: the page has 123 of them and
    rendering a template per field (or per widget) made the page several times slower.
    """

    def __init__(self, code: str, *, item_type: str, unit: str = ""):
        self.fields = [code]
        self.code, self.item_type, self.unit = code, item_type, unit

    def render(self, form, context, template_pack=None, **kwargs):
        code = self.code
        field = form.fields[code]
        value = form.initial.get(code, "") if field.disabled else form.shown_value(code)
        value = "" if value is None else str(value)
        errors = form.errors.get(code) if form.is_bound else None
        attrs = dict(field.widget.attrs)
        css = attrs.pop("class", "")
        if errors and "is-invalid" not in css:
            css = f"{css} is-invalid".strip()
        if field.disabled:
            attrs["disabled"] = "disabled"
        extra = _attributes(attrs)
        input_id = f"id_{code}"
        label = _escape(field.label)
        feedback = _feedback(errors, field.help_text)
        if self.item_type == ItemType.BOOLEAN:
            options = []
            for index, (choice, choice_label) in enumerate(field.choices):
                option_id = f"{input_id}_{index}"
                checked = " checked" if value == choice else ""
                options.append(
                    f'<div class="form-check form-check-inline"><input class="form-check-input {css}" type="radio" '
                    f'name="{code}" value="{_escape(choice)}" id="{option_id}"{checked}{extra}>'
                    f'<label class="form-check-label" for="{option_id}">{_escape(choice_label)}</label></div>'
                )
            return mark_safe(  # noqa: S308 - every value passed through _escape
                f'<fieldset class="row item" id="{input_id}"><legend class="col-md-7 col-form-label pt-0 fs-6">{label}</legend>'
                f'<div class="col-md-5">{"".join(options)}{feedback}</div></fieldset>'
            )
        if self.item_type == ItemType.CHOICE:
            options = "".join(
                f'<option value="{_escape(choice)}"{" selected" if value == str(choice) else ""}>{_escape(choice_label)}</option>'
                for choice, choice_label in field.choices
            )
            control = f'<select name="{code}" class="form-select {css}" id="{input_id}"{extra}>{options}</select>'
        elif self.item_type == ItemType.TEXT:
            control = f'<textarea name="{code}" class="form-control {css}" id="{input_id}"{extra}>\n{_escape(value)}</textarea>'
        else:
            control = f'<input type="text" name="{code}" value="{_escape(value)}" class="form-control {css}" id="{input_id}"{extra}>'
            if self.unit:
                control = f'<div class="input-group">{control}<span class="input-group-text">{_escape(self.unit)}</span></div>'
        if self.item_type == ItemType.TEXT:
            return mark_safe(  # noqa: S308 - every value passed through _escape
                f'<div class="item" id="div_{input_id}"><label for="{input_id}" class="form-label">{label}</label>'
                f"{control}{feedback}</div>"
            )
        return mark_safe(  # noqa: S308 - every value passed through _escape
            f'<div class="row item" id="div_{input_id}"><label for="{input_id}" class="col-md-7 col-form-label">{label}</label>'
            f'<div class="col-md-5">{control}{feedback}</div></div>'
        )


def _escape(value) -> str:
    """Django's escape without its lazy-string machinery (this runs ~1,000 times per page)."""
    if isinstance(value, SafeData):
        return value
    return html.escape(str(value), quote=True)


def _attributes(attrs: dict) -> str:
    return "".join(
        f' {name}="{_escape(value)}"' if value is not True else f" {name}"
        for name, value in attrs.items()
        if value is not None and value is not False
    )


def _feedback(errors, help_text) -> str:
    parts = []
    if errors:
        parts.extend(f'<div class="invalid-feedback d-block">{_escape(e)}</div>' for e in errors)
    if help_text:
        parts.append(f'<div class="form-text">{_escape(help_text)}</div>')
    return "".join(parts)


class _ItemView:
    """What value_parse needs of an item, from the compiled questionnaire."""

    __slots__ = ("type", "choices", "choice_codes")

    def __init__(self, item):
        self.type = item.type
        self.choices = [{"code": c, "label_en": le, "label_zh": lz} for c, le, lz in item.choices]
        self.choice_codes = [c for c, _le, _lz in item.choices]


class SendBackForm(forms.Form):
    comment = forms.CharField(label=gettext_lazy("Comment for the reporter"), widget=forms.Textarea(attrs={"rows": 3}),
                              max_length=4000)


class ReopenForm(forms.Form):
    comment = forms.CharField(label=gettext_lazy("Why is the return reopened?"), widget=forms.Textarea(attrs={"rows": 2}),
                              max_length=4000)
