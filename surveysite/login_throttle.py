"""What a person sees when django-axes refuses a login (AXES_LOCKOUT_CALLABLE).

The site's login page, in the site's layout and the person's language, with the reason and
status 429, for the site's form and the admin's alike.
"""

from axes.helpers import get_client_username, get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.utils.translation import ngettext


def lockout_response(request, original_response=None, credentials=None):
    minutes = max(1, round(get_cool_off(request).total_seconds() / 60))
    message = ngettext(
        "Too many failed logins for this account: it is locked for %(minutes)s minute. "
        "Try again later, or ask the society's administrator to unlock it.",
        "Too many failed logins for this account: it is locked for %(minutes)s minutes. "
        "Try again later, or ask the society's administrator to unlock it.",
        minutes,
    ) % {"minutes": minutes}
    username = get_client_username(request, credentials) or ""
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "next": request.POST.get("next", request.GET.get("next", "")),
        "lockout_message": message,
    }
    return render(request, "registration/login.html", context, status=429)
