"""Helpers for tests that use the Django admin through the test client."""

import csv
import io

from django import forms


def _form_data(data: dict, form) -> None:
    for name, field in form.fields.items():
        if field.disabled:
            continue
        key = form.add_prefix(name)
        value = form[name].value()
        if isinstance(field.widget, forms.CheckboxInput):
            if value:
                data[key] = "on"
        elif value is None:
            data[key] = ""
        elif isinstance(value, (list, tuple)):
            data[key] = [str(item) for item in value]
        else:
            data[key] = str(value)


def admin_form_data(response) -> dict:
    """The POST data that submits an admin add or change page as it was shown, inlines included."""
    data: dict = {}
    _form_data(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        _form_data(data, formset.management_form)
        for form in formset.forms:
            _form_data(data, form)
    return data


def audit_export_rows(client, query: str = "") -> list[dict]:
    response = client.get(f"/audit/export.csv{query}")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def audited(rows: list[dict], **expected) -> list[dict]:
    """The exported audit rows whose columns have the expected values."""
    return [row for row in rows if all(row[column] == str(value) for column, value in expected.items())]
