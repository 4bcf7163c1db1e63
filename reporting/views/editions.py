"""Society admins open and close editions and grant entry extensions."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from institutions.models import Institution
from institutions.selectors import user_is_society_admin
from reporting.models import Edition, EntryExtension
from reporting.services import editions as edition_services
from reporting.services.returns import ReturnActionRefused, extension_grant


class EditionDatesForm(forms.Form):
    opens_on = forms.DateField(label=gettext_lazy("Opens on"), widget=forms.DateInput(attrs={"type": "date"}))
    closes_on = forms.DateField(label=gettext_lazy("Closes on"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("opens_on") and cleaned.get("closes_on") and cleaned["closes_on"] < cleaned["opens_on"]:
            self.add_error("closes_on", _("The closing date must not be before the opening date."))
        return cleaned


class ExtensionForm(forms.Form):
    institution_code = forms.CharField(label=gettext_lazy("Institution code"), max_length=32)
    until = forms.DateField(label=gettext_lazy("Entry allowed until"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=500)

    def clean_institution_code(self):
        code = self.cleaned_data["institution_code"].strip()
        institution = Institution.objects.filter(code=code).first()
        if institution is None:
            raise forms.ValidationError(_("No institution has the code “%(code)s”.") % {"code": code})
        self.institution = institution
        return code


@login_required
def edition_manage(request, year: int):
    if not user_is_society_admin(request.user):
        raise Http404
    edition = get_object_or_404(Edition, year=year)
    dates_form = EditionDatesForm(prefix="dates", initial={"opens_on": edition.opens_on, "closes_on": edition.closes_on})
    extension_form = ExtensionForm(prefix="ext")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "open":
                dates_form = EditionDatesForm(request.POST, prefix="dates")
                if dates_form.is_valid():
                    edition_services.edition_open(edition=edition, actor=request.user, **dates_form.cleaned_data)
                    messages.success(request, _("The edition is open for data entry."))
                    return redirect("entry:edition", year=year)
            elif action == "close":
                edition_services.edition_close(edition=edition, actor=request.user)
                messages.success(request, _("The edition is closed for data entry."))
                return redirect("entry:edition", year=year)
            elif action == "extend":
                extension_form = ExtensionForm(request.POST, prefix="ext")
                if extension_form.is_valid():
                    extension_grant(
                        edition=edition, institution=extension_form.institution,
                        until=extension_form.cleaned_data["until"], actor=request.user,
                        reason=extension_form.cleaned_data["reason"],
                    )
                    messages.success(request, _("Extension granted."))
                    return redirect("entry:edition", year=year)
        except (edition_services.EditionActionRefused, ReturnActionRefused, ValueError) as refused:
            messages.error(request, str(refused))
    return render(request, "reporting/entry/edition_manage.html", {
        "edition": edition,
        "editions": Edition.objects.filter(items__isnull=False).distinct(),
        "dates_form": dates_form,
        "extension_form": extension_form,
        "extensions": EntryExtension.objects.filter(edition=edition).select_related("institution", "granted_by").order_by("-granted_at"),
    })
