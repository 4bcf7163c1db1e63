"""Writes to returns: saving values and moving a return through its workflow.

draft → submitted → reviewed (the province's liaison) → approved (a society admin);
a reviewer may send a return back (sent_back), the reporter fixes and resubmits; an admin
may reopen an approved return. Every write checks and bumps ``SurveyReturn.version`` in one
``UPDATE ... WHERE version = expected`` so two people never overwrite each other silently,
and records who did what in the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from institutions.models import Institution, Role
from institutions.selectors import user_is_society_admin, user_membership
from reporting.models import (
    Answer,
    AuditEvent,
    AuditSource,
    Edition,
    EditionStatus,
    EntryExtension,
    ReturnStatus,
    ReviewComment,
    SurveyReturn,
    WarningConfirmation,
)
from reporting.rules.engine import (
    ERROR,
    WARNING,
    RuleFinding,
    questionnaire_compiled,
    return_values_check,
    value_fits_item,
)
from reporting.services.aggregation import edition_recompute_schedule
from reporting.services.answers import AnswerChanges, answers_resolve
from reporting.services.audit import audit_status_event, audit_subject, audit_value_events
from reporting.values import Value, answer_set_value

EDITABLE_STATUSES = (ReturnStatus.DRAFT, ReturnStatus.SENT_BACK)
# Writers that act for people who have no account (the demo loader's reporters and liaisons):
# they decide who acts, so the workflow's checks of the acting user are skipped for them;
# every other check (status, open entry, the rules) still applies.
SOURCES_WITHOUT_USER = (AuditSource.DEMO,)


# --- errors callers show to people --------------------------------------------------------


class ReturnActionRefused(Exception):
    """The action is not allowed now (wrong status, closed edition, wrong role)."""


class ReturnNotEditable(ReturnActionRefused):
    pass


@dataclass(frozen=True)
class OtherChange:
    item_code: str
    old_value: str
    new_value: str
    actor: str
    at: dt.datetime
    kind: str
    actor_id: int | None = None


class ReturnConflict(Exception):
    """The return was saved after `expected_version` was read; nothing was written."""

    def __init__(self, *, survey_return: SurveyReturn, expected_version: int, current_version: int,
                 changes: list[OtherChange], last_saved_by_id: int | None = None,
                 last_saved_at: dt.datetime | None = None):
        self.survey_return = survey_return
        self.expected_version = expected_version
        self.current_version = current_version
        self.changes = changes
        self.last_saved_by_id = last_saved_by_id
        self.last_saved_at = last_saved_at
        super().__init__(
            f"return {survey_return.pk} is at version {current_version}, not {expected_version}"
        )

    def saved_only_by(self, user) -> bool:
        """Whether every save in between was `user`'s own (another tab or window, the back button)."""
        if user is None or user.pk is None or self.last_saved_by_id != user.pk:
            return False
        return all(change.actor_id == user.pk for change in self.changes)


class ReturnNotSubmittable(Exception):
    """Errors remain, or warnings lack an explanation; `findings` says which."""

    def __init__(self, findings: list[RuleFinding]):
        self.findings = findings
        super().__init__("; ".join(f.message for f in findings))


# --- reads ------------------------------------------------------------------------------


def return_values(survey_return: SurveyReturn) -> dict[str, Value]:
    """The return's current answers: item code -> typed value (unanswered items absent)."""
    questionnaire = questionnaire_compiled(survey_return.edition)
    by_id = {item.id: item for item in questionnaire.items.values()}
    values = {}
    for item_id, int_value, bool_value, text_value in Answer.objects.filter(
        survey_return=survey_return
    ).values_list("item_id", "int_value", "bool_value", "text_value"):
        item = by_id.get(item_id)
        if item is None:
            continue
        if item.type == "integer":
            values[item.code] = int_value
        elif item.type == "boolean":
            values[item.code] = bool_value
        else:
            values[item.code] = text_value
    return values


def return_previous(survey_return: SurveyReturn) -> SurveyReturn | None:
    """The same institution's return in the previous edition, if any."""
    previous_edition = survey_return.edition.previous
    # An edition known only by its published totals (2019) has no returns to compare with.
    if previous_edition is None or not questionnaire_compiled(previous_edition).items:
        return None
    return (
        SurveyReturn.objects.select_related("edition")
        .filter(edition_id=previous_edition.pk, institution_id=survey_return.institution_id)
        .first()
    )


def return_previous_values(survey_return: SurveyReturn) -> dict[str, Value] | None:
    """The previous edition's values of the same institution (by item code), or None."""
    previous = return_previous(survey_return)
    if previous is None:
        return None
    return return_values(previous)


def return_check(survey_return: SurveyReturn, *, for_submission: bool, values=None,
                 unreadable=()) -> list[RuleFinding]:
    values = return_values(survey_return) if values is None else values
    return return_values_check(
        edition=survey_return.edition,
        values=values,
        previous_values=return_previous_values(survey_return),
        for_submission=for_submission,
        unreadable=unreadable,
    )


def entry_is_open(*, edition: Edition, institution_id: int, today: dt.date | None = None) -> bool:
    """The edition's dates gate entry, except an extension granted to the institution."""
    today = today or timezone.localdate()
    if edition.entry_open_on(today):
        return True
    if edition.status in (EditionStatus.OPEN, EditionStatus.CLOSED):
        return EntryExtension.objects.filter(
            edition=edition, institution_id=institution_id, until__gte=today
        ).exists()
    return False


def return_can_edit(*, user, survey_return: SurveyReturn) -> bool:
    """Reporters edit their own draft or sent-back return while entry is open; admins any unapproved one."""
    if user_is_society_admin(user):
        return survey_return.status != ReturnStatus.APPROVED
    membership = user_membership(user)
    if membership is None or membership.role != Role.REPORTER:
        return False
    return (
        membership.institution_id == survey_return.institution_id
        and survey_return.status in EDITABLE_STATUSES
        and entry_is_open(edition=survey_return.edition, institution_id=survey_return.institution_id)
    )


def user_can_review(*, user, survey_return: SurveyReturn) -> bool:
    """The province's liaison or a society admin."""
    if user_is_society_admin(user):
        return True
    membership = user_membership(user)
    return bool(
        membership
        and membership.role == Role.LIAISON
        and membership.province_id == survey_return.institution.province_id
    )


# --- writes -----------------------------------------------------------------------------


def return_conflict(survey_return: SurveyReturn, expected_version: int) -> ReturnConflict:
    """What was saved since `expected_version`: every audited change, who and when."""
    current = SurveyReturn.objects.filter(pk=survey_return.pk).values_list("version", "updated_by_id", "updated_at").first()
    events = (
        AuditEvent.objects.filter(survey_return=survey_return, return_version__gt=expected_version)
        .select_related("actor")
        .order_by("at", "id")
    )
    changes = [
        OtherChange(
            item_code=event.item_code,
            old_value=event.old_value,
            new_value=event.new_value,
            actor=(event.actor.get_full_name() or event.actor.username) if event.actor else "",
            at=event.at,
            kind=event.kind,
            actor_id=event.actor_id,
        )
        for event in events
    ]
    version, saved_by_id, saved_at = current or (0, None, None)
    return ReturnConflict(
        survey_return=survey_return,
        expected_version=expected_version,
        current_version=version,
        changes=changes,
        last_saved_by_id=saved_by_id,
        last_saved_at=saved_at,
    )


def _version_bump(*, survey_return: SurveyReturn, expected_version: int, actor, **fields) -> None:
    """Claim the next version in one UPDATE, or raise ReturnConflict with what others changed."""
    now = timezone.now()
    updated = SurveyReturn.objects.filter(pk=survey_return.pk, version=expected_version).update(
        version=F("version") + 1, updated_at=now, updated_by=actor, **fields
    )
    if updated != 1:
        raise return_conflict(survey_return, expected_version)
    survey_return.version = expected_version + 1
    survey_return.updated_at = now
    survey_return.updated_by = actor
    for name, value in fields.items():
        setattr(survey_return, name, value)


def _check_values_fit(survey_return: SurveyReturn, values: dict[str, Value]) -> None:
    """Callers parse with reporting.values; this guards against a caller that did not."""
    items = questionnaire_compiled(survey_return.edition).items
    unknown = sorted(set(values) - set(items))
    if unknown:
        raise ValueError(_("Unknown item codes: %(codes)s") % {"codes": ", ".join(unknown)})
    wrong = [code for code, value in values.items() if value is not None and not value_fits_item(items[code], value)]
    if wrong:
        raise ValueError(_("Values of the wrong type for: %(codes)s") % {"codes": ", ".join(wrong)})


@transaction.atomic
def return_values_save(
    *,
    survey_return: SurveyReturn,
    values: dict[str, Value],
    actor,
    expected_version: int,
    source: str = AuditSource.WEB,
) -> AnswerChanges:
    """Write what a request sent: `values` names the items sent (None: sent blank).

    The rule is ``reporting.services.answers.answers_resolve``: items not named stay as they
    are, a None clears the item, and items that do not apply after the write are cleared.
    Writes only the answers that change, records one AuditEvent per change, and bumps the
    version checked against `expected_version` (ReturnConflict when the return was saved
    since; the check is made even when nothing would change, so a stale page never silently
    puts back old values). A save that changes nothing keeps the version.
    Callers check who may edit (``return_can_edit``); the web form's and the API's callers are
    refused here too.
    """
    if source in (AuditSource.WEB, AuditSource.API) and not return_can_edit(user=actor, survey_return=survey_return):
        raise ReturnNotEditable(_("This return cannot be edited now."))
    _check_values_fit(survey_return, values)
    # Lock the return first, so concurrent saves queue behind this one and then see its version.
    current = SurveyReturn.objects.select_for_update().filter(pk=survey_return.pk).values_list("version", flat=True).first()
    if current != expected_version:
        raise return_conflict(survey_return, expected_version)

    questionnaire = questionnaire_compiled(survey_return.edition)
    resolved = answers_resolve(questionnaire=questionnaire, stored=return_values(survey_return), sent=values)
    if not resolved.changes:
        return resolved
    _version_bump(survey_return=survey_return, expected_version=expected_version, actor=actor)
    changed = resolved.changes
    # Only the ids of the rows to change: every value written is set from `changed`.
    existing = dict(Answer.objects.filter(
        survey_return=survey_return,
        item_id__in=[questionnaire.items[code].id for code in changed],
    ).values_list("item_id", "id"))
    to_create, to_update, to_delete = [], [], []
    for code, (_before, after) in changed.items():
        item = questionnaire.items[code]
        answer_id = existing.get(item.id)
        if after is None:
            if answer_id is not None:
                to_delete.append(answer_id)
            continue
        answer = Answer(pk=answer_id, survey_return=survey_return, item_id=item.id)
        answer_set_value(answer, item, after)
        (to_create if answer_id is None else to_update).append(answer)
    if to_delete:
        Answer.objects.filter(pk__in=to_delete).delete()
    if to_create:
        Answer.objects.bulk_create(to_create)
    if to_update:
        Answer.objects.bulk_update(to_update, ["int_value", "bool_value", "text_value"])
    AuditEvent.objects.bulk_create(
        audit_value_events(
            survey_return=survey_return,
            old={code: before for code, (before, _after) in changed.items()},
            new={code: after for code, (_before, after) in changed.items()},
            actor=actor,
            source=source,
            return_version=survey_return.version,
        )
    )
    return resolved


def _set_status(*, survey_return, actor, new_status, expected_version, comment="", source=AuditSource.WEB, **fields):
    old_status = survey_return.status
    _version_bump(
        survey_return=survey_return,
        expected_version=survey_return.version if expected_version is None else expected_version,
        actor=actor,
        status=new_status,
        **fields,
    )
    audit_status_event(
        survey_return=survey_return, old_status=old_status, new_status=new_status,
        actor=actor, source=source, comment=comment,
    )


def _require_status(survey_return: SurveyReturn, *allowed: str) -> None:
    if survey_return.status not in allowed:
        raise ReturnActionRefused(
            _("Not possible while the return is “%(status)s”.") % {"status": survey_return.get_status_display()}
        )


@transaction.atomic
def return_start(*, edition: Edition, institution: Institution, actor, source: str = AuditSource.WEB) -> SurveyReturn:
    """The institution's return for the edition, created empty (as a draft) the first time."""
    survey_return, created = SurveyReturn.objects.get_or_create(
        edition=edition, institution=institution, defaults={"updated_by": actor}
    )
    if created:
        audit_status_event(survey_return=survey_return, old_status="", new_status=ReturnStatus.DRAFT,
                           actor=actor, source=source)
    return survey_return


@transaction.atomic
def warning_confirmations_save(*, survey_return: SurveyReturn, explanations: dict[str, str], actor) -> None:
    """Store the reporter's explanations for warnings (keyed by finding rule code)."""
    for rule_code, explanation in explanations.items():
        explanation = (explanation or "").strip()
        if not explanation:
            WarningConfirmation.objects.filter(survey_return=survey_return, rule_code=rule_code).delete()
            continue
        WarningConfirmation.objects.update_or_create(
            survey_return=survey_return,
            rule_code=rule_code,
            defaults={"explanation": explanation, "confirmed_by": actor},
        )


def return_submission_problems(survey_return: SurveyReturn, *, values=None) -> list[RuleFinding]:
    """What blocks submission: every error, and every warning without an explanation."""
    findings = return_check(survey_return, for_submission=True, values=values)
    confirmed = set(
        WarningConfirmation.objects.filter(survey_return=survey_return)
        .exclude(explanation="")
        .values_list("rule_code", flat=True)
    )
    return [
        f for f in findings
        if f.severity == ERROR or (f.severity == WARNING and f.rule_code not in confirmed)
    ]


@transaction.atomic
def return_submit(
    *,
    survey_return: SurveyReturn,
    actor,
    expected_version: int | None = None,
    explanations: dict[str, str] | None = None,
    source: str = AuditSource.WEB,
) -> SurveyReturn:
    """Submit for review. Errors block; every warning needs an explanation (`explanations` adds them).

    For a source in SOURCES_WITHOUT_USER (the demo loader) entry must still be open.
    """
    _require_status(survey_return, *EDITABLE_STATUSES)
    if source in SOURCES_WITHOUT_USER:
        allowed = entry_is_open(edition=survey_return.edition, institution_id=survey_return.institution_id)
    else:
        allowed = return_can_edit(user=actor, survey_return=survey_return)
    if not allowed:
        raise ReturnNotEditable(_("This return cannot be submitted now."))
    if explanations:
        warning_confirmations_save(survey_return=survey_return, explanations=explanations, actor=actor)
    problems = return_submission_problems(survey_return)
    if problems:
        raise ReturnNotSubmittable(problems)
    _set_status(
        survey_return=survey_return, actor=actor, new_status=ReturnStatus.SUBMITTED,
        expected_version=expected_version, source=source, submitted_at=timezone.now(),
    )
    return survey_return


@dataclass
class EntrySaved:
    """What the data-entry form's save did."""

    changes: AnswerChanges
    submitted: bool = False
    # A submission was asked but refused: what blocks it (errors, unexplained warnings) ...
    not_submittable: list[RuleFinding] | None = None
    # ... or why it is not possible now (e.g. an admin editing a submitted return).
    refused: str = ""


@transaction.atomic
def return_entry_save(
    *,
    survey_return: SurveyReturn,
    values: dict[str, Value],
    explanations: dict[str, str],
    actor,
    expected_version: int,
    submit: bool = False,
) -> EntrySaved:
    """The data-entry form's save in one transaction: values, warning explanations, and the
    submission when asked. A refused submission keeps the values and explanations saved
    (the page says so); anything that fails on the way (a lost database connection) leaves
    nothing written."""
    changes = return_values_save(
        survey_return=survey_return, values=values, actor=actor, expected_version=expected_version,
    )
    if explanations:
        warning_confirmations_save(survey_return=survey_return, explanations=explanations, actor=actor)
    saved = EntrySaved(changes=changes)
    if submit:
        try:
            return_submit(survey_return=survey_return, actor=actor)
        except ReturnNotSubmittable as refused:
            saved.not_submittable = refused.findings
        except ReturnActionRefused as refused:
            saved.refused = str(refused)
        else:
            saved.submitted = True
    return saved


def _require_reviewer(actor, survey_return: SurveyReturn, *, admin_only: bool = False,
                      source: str = AuditSource.WEB) -> None:
    if source in SOURCES_WITHOUT_USER:
        return
    allowed = user_is_society_admin(actor) if admin_only else user_can_review(user=actor, survey_return=survey_return)
    if not allowed:
        raise ReturnActionRefused(_("You may not do this with this return."))


@transaction.atomic
def return_send_back(
    *,
    survey_return: SurveyReturn,
    actor,
    comment: str,
    item_comments: dict[str, str] | None = None,
    expected_version: int | None = None,
    source: str = AuditSource.WEB,
) -> SurveyReturn:
    """Send a submitted or reviewed return back to the reporter, with comments they will see."""
    _require_reviewer(actor, survey_return, source=source)
    _require_status(survey_return, ReturnStatus.SUBMITTED, ReturnStatus.REVIEWED)
    if (survey_return.status == ReturnStatus.REVIEWED and source not in SOURCES_WITHOUT_USER
            and not user_is_society_admin(actor)):
        # Once reviewed, the return waits for the society; the liaison has had their say.
        raise ReturnActionRefused(_("Only a society admin can send back a reviewed return."))
    comment = (comment or "").strip()
    if not comment:
        raise ValueError(_("Say why the return is sent back."))
    questionnaire = questionnaire_compiled(survey_return.edition)
    item_comments = {code: (text or "").strip() for code, text in (item_comments or {}).items()}
    unknown = sorted(code for code in item_comments if code not in questionnaire.items)
    if unknown:
        raise ValueError(_("Unknown item codes: %(codes)s") % {"codes": ", ".join(unknown)})
    _set_status(
        survey_return=survey_return, actor=actor, new_status=ReturnStatus.SENT_BACK,
        expected_version=expected_version, comment=comment, source=source,
    )
    comments = [ReviewComment(survey_return=survey_return, author=actor, body=comment,
                              return_version=survey_return.version)]
    comments += [
        ReviewComment(
            survey_return=survey_return, author=actor, body=text,
            item_id=questionnaire.items[code].id, return_version=survey_return.version,
        )
        for code, text in item_comments.items() if text
    ]
    ReviewComment.objects.bulk_create(comments)
    return survey_return


@transaction.atomic
def return_review(*, survey_return: SurveyReturn, actor, comment: str = "", expected_version: int | None = None,
                  source: str = AuditSource.WEB) -> SurveyReturn:
    """The liaison (or an admin) has checked the return: it goes to the society."""
    _require_reviewer(actor, survey_return, source=source)
    _require_status(survey_return, ReturnStatus.SUBMITTED)
    _set_status(
        survey_return=survey_return, actor=actor, new_status=ReturnStatus.REVIEWED,
        expected_version=expected_version, comment=comment, source=source, reviewed_at=timezone.now(),
    )
    return survey_return


@transaction.atomic
def return_approve(*, survey_return: SurveyReturn, actor, comment: str = "", expected_version: int | None = None,
                   source: str = AuditSource.WEB) -> SurveyReturn:
    """A society admin approves a reviewed return: it enters the national figures."""
    _require_reviewer(actor, survey_return, admin_only=True)
    _require_status(survey_return, ReturnStatus.REVIEWED)
    _set_status(
        survey_return=survey_return, actor=actor, new_status=ReturnStatus.APPROVED,
        expected_version=expected_version, comment=comment, source=source, approved_at=timezone.now(),
    )
    edition_recompute_schedule(edition_id=survey_return.edition_id)
    return survey_return


@transaction.atomic
def return_reopen(*, survey_return: SurveyReturn, actor, comment: str, expected_version: int | None = None) -> SurveyReturn:
    """An admin reopens an approved return for correction; it leaves the national figures."""
    _require_reviewer(actor, survey_return, admin_only=True)
    _require_status(survey_return, ReturnStatus.APPROVED)
    comment = (comment or "").strip()
    if not comment:
        raise ValueError(_("Say why the return is reopened."))
    _set_status(
        survey_return=survey_return, actor=actor, new_status=ReturnStatus.SENT_BACK,
        expected_version=expected_version, comment=comment, approved_at=None,
    )
    ReviewComment.objects.create(
        survey_return=survey_return, author=actor, body=comment, return_version=survey_return.version
    )
    edition_recompute_schedule(edition_id=survey_return.edition_id)
    return survey_return


@transaction.atomic
def return_import_approve(*, survey_return: SurveyReturn, actor) -> SurveyReturn:
    """Mark an imported return approved (``import_returns --approve``, an admin's action).

    The caller has checked the file and the actor; the status change is audited as an import.
    """
    if survey_return.status != ReturnStatus.APPROVED:
        _set_status(
            survey_return=survey_return, actor=actor, new_status=ReturnStatus.APPROVED,
            expected_version=None, source=AuditSource.IMPORT, approved_at=timezone.now(),
        )
        edition_recompute_schedule(edition_id=survey_return.edition_id)
    return survey_return


@transaction.atomic
def extension_grant(
    *, edition: Edition, institution: Institution, until: dt.date, actor, reason: str = "",
    source: str = AuditSource.WEB,
) -> EntryExtension:
    """An admin lets one institution enter data until `until`, whatever the edition's dates.

    Granting again replaces the date and reason; the trail keeps the old date.
    """
    if not user_is_society_admin(actor):
        raise ReturnActionRefused(_("Only a society admin can grant an extension."))
    previous = (
        EntryExtension.objects.select_for_update().filter(edition=edition, institution=institution)
        .values_list("until", flat=True).first()
    )
    extension, _created = EntryExtension.objects.update_or_create(
        edition=edition, institution=institution,
        defaults={"until": until, "granted_by": actor, "reason": reason},
    )
    AuditEvent.objects.create(
        edition=edition,
        survey_return=SurveyReturn.objects.filter(edition=edition, institution=institution).first(),
        institution=institution,
        **audit_subject(extension, label=f"{edition.year} {institution.code} {institution.name}"),
        kind=AuditEvent.Kind.EXTENSION,
        source=source,
        actor=actor,
        item_code=institution.code,
        old_value=previous.isoformat() if previous else "",
        new_value=until.isoformat(),
        comment=reason,
    )
    return extension


def return_changes_since_sent_back(survey_return: SurveyReturn) -> tuple[int | None, list[AuditEvent]]:
    """(version when last sent back, value changes made since), for the reviewer."""
    last = (
        ReviewComment.objects.filter(survey_return=survey_return, item__isnull=True)
        .order_by("-return_version").values_list("return_version", flat=True).first()
    )
    if last is None:
        return None, []
    events = list(
        AuditEvent.objects.filter(
            survey_return=survey_return, kind=AuditEvent.Kind.VALUE, return_version__gt=last
        ).select_related("actor").order_by("at", "id")
    )
    return last, events
