"""Reviewing a return: the liaison of its province and society admins."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from institutions.selectors import user_is_society_admin
from reporting.converters import SMALL_NUMBER_MAX, number_parse
from reporting.forms.entry import ReopenForm, SendBackForm
from reporting.models import ReturnStatus
from reporting.rules.engine import ERROR, WARNING, language_is_chinese, questionnaire_compiled
from reporting.selectors_entry import return_review_comments
from reporting.services import returns as services
from reporting.views.display import codes_toggle, stored_value_label, typed_value_label
from reporting.views.entry import visible_return_or_404

ITEM_COMMENT_PREFIX = "item_comment__"


@login_required
def return_review(request, pk: int):
    survey_return = visible_return_or_404(request, pk)
    if not services.user_can_review(user=request.user, survey_return=survey_return):
        raise Http404
    send_back_form = SendBackForm(prefix="send_back")
    reopen_form = ReopenForm(prefix="reopen")
    if request.method == "POST":
        action = request.POST.get("action")
        expected = number_parse(request.POST.get("version"), maximum=SMALL_NUMBER_MAX)
        try:
            if action == "review":
                services.return_review(survey_return=survey_return, actor=request.user,
                                       comment=request.POST.get("comment", "").strip(), expected_version=expected)
                messages.success(request, _("Marked as reviewed; it now waits for the society's approval."))
                return redirect("entry:review", pk=pk)
            if action == "approve":
                services.return_approve(survey_return=survey_return, actor=request.user,
                                        comment=request.POST.get("comment", "").strip(), expected_version=expected)
                messages.success(request, _("Approved: the return now counts in the national figures."))
                return redirect("entry:review", pk=pk)
            if action == "send_back":
                send_back_form = SendBackForm(request.POST, prefix="send_back")
                if send_back_form.is_valid():
                    item_comments = {
                        key.removeprefix(ITEM_COMMENT_PREFIX): value
                        for key, value in request.POST.items()
                        if key.startswith(ITEM_COMMENT_PREFIX) and value.strip()
                    }
                    services.return_send_back(
                        survey_return=survey_return, actor=request.user,
                        comment=send_back_form.cleaned_data["comment"], item_comments=item_comments,
                        expected_version=expected,
                    )
                    messages.success(request, _("Sent back to the reporter with your comments."))
                    return redirect("entry:review", pk=pk)
            elif action == "reopen":
                reopen_form = ReopenForm(request.POST, prefix="reopen")
                if reopen_form.is_valid():
                    services.return_reopen(survey_return=survey_return, actor=request.user,
                                           comment=reopen_form.cleaned_data["comment"], expected_version=expected)
                    messages.success(request, _("Reopened: the reporter can correct the return."))
                    return redirect("entry:review", pk=pk)
            else:
                messages.error(request, _("Unknown action."))
        except services.ReturnConflict:
            messages.error(request, _("Someone changed this return meanwhile; look at it again before deciding."))
            return redirect("entry:review", pk=pk)
        except (services.ReturnActionRefused, ValueError) as refused:
            messages.error(request, str(refused))
            survey_return.refresh_from_db()

    questionnaire = questionnaire_compiled(survey_return.edition)
    values = services.return_values(survey_return)
    previous_values = services.return_previous_values(survey_return)
    findings = services.return_check(survey_return, for_submission=True, values=values)
    sent_back_version, changes = services.return_changes_since_sent_back(survey_return)
    changed_codes = {event.item_code for event in changes}
    confirmations = {c.rule_code: c for c in survey_return.warning_confirmations.select_related("confirmed_by")}
    findings_by_field: dict[str, list] = {}
    for finding in findings:
        for code in finding.fields:
            findings_by_field.setdefault(code, []).append(finding)
    from analysis.selectors import return_outlier_flags

    outlier_flags, outliers_by_field = return_outlier_flags(survey_return, zh=language_is_chinese())
    sections = []
    for section in questionnaire.sections:
        rows = []
        for code in section.item_codes:
            item = questionnaire.items[code]
            rows.append({
                "code": code,
                "label": item.label(),
                "unit": item.unit(),
                "value": typed_value_label(item, values.get(code)),
                "previous": typed_value_label(item, previous_values.get(code)) if previous_values is not None else None,
                # A refused send-back (no general comment) keeps what was typed per item.
                "comment": request.POST.get(ITEM_COMMENT_PREFIX + code, "") if request.method == "POST" else "",
                "changed": code in changed_codes,
                "applies": questionnaire.applies(code, values),
                "findings": findings_by_field.get(code, []),
                "outliers": outliers_by_field.get(code, []),
            })
        sections.append({"section": section, "rows": rows})
    can_review = services.user_can_review(user=request.user, survey_return=survey_return)
    show_codes, codes_url = codes_toggle(request)
    # The general comment sits in the side column, outside the form of the item comments.
    send_back_form.fields["comment"].widget.attrs["form"] = "review-form"
    is_admin = user_is_society_admin(request.user)
    status = survey_return.status
    return render(request, "reporting/entry/return_review.html", {
        "survey_return": survey_return,
        "edition": survey_return.edition,
        "tab": "review",
        "can_review": can_review,
        "sections": sections,
        "errors": [f for f in findings if f.severity == ERROR],
        "warnings": [{"finding": f, "confirmation": confirmations.get(f.rule_code)} for f in findings if f.severity == WARNING],
        "changes": [
            {
                "event": e,
                "label": questionnaire.items[e.item_code].label() if e.item_code in questionnaire.items else e.item_code,
                "old": stored_value_label(questionnaire.items.get(e.item_code), e.old_value),
                "new": stored_value_label(questionnaire.items.get(e.item_code), e.new_value),
            }
            for e in changes
        ],
        "sent_back_version": sent_back_version,
        "has_previous": previous_values is not None,
        "comments": [
            {"comment": c, "label": questionnaire.items[c.item.code].label()
             if c.item and c.item.code in questionnaire.items else (c.item.code if c.item else "")}
            for c in return_review_comments(survey_return)
        ],
        "show_codes": show_codes,
        "codes_url": codes_url,
        "can_mark_reviewed": status == ReturnStatus.SUBMITTED,
        "can_send_back": status == ReturnStatus.SUBMITTED or (status == ReturnStatus.REVIEWED and is_admin),
        "can_approve": is_admin and status == ReturnStatus.REVIEWED,
        "can_reopen": is_admin and status == ReturnStatus.APPROVED,
        "send_back_form": send_back_form,
        "reopen_form": reopen_form,
        "item_comment_prefix": ITEM_COMMENT_PREFIX,
        "outlier_flags": outlier_flags,
    })
