"""django-axes hooks: the account name it records (AXES_USERNAME_CALLABLE), and what a person
sees when it refuses a login (AXES_LOCKOUT_CALLABLE).

The site's login page, in the site's layout and the person's language, with the reason and
status 429, for the site's form and the admin's alike.
"""

from axes.conf import settings
from axes.helpers import get_client_username, get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.utils.translation import ngettext

# AccessAttempt.username holds 255 characters. Django's login form passes a longer name to
# authenticate() (its max_length is set too late to be checked), and axes then failed to
# record the failure: a 500. No account name is longer than 150, so a cut name locks nobody.
THROTTLED_USERNAME_MAX = 255


def throttled_username(request, credentials=None):
    """AXES_USERNAME_CALLABLE: the name typed (as axes reads it by default), at most 255 long."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        name = credentials.get(field)
    else:
        name = getattr(request, "data", request.POST).get(field)
    return name[:THROTTLED_USERNAME_MAX] if isinstance(name, str) else name


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
