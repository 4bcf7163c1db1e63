"""The data-entry page of a return (reporters), and the list of returns a person can open."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError, connection
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from institutions.models import Province, Role
from institutions.selectors import user_is_society_admin, user_membership
from reporting.forms.entry import EXPLANATION_PREFIX, ReturnForm, findings_in_reading_order
from reporting.forms.return_list import ReturnListFilterForm
from reporting.models import ReturnStatus, ReviewComment, WarningConfirmation
from reporting.rules.engine import (
    ERROR,
    WARNING,
    language_is_chinese,
    questionnaire_compiled,
    return_values_check,
)
from reporting.selectors import edition_current, return_list_visible_to
from reporting.selectors_entry import ReturnListFilters, review_queue
from reporting.services import returns as services
from reporting.services.answers import answers_resolve
from reporting.services.returns import ReturnConflict

logger = logging.getLogger(__name__)


def visible_return_or_404(request, pk: int, *, returns=None):
    """The return if the user may see it; 404 otherwise (never reveal another's return)."""
    returns = return_list_visible_to(user=request.user) if returns is None else returns
    return get_object_or_404(returns.select_related("edition__previous", "institution"), pk=pk)


def _return_for_entry_page_or_404(request, pk: int):
    """The visible return, with whether it has anything the entry page shows beside the
    answers (reviewers' comments, warning explanations, follow-up questions): a draft mostly
    has none, and the page then spares a query for each."""
    from analysis.selectors import outlier_questions_exist

    return visible_return_or_404(request, pk, returns=return_list_visible_to(user=request.user).annotate(
        has_review_comments=Exists(ReviewComment.objects.filter(survey_return=OuterRef("pk"))),
        has_warning_confirmations=Exists(WarningConfirmation.objects.filter(survey_return=OuterRef("pk"))),
        has_outlier_questions=outlier_questions_exist(),
    ))


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
    if not getattr(survey_return, "has_review_comments", True):
        return [], {}
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


def _render_entry(request, survey_return, *, form, findings, status=200, conflict=None, submit_attempted=False,
                  database_unreachable=False):
    """The data-entry page. `database_unreachable`: render without reading the database
    (the save failed because it could not be reached; the page must still keep the typing)."""
    questionnaire = form.questionnaire
    if database_unreachable:
        # The view checked before saving that the person may edit; nothing else is read.
        can_edit, entry_open, can_review = True, True, False
        return_comments, item_comments, confirmations = [], {}, {}
    else:
        can_edit = services.return_can_edit(user=request.user, survey_return=survey_return)
        entry_open = services.entry_is_open(edition=survey_return.edition, institution_id=survey_return.institution_id)
        can_review = services.user_can_review(user=request.user, survey_return=survey_return)
        return_comments, item_comments = _item_comments(survey_return)
        confirmations = {}
        if getattr(survey_return, "has_warning_confirmations", True):
            confirmations = {c.rule_code: c.explanation for c in survey_return.warning_confirmations.all()}
    show_comments = survey_return.status in (ReturnStatus.SENT_BACK, ReturnStatus.DRAFT)
    findings = findings_in_reading_order(findings)
    shown_comments = dict(item_comments) if show_comments else {}
    if not database_unreachable and getattr(survey_return, "has_outlier_questions", True):
        # A reviewer's "follow up" question on an unusual value, next to its field, whatever the status.
        from analysis.selectors import outlier_questions

        for code, questions in outlier_questions(survey_return, zh=language_is_chinese()).items():
            shown_comments[code] = [*shown_comments.get(code, []), *questions]
    form.attach_findings(findings, shown_comments or None)
    posted = form.explanations() if form.is_bound else {}
    warnings = [
        {
            "finding": f,
            "field_name": EXPLANATION_PREFIX + f.rule_code,
            "explanation": posted.get(f.rule_code, confirmations.get(f.rule_code, "")),
        }
        for f in findings if f.severity == WARNING
    ]
    # Explanations typed for warnings not listed now go back with the next save, unseen but kept.
    shown = {w["finding"].rule_code for w in warnings}
    carried = [(EXPLANATION_PREFIX + code, text) for code, text in posted.items() if code not in shown]
    errors = [f for f in findings if f.severity == ERROR]
    own_save = bool(conflict and conflict.saved_only_by(request.user))
    return render(request, "reporting/entry/return_form.html", {
        "survey_return": survey_return,
        "edition": survey_return.edition,
        "form": form,
        "sections": questionnaire.sections,
        "errors": errors,
        "parse_errors": [(form[code].label, form.errors[code][0], code) for code in form.errors if code in questionnaire.items],
        "warnings": warnings,
        "carried_explanations": carried,
        "can_edit": can_edit,
        "entry_open": entry_open,
        "can_review": can_review,
        "return_comments": return_comments if show_comments else [],
        "conflict": conflict,
        "conflict_own": own_save,
        "submit_attempted": submit_attempted,
        "database_unreachable": database_unreachable,
        "conflict_changes": [
            {**vars(change), "label": questionnaire.items[change.item_code].label() if change.item_code in questionnaire.items else change.item_code}
            for change in (conflict.changes if conflict else [])
        ],
    }, status=status)


def _bound_form(data, *, questionnaire, survey_return, values=None):
    """The form with what was posted; items not posted show the stored answers."""
    form = ReturnForm(data, questionnaire=questionnaire,
                      values=services.return_values(survey_return) if values is None else values)
    form.is_valid()
    return form


@login_required
def return_detail(request, pk: int):
    """GET: the form with the stored values; POST: save a draft or submit."""
    read = _return_for_entry_page_or_404 if request.method != "POST" else visible_return_or_404
    survey_return = read(request, pk)
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
    stored = services.return_values(survey_return)
    form = ReturnForm(data, questionnaire=questionnaire, values=stored)
    if not form.is_valid():
        # Nothing is saved; the page shows exactly what was typed, with the problems. Rules
        # that read an unreadable item are not evaluated (they would count it as empty).
        findings = []
        if hasattr(form, "sent_values"):
            after = answers_resolve(questionnaire=questionnaire, stored=stored, sent=form.sent_values)
            findings = services.return_check(survey_return, for_submission=False, values=after.values,
                                             unreadable=form.unreadable)
        messages.error(request, _("Nothing was saved: correct the marked fields."))
        return _render_entry(request, survey_return, form=form, findings=findings, status=400)

    sent = form.sent_values
    try:
        saved = services.return_entry_save(
            survey_return=survey_return, values=sent, explanations=form.explanations(), actor=request.user,
            expected_version=form.cleaned_data["version"], submit=request.POST.get("action") == "submit",
        )
    except ReturnConflict as conflict:
        survey_return.refresh_from_db()
        # Keep the typing, but let a second save knowingly replace the values saved in between.
        data["version"] = str(conflict.current_version)
        stored = services.return_values(survey_return)
        form = _bound_form(data, questionnaire=questionnaire, survey_return=survey_return, values=stored)
        after = answers_resolve(questionnaire=questionnaire, stored=stored, sent=sent)
        findings = services.return_check(survey_return, for_submission=False, values=after.values)
        return _render_entry(request, survey_return, form=form, findings=findings, status=409, conflict=conflict)
    except (OperationalError, InterfaceError):
        # The connection was lost mid-save: the transaction rolled back whole. Drop the broken
        # connection (a later request reconnects) and show the typing without reading anything.
        logger.warning("saving return %s: the database could not be reached", survey_return.pk, exc_info=True)
        connection.close()
        # The rules without the previous edition's comparison need no query.
        findings = return_values_check(
            edition=survey_return.edition, for_submission=False,
            values=answers_resolve(questionnaire=questionnaire, stored=stored, sent=sent).values,
        )
        return _render_entry(request, survey_return, form=form, findings=findings, status=503, database_unreachable=True)

    if saved.refused:
        messages.error(request, saved.refused)
        _tell_discarded(request, questionnaire, saved)
        return redirect("entry:return", pk=survey_return.pk)
    if saved.not_submittable is not None:
        data["version"] = str(survey_return.version)
        form = _bound_form(data, questionnaire=questionnaire, survey_return=survey_return)
        findings = services.return_check(survey_return, for_submission=True)
        # What blocks comes first; then what the warnings need.
        messages.error(request, _("Your changes were saved, but the return was not submitted: see the problems below."))
        if any(f.severity == WARNING for f in saved.not_submittable):
            messages.warning(request, _("Explain each warning before submitting."))
        _tell_discarded(request, questionnaire, saved)
        return _render_entry(request, survey_return, form=form, findings=findings, status=400, submit_attempted=True)
    if saved.submitted:
        messages.success(request, _("The return was submitted for review."))
    else:
        messages.success(request, _("Draft saved."))
    _tell_discarded(request, questionnaire, saved)
    return redirect("entry:return", pk=survey_return.pk)


def _tell_discarded(request, questionnaire, saved) -> None:
    """Say which typed answers were not kept because their question does not apply."""
    if saved.changes.discarded:
        messages.warning(request, _(
            "Not kept, because the question they depend on is not answered yes: %(items)s."
        ) % {"items": _item_list(questionnaire, saved.changes.discarded)})


def _item_list(questionnaire, codes) -> str:
    """Item labels for a message, separated as the language does."""
    separator = "、" if language_is_chinese() else ", "
    return separator.join(f"“{questionnaire.items[code].label()}”" for code in codes)
