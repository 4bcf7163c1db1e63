"""The audit trail: a history page per return and the admins' CSV exports (streamed at once, or
prepared in the background by a worker and downloaded when ready)."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from institutions.selectors import user_is_society_admin
from jobs.selectors import job_list_owned_by
from jobs.views import export_job_page
from reporting.converters import year_parse
from reporting.models import AuditEvent, Edition
from reporting.rules.engine import questionnaire_compiled
from reporting.selectors_audit import audit_export_rows
from reporting.selectors_entry import return_audit_events
from reporting.services import returns as services
from reporting.services.audit_export_jobs import (
    AUDIT_EXPORT_KIND,
    audit_export_file_label,
    audit_export_job_start,
)
from reporting.views.display import (
    codes_toggle,
    status_label,
    stored_value_label,
    system_comment_label,
)
from reporting.views.entry import visible_return_or_404


@login_required
def return_history(request, pk: int):
    survey_return = visible_return_or_404(request, pk)
    items = questionnaire_compiled(survey_return.edition).items
    page = Paginator(return_audit_events(survey_return), 100).get_page(request.GET.get("page"))
    show_codes, codes_url = codes_toggle(request)
    rows = []
    for event in page:
        item = items.get(event.item_code) if event.kind == AuditEvent.Kind.VALUE else None
        old, new = event.old_value, event.new_value
        if event.kind == AuditEvent.Kind.STATUS:
            old, new = status_label(old), status_label(new)
        elif event.kind == AuditEvent.Kind.VALUE:
            old, new = stored_value_label(item, old), stored_value_label(item, new)
        rows.append({
            "event": event,
            # Value changes name their item; an extension's item_code is the institution's code.
            "code": event.item_code if event.kind == AuditEvent.Kind.VALUE else "",
            "label": item.label() if item is not None else event.item_code,
            "old": old,
            "new": new,
            "comment": system_comment_label(event.comment),
        })
    return render(request, "reporting/entry/return_history.html", {
        "survey_return": survey_return,
        "edition": survey_return.edition,
        "tab": "history",
        "page": page,
        "rows": rows,
        "show_codes": show_codes,
        "codes_url": codes_url,
        "can_review": services.user_can_review(user=request.user, survey_return=survey_return),
    })


def _admin_or_404(request) -> None:
    # Not a 403: the admins' pages are nobody else's business.
    if not user_is_society_admin(request.user):
        raise Http404


def _edition_chosen(year: str | None) -> Edition | None:
    """The edition named by `year`; None (every event) when none is named; 404 for a year
    that names none."""
    if not year:
        return None
    return get_object_or_404(Edition, year=year_parse(year) or 0)


class _Echo:
    def write(self, value):
        return value


@login_required
def audit_export(request):
    """Every audit event as CSV; society admins only.

    ?edition=YEAR keeps one edition's events (registry and account events belong to none).
    Events about something other than a return name it in the subject columns.
    """
    _admin_or_404(request)
    edition = _edition_chosen(request.GET.get("edition"))
    filename = audit_export_file_label(edition)
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"  # Excel opens UTF-8 Chinese text correctly only with a BOM
        for row in audit_export_rows(edition=edition):
            yield writer.writerow(row)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def audit_index(request):
    """Society admins: the audit trail of each edition (or every event), downloaded at once or
    prepared in the background, and the admin's own files of the last day."""
    _admin_or_404(request)
    return render(request, "reporting/entry/audit_exports.html", {
        "editions": Edition.objects.order_by("-year"),
        "export_jobs": job_list_owned_by(user=request.user, kind=AUDIT_EXPORT_KIND),
    })


@login_required
@require_POST
def audit_export_job(request):
    """Start an audit export as a background job (edition=YEAR, or empty for every event)."""
    _admin_or_404(request)
    edition = _edition_chosen(request.POST.get("edition"))
    job = audit_export_job_start(actor=request.user, edition=edition, language=get_language() or "zh-hans")
    return redirect("entry:audit_export_job_detail", job_id=job.pk)


@login_required
def audit_export_job_detail(request, job_id):
    return export_job_page(request, job_id, kind=AUDIT_EXPORT_KIND, template="reporting/entry/audit_export_job.html")
