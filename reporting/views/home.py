from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from institutions.selectors import institution_list_visible_to, user_membership
from reporting.selectors import edition_current, return_list_visible_to


@login_required
def home(request):
    edition = edition_current()
    returns = return_list_visible_to(user=request.user, edition=edition) if edition else []
    return render(
        request,
        "reporting/home.html",
        {
            "edition": edition,
            "membership": user_membership(request.user),
            "institution_count": institution_list_visible_to(user=request.user).count(),
            "returns": returns[:50] if edition else [],
        },
    )
