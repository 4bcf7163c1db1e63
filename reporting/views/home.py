from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from institutions.models import Role
from institutions.selectors import (
    institution_list_visible_to,
    user_is_society_admin,
    user_membership,
)
from reporting.models import ReturnStatus
from reporting.selectors import edition_current, edition_for_report, return_list_visible_to
from reporting.selectors_entry import completeness_by_province, completeness_total
from reporting.services.returns import entry_is_open


@login_required
def home(request):
    """A dashboard for each role: the reporter's return, the liaison's queue, the admin's overview."""
    edition = edition_current()
    membership = user_membership(request.user)
    is_admin = user_is_society_admin(request.user)
    is_reporter = bool(membership and membership.role == Role.REPORTER)
    is_overseer = is_admin or bool(membership and membership.role == Role.LIAISON)
    context = {
        "edition": edition,
        "membership": membership,
        "is_admin": is_admin,
        "institution_count": institution_list_visible_to(user=request.user).count(),
    }
    if edition is not None:
        returns = return_list_visible_to(user=request.user, edition=edition)
        if is_reporter:
            # A reporter's dashboard is their return alone (no table of statuses, no report link).
            context["my_return"] = returns.filter(institution_id=membership.institution_id).first()
            context["entry_open"] = entry_is_open(edition=edition, institution_id=membership.institution_id)
        else:
            status_counts = dict(returns.order_by().values_list("status").annotate(n=Count("id")))
            context["status_counts"] = [(label, status_counts.get(code, 0), code) for code, label in ReturnStatus.choices]
            if is_overseer:
                context["awaiting_review"] = status_counts.get(ReturnStatus.SUBMITTED, 0)
                context["awaiting_approval"] = status_counts.get(ReturnStatus.REVIEWED, 0)
                context["sent_back"] = status_counts.get(ReturnStatus.SENT_BACK, 0)
                context["completeness"] = completeness_total(completeness_by_province(user=request.user, edition=edition))
    if is_reporter:
        my_return = context.get("my_return")
        # The return was read with its institution; without one, the membership's.
        context["institution"] = my_return.institution if my_return else membership.institution
    if is_overseer:
        # The report menu's edition: with an edition still collecting returns, the last finished one.
        context["report_edition"] = edition_for_report()
    return render(request, "reporting/home.html", context)
