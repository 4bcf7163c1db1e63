"""Site-wide pages outside the survey: the refused-form page and logging out.

The 400, 403, 404 and 500 pages are the templates of the same names, which Django's own
handlers render (templates/400.html ... 500.html).
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a form came back without a valid security token (status 403).

    Usually a page left open across a log-in, log-out or an expired session; the reason
    Django gives is for developers and stays out of the page.
    """
    return render(request, "403_csrf.html", status=403)


class LogoutView(auth_views.LogoutView):
    """Logging out says so on the login page; a GET (a typed or bookmarked URL) asks first
    instead of answering Django's bare 405."""

    http_method_names = ["get", "post", "options"]
    template_name = "registration/logout_confirm.html"

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect("login")
        return render(request, self.template_name)

    def post(self, request, *args, **kwargs):
        was_logged_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_logged_in:
            # The session is gone; the message travels in the messages cookie.
            messages.success(request, _("You have been logged out."))
        return response
