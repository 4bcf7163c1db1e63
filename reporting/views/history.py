"""The audit trail: a history page per return and the admins' CSV export."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render

from institutions.selectors import user_is_society_admin
from reporting.converters import year_parse
from reporting.models import AuditEvent, Edition
from reporting.rules.engine import questionnaire_compiled
from reporting.selectors_audit import audit_export_rows
from reporting.selectors_entry import return_audit_events
from reporting.services import returns as services
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


class _Echo:
    def write(self, value):
        return value


@login_required
def audit_export(request):
    """Every audit event as CSV; society admins only.

    ?edition=YEAR keeps one edition's events (registry and account events belong to none).
    Events about something other than a return name it in the subject columns.
    """
    if not user_is_society_admin(request.user):
        raise Http404
    edition = None
    year = request.GET.get("edition")
    filename = "audit-trail.csv"
    if year:
        edition = get_object_or_404(Edition, year=year_parse(year) or 0)
        filename = f"audit-trail-{edition.year}.csv"
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"  # Excel opens UTF-8 Chinese text correctly only with a BOM
        for row in audit_export_rows(edition=edition):
            yield writer.writerow(row)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
