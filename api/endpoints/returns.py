"""Institutions, returns and answers (scoped like the web pages); pushes of values; the workflow."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Status

from api import selectors
from api.auth import write_auth
from api.endpoints.editions import ERRORS, Year, edition_or_404
from api.errors import ApiError
from api.http import (
    CleanStr,
    aware,
    conditional,
    cursor_datetime,
    cursor_decode,
    cursor_encode,
    json_response,
    next_link,
    validators_set,
)
from api.schemas import (
    ErrorOut,
    InstitutionList,
    PushIn,
    PushOut,
    RefusedOut,
    ReturnList,
    ReturnOut,
    ReturnStatusName,
    ReviewIn,
    SendBackIn,
    SubmitIn,
)
from api.services.push import PushEntry, PushRefused, returns_push
from institutions.models import Role
from institutions.selectors import user_is_society_admin, user_membership
from reporting.models import AuditSource
from reporting.selectors import return_list_visible_to
from reporting.services import returns as services

router = Router(tags=["returns"])

WRITE_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: RefusedOut, 413: ErrorOut, 422: RefusedOut,
                429: ErrorOut}
ReturnId = Path(..., ge=1, le=2**53, description="The return's id")
Limit = Query(settings.API_PAGE_SIZE_DEFAULT, ge=1, le=settings.API_PAGE_SIZE_MAX,
              description=f"Rows per page (at most {settings.API_PAGE_SIZE_MAX})")
Cursor = Query(None, max_length=200, description="From the previous page's `next` link")


# --- institutions --------------------------------------------------------------------------------


@router.get("/institutions", response={200: InstitutionList, **ERRORS}, tags=["institutions"],
            summary="Institutions you may see (a reporter: theirs; a liaison: the province; an admin: all), by code")
def institution_list(request, province: CleanStr | None = Query(None, max_length=2), limit: int = Limit,
                     cursor: CleanStr | None = Cursor):
    after = cursor_decode(cursor, shape=(str,))[0] if cursor else None
    rows = selectors.institution_page(user=request.user, after_code=after, limit=limit, province=province)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{**{k: v for k, v in row.items() if k != "province_id"}, "province": row["province_id"]} for row in rows]
    return {"items": items, "next": next_link(request, cursor_encode([rows[-1]["code"]]) if more else None)}


# --- returns ----------------------------------------------------------------------------------


def _return_out(row: dict, answers: dict | None) -> dict:
    return {
        "id": row["id"], "edition": row["edition__year"], "institution": row["institution__code"],
        "institution_name": row["institution__name"], "province": row["institution__province_id"],
        "status": row["status"], "version": row["version"], "created_at": row["created_at"],
        "updated_at": row["updated_at"], "submitted_at": row["submitted_at"], "reviewed_at": row["reviewed_at"],
        "approved_at": row["approved_at"], "answers": answers,
    }


@router.get(
    "/returns", response={200: ReturnList, 304: None, **ERRORS},
    summary="Returns and their answers, oldest change first",
    description=(
        "Scoped like the web pages: a reporter sees their institution's returns, a liaison their "
        "province's, an admin all. Ordered by (updated_at, id); follow `next` until it is null. For an "
        "incremental pull pass `changed_since` = the `updated_at` of the last return you stored (the "
        "bound is inclusive, so that return comes again: nothing is missed)."
    ),
)
def return_list(
    request,
    edition: int | None = Query(None, ge=1900, le=2999, description="Survey year"),
    status: list[ReturnStatusName] = Query([]),
    province: CleanStr | None = Query(None, max_length=2, description="Province code, e.g. 11"),
    institution: CleanStr | None = Query(None, max_length=32, description="Institution code"),
    changed_since: dt.datetime | None = Query(None, description="Only returns changed at or after this time"),
    answers: bool = Query(True, description="Include each return's answers"),
    limit: int = Limit,
    cursor: CleanStr | None = Cursor,
):
    edition_obj = edition_or_404(edition) if edition is not None else None
    after = None
    if cursor:
        updated_at, pk = cursor_decode(cursor, shape=(str, int))
        after = (cursor_datetime(updated_at), pk)
    returns = selectors.returns_filtered(
        user=request.user, edition=edition_obj, statuses=status, province=province, institution=institution,
        changed_since=aware(changed_since, field="changed_since") if changed_since else None,
    )
    rows = selectors.return_page(returns, after=after, limit=limit)
    more = len(rows) > limit
    rows = rows[:limit]
    following = cursor_encode([rows[-1]["updated_at"].isoformat(), rows[-1]["id"]]) if more else None
    tag = selectors.digest("returns", answers, more, [(r["id"], r["version"], r["updated_at"]) for r in rows])
    last_modified = max((r["updated_at"] for r in rows), default=None)
    not_modified = conditional(request, tag=tag, last_modified=last_modified)
    if not_modified is not None:
        validators_set(not_modified, tag=tag, last_modified=last_modified)
        return not_modified
    values = selectors.answers_of([r["id"] for r in rows]) if answers else {}
    response = json_response(ReturnList, {
        "items": [_return_out(row, values.get(row["id"], {}) if answers else None) for row in rows],
        "next": next_link(request, following),
    })
    validators_set(response, tag=tag, last_modified=last_modified)
    if following:
        response["Link"] = f'<{next_link(request, following)}>; rel="next"'
    return response


def _visible_return(request, return_id: int):
    return get_object_or_404(return_list_visible_to(user=request.user), pk=return_id)


@router.get("/returns/{return_id}", response={200: ReturnOut, 304: None, **ERRORS},
            summary="One return with its answers (404 for a return you may not see)")
def return_detail(request, response: HttpResponse, return_id: int = ReturnId):
    survey_return = _visible_return(request, return_id)
    tag = selectors.digest("return", survey_return.pk, survey_return.version, survey_return.updated_at,
                           survey_return.institution.updated_at)
    not_modified = conditional(request, tag=tag, last_modified=survey_return.updated_at)
    if not_modified is not None:
        validators_set(not_modified, tag=tag, last_modified=survey_return.updated_at)
        return not_modified
    row = {
        "id": survey_return.pk, "edition__year": survey_return.edition.year,
        "institution__code": survey_return.institution.code, "institution__name": survey_return.institution.name,
        "institution__province_id": survey_return.institution.province_id,
        **{name: getattr(survey_return, name) for name in (
            "status", "version", "created_at", "updated_at", "submitted_at", "reviewed_at", "approved_at")},
    }
    validators_set(response, tag=tag, last_modified=survey_return.updated_at)
    return _return_out(row, selectors.answers_of([survey_return.pk])[survey_return.pk])


# --- writes -----------------------------------------------------------------------------------


def _conflict_out(*, institution: str, return_id: int, conflict) -> dict:
    return {
        "institution": institution, "return_id": return_id, "expected_version": conflict.expected_version,
        "current_version": conflict.current_version,
        "changes": [
            {"kind": c.kind, "item": c.item_code, "old": c.old_value, "new": c.new_value, "actor": c.actor, "at": c.at}
            for c in conflict.changes
        ],
    }


def _problem_out(problem) -> dict:
    return {"institution": problem.institution, "item": problem.item, "rule": problem.rule,
            "message": problem.message, "severity": problem.severity}


@router.post(
    "/editions/{year}/values", auth=write_auth, response={200: PushOut, **WRITE_ERRORS}, tags=["writes"],
    summary="Send values for one or many returns (all or nothing; dry_run to check only)",
    description=(
        "Each return names its institution, the `version` read (omit it only to start a new return) "
        "and the items sent. Values are parsed as the spreadsheet import parses cells. An item not "
        "sent is left as it is; null clears it; items that stop applying (their applies_if item is "
        "not yes) are cleared. The whole push is checked first: 422 lists every problem (institution, "
        "item, rule) and writes nothing; 409 lists every return saved since the version sent, with "
        "what changed. With `dry_run` nothing is written and the answer says what would change."
    ),
)
def values_push(request, body: PushIn, year: int = Year):
    edition = edition_or_404(year)
    entries = [PushEntry(institution=r.institution, version=r.version, values=r.values) for r in body.returns]
    try:
        result = returns_push(edition=edition, entries=entries, actor=request.user, dry_run=body.dry_run)
    except PushRefused as refused:
        status = 409 if refused.conflicts else 422
        return Status(status, {
            "detail": _("Nothing was written: %(problems)s problems, %(conflicts)s returns changed since the version sent.")
            % {"problems": len(refused.problems), "conflicts": len(refused.conflicts)},
            "code": "stale_version" if refused.conflicts else "push_refused",
            "dry_run": body.dry_run,
            "problems": [_problem_out(p) for p in refused.problems],
            "conflicts": [
                _conflict_out(institution=c.institution, return_id=c.return_id, conflict=c) for c in refused.conflicts
            ],
        })
    return {
        "dry_run": result.dry_run, "written": result.written,
        "returns": [
            {
                "institution": r.institution, "return_id": r.return_id, "created": r.created, "version": r.version,
                "new_version": r.new_version,
                "changes": [{"item": item, "old": old, "new": new} for item, old, new in r.changes],
                "not_applicable": r.not_applicable, "warnings": [_problem_out(w) for w in r.warnings],
            }
            for r in result.returns
        ],
    }


def _transition(request, *, return_id: int, version: int, allowed, action, **kwargs):
    """Run a workflow service on a visible return: 403 when the role may not, 409 when the
    version is stale or the status does not allow it, 422 when submission is blocked."""
    survey_return = get_object_or_404(
        return_list_visible_to(user=request.user).select_related("edition__previous"), pk=return_id
    )
    if not allowed(request.user, survey_return):
        raise ApiError(403, "not_permitted", _("Your role may not do this with this return."))
    if version != survey_return.version:
        conflict = services.return_conflict(survey_return, version)
        return Status(409, {
            "detail": _("The return was saved since version %(version)s; nothing was done.") % {"version": version},
            "code": "stale_version", "problems": [],
            "conflicts": [_conflict_out(institution=survey_return.institution.code, return_id=survey_return.pk,
                                        conflict=conflict)],
        })
    try:
        action(survey_return=survey_return, actor=request.user, expected_version=version, source=AuditSource.API,
               **kwargs)
    except services.ReturnConflict as conflict:
        return Status(409, {
            "detail": _("The return was saved since version %(version)s; nothing was done.") % {"version": version},
            "code": "stale_version", "problems": [],
            "conflicts": [_conflict_out(institution=survey_return.institution.code, return_id=survey_return.pk,
                                        conflict=conflict)],
        })
    except services.ReturnNotSubmittable as refused:
        return Status(422, {
            "detail": _("The return cannot be submitted yet: fix every error and explain every warning."),
            "code": "not_submittable",
            "problems": [
                {"institution": survey_return.institution.code, "item": f.fields[0] if f.fields else None,
                 "rule": f.rule_code, "message": f.message, "severity": f.severity}
                for f in refused.findings
            ],
        })
    except services.ReturnActionRefused as refused:
        return Status(409, {"detail": str(refused), "code": "not_allowed_now", "problems": []})
    except ValueError as invalid:
        return Status(422, {"detail": str(invalid), "code": "invalid_request", "problems": []})
    row = {
        "id": survey_return.pk, "edition__year": survey_return.edition.year,
        "institution__code": survey_return.institution.code, "institution__name": survey_return.institution.name,
        "institution__province_id": survey_return.institution.province_id,
        **{name: getattr(survey_return, name) for name in (
            "status", "version", "created_at", "updated_at", "submitted_at", "reviewed_at", "approved_at")},
    }
    return Status(200, _return_out(row, None))


def _may_submit(user, survey_return) -> bool:
    """The institution's reporter or a society admin (the status and dates are the service's to check)."""
    if user_is_society_admin(user):
        return True
    membership = user_membership(user)
    return bool(membership and membership.role == Role.REPORTER and membership.institution_id == survey_return.institution_id)


def _may_review(user, survey_return) -> bool:
    return services.user_can_review(user=user, survey_return=survey_return)


def _may_approve(user, survey_return) -> bool:
    return user_is_society_admin(user)


TRANSITION_RESPONSES = {200: ReturnOut, **WRITE_ERRORS}


@router.post("/returns/{return_id}/submit", auth=write_auth, response=TRANSITION_RESPONSES, tags=["workflow"],
             summary="Submit for review (the institution's reporter or an admin)")
def return_submit(request, body: SubmitIn, return_id: int = ReturnId):
    return _transition(request, return_id=return_id, version=body.version, allowed=_may_submit,
                       action=services.return_submit, explanations=body.explanations)


@router.post("/returns/{return_id}/review", auth=write_auth, response=TRANSITION_RESPONSES, tags=["workflow"],
             summary="Mark a submitted return reviewed (the province's liaison or an admin)")
def return_review(request, body: ReviewIn, return_id: int = ReturnId):
    return _transition(request, return_id=return_id, version=body.version, allowed=_may_review,
                       action=services.return_review, comment=body.comment)


@router.post("/returns/{return_id}/send-back", auth=write_auth, response=TRANSITION_RESPONSES, tags=["workflow"],
             summary="Send a return back to the reporter with comments (the province's liaison or an admin)")
def return_send_back(request, body: SendBackIn, return_id: int = ReturnId):
    return _transition(request, return_id=return_id, version=body.version, allowed=_may_review,
                       action=services.return_send_back, comment=body.comment, item_comments=body.item_comments)


@router.post("/returns/{return_id}/approve", auth=write_auth, response=TRANSITION_RESPONSES, tags=["workflow"],
             summary="Approve a reviewed return (a society admin); it enters the national figures")
def return_approve(request, body: ReviewIn, return_id: int = ReturnId):
    return _transition(request, return_id=return_id, version=body.version, allowed=_may_approve,
                       action=services.return_approve, comment=body.comment)
