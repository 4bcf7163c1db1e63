"""Requests refused before any view sees them, and Django's bare refusals given the site's page."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _

API_PATH = "/api/"


class NulCharacterRefusedMiddleware:
    """A NUL character in a query or form field is a 400 (the site's page), naming the field.

    No field of the site can hold one, and PostgreSQL refuses it in any text it is given
    ("A string literal cannot contain NUL characters"): a NUL that reached a filter or a
    save was a 500. Forms already refuse it; this covers the values views read directly.
    Uploaded files are not form fields and are not looked at.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(API_PATH):
            # The web API refuses a NUL itself, in JSON (422 naming the parameter), as its
            # schema documents; an HTML page here would be an answer its clients cannot read.
            return self.get_response(request)
        fields = list(request.GET.lists())
        if request.method == "POST":
            fields += list(request.POST.lists())
        for name, values in fields:
            if "\x00" in name or any("\x00" in value for value in values):
                shown = name.replace("\x00", "\\0")[:60]
                problem = _("The field “%(field)s” contains a NUL character (\\0), which no field accepts.") % {
                    "field": shown
                }
                return render(request, "400_field.html", {"problem": problem}, status=400)
        return self.get_response(request)


class MethodNotAllowedPageMiddleware:
    """A 405 (a typed or bookmarked address of a form's target: require_POST, a view's
    http_method_names) is the site's page in the reader's language, not Django's empty body.

    The Allow header stays. A 405 that already has a body (a view's own answer) is left as it
    is, and so is the web API's, which answers in JSON for programs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code != 405 or request.path_info.startswith(API_PATH)
                or response.streaming or response.content):
            return response
        page = render(request, "405.html", status=405)
        page["Allow"] = response["Allow"]
        return page
