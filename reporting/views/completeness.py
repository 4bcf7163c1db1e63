"""Completeness of the current edition (liaisons: their province; admins: all) and reminders."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from institutions.selectors import user_is_reviewer
from reporting.converters import ids_parse
from reporting.models import ReturnStatus
from reporting.selectors import edition_current
from reporting.selectors_entry import (
    COMPLETENESS_STATUSES,
    NOT_STARTED,
    completeness_by_province,
    completeness_total,
    institution_status_list,
)
from reporting.services.reminders import reminders_schedule


def _status_labels():
    labels = dict(ReturnStatus.choices)
    labels[NOT_STARTED] = _("Not started")
    return [(status, labels[status]) for status in COMPLETENESS_STATUSES]


def _require_overseer(request):
    """Liaisons and admins see completeness; reporters get 404 like any page not theirs."""
    if not user_is_reviewer(request.user):
        raise Http404


@login_required
def completeness(request):
    _require_overseer(request)
    edition = edition_current()
    if edition is None:
        raise Http404
    provinces = completeness_by_province(user=request.user, edition=edition)
    province_code = request.GET.get("province") or None
    status = request.GET.get("status") or None
    if status not in (None, "not_submitted", *COMPLETENESS_STATUSES):
        status = None
    institutions = institution_status_list(
        user=request.user, edition=edition, province_code=province_code, status=status
    )
    page = Paginator(institutions, 100).get_page(request.GET.get("page"))
    labels = dict(_status_labels())
    return render(request, "reporting/entry/completeness.html", {
        "edition": edition,
        "provinces": provinces,
        "total": completeness_total(provinces),
        "status_labels": _status_labels(),
        "status_label": labels,
        "page": page,
        "rows": [{"institution": i, "status": i.return_status or NOT_STARTED,
                  "status_label": labels.get(i.return_status or NOT_STARTED, "")} for i in page],
        "province_code": province_code,
        "status": status,
        "query": request.GET.urlencode(),
    })


@login_required
@require_POST
def reminders_send(request):
    """Queue reminder e-mails for the chosen institutions (or every one not submitted in view)."""
    _require_overseer(request)
    edition = edition_current()
    if edition is None:
        raise Http404
    visible = institution_status_list(
        user=request.user, edition=edition,
        province_code=request.POST.get("province") or None, status="not_submitted",
    )
    posted = request.POST.getlist("institution")
    if posted:
        # Only the chosen ones; a value naming no institution chooses nothing.
        visible = visible.filter(pk__in=ids_parse(posted))
    ids = list(visible.values_list("pk", flat=True))
    if not ids and posted:
        messages.info(request, _("None of the chosen institutions can be reminded: they have submitted, or are not in your view."))
    elif not ids:
        messages.info(request, _("No institution to remind: all have submitted."))
    else:
        queued = reminders_schedule(edition=edition, institution_ids=ids, actor=request.user)
        if queued.taken is False:
            messages.error(request, _(
                "The reminders could not be sent: the background service is not answering. "
                "No institution was reminded; please try again in a few minutes."
            ))
        else:
            messages.success(request, _("Reminders are being sent to %(count)d institution(s).") % {"count": len(ids)})
    next_url = request.POST.get("next") or ""
    # A path on this site only; redirect() would take "foo" for a view name (NoReverseMatch).
    if next_url.startswith("/") and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(next_url)
    return redirect("entry:completeness")
