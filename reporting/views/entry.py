"""The data-entry page of a return (reporters), and the list of returns a person can open."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from institutions.models import Province, Role
from institutions.selectors import user_is_society_admin, user_membership
from reporting.forms.entry import EXPLANATION_PREFIX, ReturnForm
from reporting.forms.return_list import ReturnListFilterForm
from reporting.models import ReturnStatus
from reporting.rules.engine import ERROR, WARNING, questionnaire_compiled
from reporting.selectors import edition_current, return_list_visible_to
from reporting.selectors_entry import ReturnListFilters, review_queue
from reporting.services import returns as services
from reporting.services.returns import (
    ReturnActionRefused,
    ReturnConflict,
    ReturnNotSubmittable,
    return_values_save,
)


def visible_return_or_404(request, pk: int):
    """The return if the user may see it; 404 otherwise (never reveal another's return)."""
    return get_object_or_404(return_list_visible_to(user=request.user).select_related("edition__previous"), pk=pk)


@login_required
def return_list(request):
    """The returns of the current edition the user may see: search, filters, pages of 50."""
    edition = edition_current()
    if edition is None:
        raise Http404
    membership = user_membership(request.user)
    is_reporter = bool(membership and membership.role == Role.REPORTER)
    provinces = [] if is_reporter else [
        (code, name_en if get_language() == "en" else name_zh)
        for code, name_zh, name_en in Province.objects.values_list("code", "name_zh", "name_en")
    ]
    form = ReturnListFilterForm(request.GET, provinces=provinces)
    # A reporter's list is their own return: nothing to filter.
    filters = ReturnListFilters() if is_reporter else form.filters()
    returns = review_queue(user=request.user, edition=edition, filters=filters)
    page = Paginator(returns, 50).get_page(request.GET.get("page"))
    active_filters = []
    for name, label, value in form.active():
        remaining = request.GET.copy()
        for key in (name, "page"):
            remaining.pop(key, None)
        active_filters.append({"label": label, "value": value, "remove_query": remaining.urlencode()})
    return render(request, "reporting/entry/return_list.html", {
        "edition": edition,
        "page": page,
        "form": form,
        "filters": filters,
        "active_filters": active_filters,
        "is_reporter": is_reporter,
        "is_admin": user_is_society_admin(request.user),
        # A reporter's (unfiltered) list is their institution's return, or nothing yet.
        "can_start": is_reporter and page.paginator.count == 0
        and services.entry_is_open(edition=edition, institution_id=membership.institution_id),
    })


@login_required
@require_POST
def return_start(request):
    """A reporter starts their institution's return for the current edition."""
    membership = user_membership(request.user)
    edition = edition_current()
    if edition is None or membership is None or membership.role != Role.REPORTER:
        raise PermissionDenied
    existing = return_list_visible_to(user=request.user, edition=edition).filter(institution_id=membership.institution_id).first()
    if existing is None and not services.entry_is_open(edition=edition, institution_id=membership.institution_id):
        messages.error(request, _("Data entry is not open."))
        return redirect("home")
    survey_return = existing or services.return_start(edition=edition, institution=membership.institution, actor=request.user)
    return redirect("entry:return", pk=survey_return.pk)


def _item_comments(survey_return) -> tuple[list, dict[str, list[str]]]:
    """Reviewers' comments of the last send-back: (return-level comments, {item code: [bodies]})."""
    comments = list(survey_return.review_comments.select_related("item", "author").order_by("-return_version", "id"))
    if not comments:
        return [], {}
    latest_version = comments[0].return_version
    latest = [c for c in comments if c.return_version == latest_version]
    by_item: dict[str, list[str]] = {}
    for comment in latest:
        if comment.item_id:
            by_item.setdefault(comment.item.code, []).append(comment.body)
    return [c for c in comments if not c.item_id], by_item


def _render_entry(request, survey_return, *, form, findings, status=200, conflict=None, submit_attempted=False):
    can_edit = services.return_can_edit(user=request.user, survey_return=survey_return)
    return_comments, item_comments = _item_comments(survey_return)
    show_comments = survey_return.status in (ReturnStatus.SENT_BACK, ReturnStatus.DRAFT)
    form.attach_findings(findings, item_comments if show_comments else None)
    confirmations = {c.rule_code: c for c in survey_return.warning_confirmations.all()}
    posted = form.explanations() if form.is_bound else {}
    warnings = [
        {
            "finding": f,
            "field_name": EXPLANATION_PREFIX + f.rule_code,
            "explanation": posted.get(f.rule_code, confirmations[f.rule_code].explanation if f.rule_code in confirmations else ""),
        }
        for f in findings if f.severity == WARNING
    ]
    errors = [f for f in findings if f.severity == ERROR]
    questionnaire = form.questionnaire
    return render(request, "reporting/entry/return_form.html", {
        "survey_return": survey_return,
        "edition": survey_return.edition,
        "form": form,
        "sections": questionnaire.sections,
        "errors": errors,
        "parse_errors": [(form[code].label, form.errors[code][0], code) for code in form.errors if code in questionnaire.items],
        "warnings": warnings,
        "can_edit": can_edit,
        "entry_open": services.entry_is_open(edition=survey_return.edition, institution_id=survey_return.institution_id),
        "can_review": services.user_can_review(user=request.user, survey_return=survey_return),
        "return_comments": return_comments if show_comments else [],
        "conflict": conflict,
        "submit_attempted": submit_attempted,
        "conflict_changes": [
            {**vars(change), "label": questionnaire.items[change.item_code].label() if change.item_code in questionnaire.items else change.item_code}
            for change in (conflict.changes if conflict else [])
        ],
    }, status=status)


@login_required
def return_detail(request, pk: int):
    """GET: the form with the stored values; POST: save a draft or submit."""
    survey_return = visible_return_or_404(request, pk)
    questionnaire = questionnaire_compiled(survey_return.edition)
    if request.method != "POST":
        values = services.return_values(survey_return)
        can_edit = services.return_can_edit(user=request.user, survey_return=survey_return)
        form = ReturnForm(
            questionnaire=questionnaire, values=values, read_only=not can_edit,
            initial={"version": survey_return.version},
        )
        findings = services.return_check(survey_return, for_submission=False, values=values)
        return _render_entry(request, survey_return, form=form, findings=findings)

    if not services.return_can_edit(user=request.user, survey_return=survey_return):
        raise PermissionDenied(_("This return cannot be edited now."))
    data = request.POST.copy()
    form = ReturnForm(data, questionnaire=questionnaire)
    if not form.is_valid():
        # Nothing is saved; the page shows exactly what was typed, with the problems.
        findings = []
        if hasattr(form, "typed_values"):
            findings = services.return_check(
                survey_return, for_submission=False,
                values={c: v for c, v in form.typed_values.items() if v is not None},
            )
        messages.error(request, _("Nothing was saved: correct the marked fields."))
        return _render_entry(request, survey_return, form=form, findings=findings, status=400)

    typed = form.typed_values
    try:
        return_values_save(
            survey_return=survey_return, values=typed, actor=request.user,
            expected_version=form.cleaned_data["version"],
        )
    except ReturnConflict as conflict:
        survey_return.refresh_from_db()
        # Keep the typing, but let a second save knowingly replace the other person's values.
        data["version"] = str(conflict.current_version)
        form = ReturnForm(data, questionnaire=questionnaire)
        form.is_valid()
        findings = services.return_check(survey_return, for_submission=False,
                                         values={c: v for c, v in typed.items() if v is not None})
        return _render_entry(request, survey_return, form=form, findings=findings, status=409, conflict=conflict)

    explanations = form.explanations()
    if explanations:
        services.warning_confirmations_save(survey_return=survey_return, explanations=explanations, actor=request.user)

    if request.POST.get("action") == "submit":
        try:
            services.return_submit(survey_return=survey_return, actor=request.user)
        except ReturnNotSubmittable as refused:
            data["version"] = str(survey_return.version)
            form = ReturnForm(data, questionnaire=questionnaire)
            form.is_valid()
            findings = services.return_check(survey_return, for_submission=True)
            unexplained = {f.rule_code for f in refused.findings if f.severity == WARNING}
            if unexplained:
                messages.warning(request, _("Explain each warning before submitting."))
            messages.error(request, _("Your changes were saved, but the return was not submitted: see the problems below."))
            return _render_entry(request, survey_return, form=form, findings=findings, status=400, submit_attempted=True)
        except ReturnActionRefused as refused:
            messages.error(request, str(refused))
            return redirect("entry:return", pk=survey_return.pk)
        messages.success(request, _("The return was submitted for review."))
        return redirect("entry:return", pk=survey_return.pk)

    messages.success(request, _("Draft saved."))
    return redirect("entry:return", pk=survey_return.pk)

