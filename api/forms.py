from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from api.models import TokenScope

EXPIRY_CHOICES = [(30, _("30 days")), (90, _("90 days")), (180, _("180 days")), (365, _("365 days"))]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100,
        help_text=_("What uses the token, e.g. “hospital information system” or “nightly export”."),
    )
    scope = forms.ChoiceField(
        label=_("Access"), choices=TokenScope.choices, initial=TokenScope.READ, widget=forms.RadioSelect,
        help_text=_("Read and write lets the token send values and submit, review or approve as your role allows."),
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires after"), choices=[c for c in EXPIRY_CHOICES if c[0] <= settings.API_TOKEN_MAX_DAYS],
        coerce=int, initial=90,
    )
