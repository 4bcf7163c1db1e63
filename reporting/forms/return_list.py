"""The returns list's search and filters (a GET form)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from institutions.models import HospitalLevel, Ownership
from reporting.models import ReturnStatus
from reporting.selectors_entry import ReturnListFilters


class ReturnListFilterForm(forms.Form):
    q = forms.CharField(label=_("Institution code or name"), required=False, max_length=100)
    province = forms.ChoiceField(label=_("Province"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses")), *ReturnStatus.choices])
    hospital_level = forms.ChoiceField(label=_("Hospital level"), required=False,
                                       choices=[("", _("All hospital levels")), *HospitalLevel.choices])
    ownership = forms.ChoiceField(label=_("Ownership"), required=False,
                                  choices=[("", _("All ownerships")), *Ownership.choices])

    def __init__(self, *args, provinces: list[tuple[str, str]], **kwargs):
        """`provinces`: (code, name) of every province. Anyone may filter by any of them; the
        list is scoped by who asks, so another province's filter shows nothing."""
        super().__init__(*args, **kwargs)
        self.fields["province"].choices = [("", _("All provinces")), *provinces]

    def filters(self) -> ReturnListFilters:
        """The valid filters (an invalid one is reported by the form and left out)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return ReturnListFilters(
            search=(data.get("q") or "").strip(),
            province=data.get("province") or "",
            status=data.get("status") or "",
            hospital_level=data.get("hospital_level") or "",
            ownership=data.get("ownership") or "",
        )

    def active(self) -> list[tuple[str, str, str]]:
        """(parameter, field label, value shown) of every filter in use, in the form's order."""
        filters = self.filters()
        values = {"q": filters.search, "province": filters.province, "status": filters.status,
                  "hospital_level": filters.hospital_level, "ownership": filters.ownership}
        shown = []
        for name, value in values.items():
            if not value:
                continue
            field = self.fields[name]
            label = dict(field.choices).get(value, value) if isinstance(field, forms.ChoiceField) else value
            shown.append((name, str(field.label), str(label)))
        return shown
