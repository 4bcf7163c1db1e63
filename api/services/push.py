"""A push of values for many returns at once: checked whole, written all or nothing.

What the spreadsheet import does for a file, for a JSON body: the same parsing
(``reporting.values.value_parse``), the same rule for what is written
(``reporting.services.answers.answers_resolve``: an item absent from the push is left as it
is, a null clears it, items that stop applying are cleared) and the same questionnaire
rules (``return_values_check``). Every problem of every return is collected (institution,
item, rule) before anything is written; with one problem nothing is. A dry run stops there
and says what would change. The write goes through ``return_values_save``, one return at a
time inside one transaction, with source ``api`` and the token's owner as the actor.

Each return's version is checked: a push names the version it read, and a return saved
since then is refused as a conflict (409) listing what changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from institutions.models import Role
from institutions.selectors import (
    institution_list_visible_to,
    user_is_society_admin,
    user_membership,
)
from reporting.models import AuditSource, Edition, Item, SurveyReturn
from reporting.rules.engine import ERROR, questionnaire_compiled, return_values_check
from reporting.services.answers import answers_resolve, condition_not_met
from reporting.services.imports import answers_of_returns, previous_values_by_institution
from reporting.services.returns import (
    OtherChange,
    ReturnConflict,
    entry_is_open,
    return_can_edit,
    return_conflict,
    return_start,
    return_values_save,
)
from reporting.values import Value, ValueInvalid, value_display, value_parse


@dataclass(frozen=True)
class PushEntry:
    """One return of a push: the institution's code, the version read, the items sent."""

    institution: str
    version: int | None
    values: Mapping[str, object]


@dataclass(frozen=True)
class PushProblem:
    institution: str | None
    item: str | None
    rule: str  # a stable code: value, unknown_item, unknown_institution, not_editable, ... or a rule's code
    message: str
    severity: str = ERROR


@dataclass(frozen=True)
class PushConflict:
    institution: str
    return_id: int
    expected_version: int
    current_version: int
    changes: list[OtherChange]


@dataclass
class PushedReturn:
    institution: str
    return_id: int | None  # None: the return would be created (dry run)
    created: bool
    version: int | None  # before the push
    new_version: int | None  # after it (in a dry run: what it would be)
    changes: list[tuple[str, Value, Value]] = field(default_factory=list)  # item, old, new
    not_applicable: list[str] = field(default_factory=list)
    warnings: list[PushProblem] = field(default_factory=list)


@dataclass
class PushResult:
    dry_run: bool
    written: bool
    returns: list[PushedReturn]


class PushRefused(Exception):
    """Nothing was written: every problem and every stale version of the push."""

    def __init__(self, *, problems: list[PushProblem], conflicts: list[PushConflict]):
        self.problems = problems
        self.conflicts = conflicts
        super().__init__(f"{len(problems)} problems, {len(conflicts)} conflicts")


@dataclass
class _Checked:
    entry: PushEntry
    institution_id: int
    survey_return: SurveyReturn | None
    sent: dict[str, Value]
    stored: dict[str, Value]


def _may_create(*, actor, edition: Edition, institution_id: int) -> bool:
    """Who may start a return: a society admin, or the institution's reporter while entry is open."""
    if user_is_society_admin(actor):
        return True
    membership = user_membership(actor)
    return bool(
        membership
        and membership.role == Role.REPORTER
        and membership.institution_id == institution_id
        and entry_is_open(edition=edition, institution_id=institution_id)
    )


def _check(*, edition: Edition, entries: list[PushEntry], actor, lock: bool) -> tuple[list[_Checked], list[PushProblem], list[PushConflict], list[PushedReturn]]:
    problems: list[PushProblem] = []
    conflicts: list[PushConflict] = []
    items = {item.code: item for item in Item.objects.filter(edition=edition)}
    questionnaire = questionnaire_compiled(edition)
    items_by_id = {item.id: item for item in questionnaire.items.values()}

    codes = [entry.institution for entry in entries]
    # Only institutions the actor may see: another's is "no such institution", never "forbidden".
    institutions = {
        code: (pk, active)
        for pk, code, active in institution_list_visible_to(user=actor)
        .filter(code__in=codes).values_list("id", "code", "active")
    }
    returns_query = SurveyReturn.objects.filter(
        edition=edition, institution_id__in=[pk for pk, _active in institutions.values()]
    ).select_related("edition", "institution")
    if lock:
        returns_query = returns_query.select_for_update(of=("self",))
    returns = {survey_return.institution_id: survey_return for survey_return in returns_query}
    stored_answers = answers_of_returns([r.pk for r in returns.values()], items_by_id)

    checked: list[_Checked] = []
    seen: set[str] = set()
    for entry in entries:
        code = entry.institution
        if code in seen:
            problems.append(PushProblem(code, None, "duplicate_institution", _(
                "Institution %(code)s appears more than once in this push; send each return once."
            ) % {"code": code}))
            continue
        seen.add(code)
        found = institutions.get(code)
        if found is None:
            problems.append(PushProblem(code, None, "unknown_institution", _(
                "No institution you may report for has the code %(code)s."
            ) % {"code": code}))
            continue
        institution_id, active = found
        if not active:
            problems.append(PushProblem(code, None, "inactive_institution", _(
                "Institution %(code)s is no longer active."
            ) % {"code": code}))
            continue

        sent: dict[str, Value] = {}
        readable = True
        for item_code, raw in entry.values.items():
            item = items.get(item_code)
            if item is None:
                problems.append(PushProblem(code, item_code, "unknown_item", _(
                    "The %(year)s questionnaire has no item %(item)s."
                ) % {"year": edition.year, "item": item_code}))
                readable = False
                continue
            try:
                sent[item_code] = value_parse(item, raw)
            except ValueInvalid as invalid:
                problems.append(PushProblem(code, item_code, "value", str(invalid)))
                readable = False

        survey_return = returns.get(institution_id)
        if survey_return is None:
            if entry.version is not None:
                problems.append(PushProblem(code, None, "no_return", _(
                    "Institution %(code)s has no %(year)s return yet: send no version to start one."
                ) % {"code": code, "year": edition.year}))
                continue
            if not _may_create(actor=actor, edition=edition, institution_id=institution_id):
                problems.append(PushProblem(code, None, "not_editable", _(
                    "You cannot start the %(year)s return of %(code)s now."
                ) % {"code": code, "year": edition.year}))
                continue
        else:
            if not return_can_edit(user=actor, survey_return=survey_return):
                problems.append(PushProblem(code, None, "not_editable", _(
                    "The return of %(code)s cannot be edited now (it is “%(status)s”)."
                ) % {"code": code, "status": survey_return.get_status_display()}))
                continue
            if entry.version is None:
                problems.append(PushProblem(code, None, "version_required", _(
                    "The return of %(code)s exists (version %(version)s): send the version you read."
                ) % {"code": code, "version": survey_return.version}))
                continue
            if entry.version != survey_return.version:
                conflict = return_conflict(survey_return, entry.version)
                conflicts.append(PushConflict(
                    institution=code, return_id=survey_return.pk, expected_version=entry.version,
                    current_version=conflict.current_version, changes=conflict.changes,
                ))
                continue
        if not readable:
            continue  # the rules would report follow-on problems of an unread value
        stored = {
            item_code: value
            for item_code, (_id, value) in stored_answers.get(survey_return.pk if survey_return else -1, {}).items()
        }
        checked.append(_Checked(entry=entry, institution_id=institution_id, survey_return=survey_return,
                                sent=sent, stored=stored))

    previous = previous_values_by_institution(edition, [c.institution_id for c in checked])
    plans: list[PushedReturn] = []
    for c in checked:
        code = c.entry.institution
        resolved = answers_resolve(questionnaire=questionnaire, stored=c.stored, sent=c.sent)
        version = c.survey_return.version if c.survey_return else None
        plan = PushedReturn(
            institution=code, return_id=c.survey_return.pk if c.survey_return else None,
            created=c.survey_return is None, version=version,
            new_version=(version or 1) + (1 if resolved.changes else 0),
            changes=[(item_code, before, after) for item_code, (before, after) in resolved.changes.items()],
            not_applicable=list(resolved.not_applicable),
        )
        for item_code, value in resolved.discarded.items():
            parent = questionnaire.items[condition_not_met(questionnaire, item_code, resolved.values)]
            plan.warnings.append(PushProblem(code, item_code, "applies_if", _(
                "“%(item)s” is asked only when “%(parent)s” is yes; its value %(value)s is not kept."
            ) % {"item": questionnaire.items[item_code].label(), "parent": parent.label(),
                 "value": value_display(value)}, severity="warning"))
        for finding in return_values_check(
            edition=edition, values=resolved.values, previous_values=previous.get(c.institution_id),
            for_submission=False,
        ):
            problem = PushProblem(code, finding.fields[0] if finding.fields else None, finding.rule_code,
                                  finding.message, severity=finding.severity)
            if finding.severity == ERROR:
                problems.append(problem)
            else:
                plan.warnings.append(problem)
        plans.append(plan)
    return checked, problems, conflicts, plans


def returns_push(*, edition: Edition, entries: list[PushEntry], actor, dry_run: bool) -> PushResult:
    """Check the push whole; unless `dry_run`, write it all or nothing. Raises PushRefused."""
    if dry_run:
        _checked, problems, conflicts, plans = _check(edition=edition, entries=entries, actor=actor, lock=False)
        if problems or conflicts:
            raise PushRefused(problems=problems, conflicts=conflicts)
        return PushResult(dry_run=True, written=False, returns=plans)
    return _write(edition=edition, entries=entries, actor=actor)


@transaction.atomic
def _write(*, edition: Edition, entries: list[PushEntry], actor) -> PushResult:
    # Checked again with the returns locked: nobody saves them between the check and the write.
    checked, problems, conflicts, plans = _check(edition=edition, entries=entries, actor=actor, lock=True)
    if problems or conflicts:
        raise PushRefused(problems=problems, conflicts=conflicts)
    institutions = {
        institution.pk: institution
        for institution in institution_list_visible_to(user=actor).filter(pk__in=[c.institution_id for c in checked])
    }
    for c, plan in zip(checked, plans, strict=True):
        survey_return = c.survey_return
        if survey_return is None:
            survey_return = return_start(edition=edition, institution=institutions[c.institution_id], actor=actor,
                                         source=AuditSource.API)
            plan.return_id = survey_return.pk
        try:
            return_values_save(
                survey_return=survey_return, values=c.sent, actor=actor,
                expected_version=survey_return.version, source=AuditSource.API,
            )
        except ReturnConflict as conflict:  # a return started by someone else at this very moment
            raise PushRefused(problems=[], conflicts=[PushConflict(
                institution=c.entry.institution, return_id=survey_return.pk,
                expected_version=conflict.expected_version, current_version=conflict.current_version,
                changes=conflict.changes,
            )]) from conflict
        plan.new_version = survey_return.version
    return PushResult(dry_run=False, written=any(plan.changes or plan.created for plan in plans), returns=plans)
