"""Importing returns from a spreadsheet: check the whole file, then write it all or nothing.

Both the dry run (the browser's preview) and the import run the same check: the file is
parsed, every institution resolved, and every resulting return run through the
questionnaire's rules exactly as the browser form does (``return_values_check``; errors
reject the file, warnings are reported). Only a file without a single problem is written,
inside one transaction, with the affected returns locked.

Writes are bulk (one INSERT per few thousand answers, not one service call per value) but
follow the same rule as every writer (``reporting.services.answers.answers_resolve``): items
without a column stay as they are, a blank cell makes the item unanswered, and an item that
does not apply after the import (its applies_if item is not yes) is cleared, with a warning
when the file gave it a value. One AuditEvent (source "import") per changed value, and each
written return's version is bumped once. A return is created as a draft the first time an
institution appears.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from institutions.models import Institution
from reporting.models import (
    Answer,
    AuditEvent,
    AuditSource,
    Edition,
    Item,
    ReturnStatus,
    SurveyReturn,
)
from reporting.rules.engine import ERROR, questionnaire_compiled, return_values_check
from reporting.services.aggregation import edition_recompute_schedule
from reporting.services.answers import answers_resolve, condition_not_met
from reporting.spreadsheets.layout import edition_items
from reporting.spreadsheets.parsing import ParsedFile, ParsedRow, returns_table_parse
from reporting.spreadsheets.problems import SpreadsheetInvalid, SpreadsheetProblem
from reporting.spreadsheets.reading import table_open
from reporting.values import Value, value_display

CHUNK = 500
PREVIEW_CHANGE_LIMIT = 3000  # item changes listed in a preview; the counts are always complete
INSTITUTION_COLUMN = "A (institution_code)"

Progress = Callable[[str, int, int], None]


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


@dataclass
class ItemChange:
    code: str
    old: str
    new: str


@dataclass
class ReturnPlan:
    row: int
    institution_id: int
    institution_code: str
    institution_name: str
    return_id: int | None  # None: the return is created by the import
    version: int | None
    status: str | None
    change_count: int = 0
    removal_count: int = 0  # answers a blank cell would remove
    not_applicable_count: int = 0  # answers removed because their item would no longer apply
    changes: list[ItemChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    """What an import would do: returns touched, values changed, warnings."""

    edition_year: int
    item_codes: list[str]
    returns: list[ReturnPlan] = field(default_factory=list)
    warnings: list[SpreadsheetProblem] = field(default_factory=list)
    approve: bool = False

    @property
    def new_returns(self) -> int:
        return sum(1 for plan in self.returns if plan.return_id is None)

    @property
    def changed_returns(self) -> int:
        return sum(1 for plan in self.returns if plan.change_count)

    @property
    def value_changes(self) -> int:
        return sum(plan.change_count for plan in self.returns)

    @property
    def value_removals(self) -> int:
        return sum(plan.removal_count for plan in self.returns)

    @property
    def not_applicable_removals(self) -> int:
        return sum(plan.not_applicable_count for plan in self.returns)

    def versions(self) -> dict[str, int | None]:
        """Institution code -> return version seen by the check (to detect later edits)."""
        return {plan.institution_code: plan.version for plan in self.returns}

    def as_dict(self) -> dict:
        return {
            "edition_year": self.edition_year,
            "item_codes": self.item_codes,
            "approve": self.approve,
            "new_returns": self.new_returns,
            "changed_returns": self.changed_returns,
            "value_changes": self.value_changes,
            "value_removals": self.value_removals,
            "not_applicable_removals": self.not_applicable_removals,
            "returns": [asdict(plan) for plan in self.returns],
            "warnings": [w.as_dict() for w in self.warnings],
        }


@dataclass
class ImportResult:
    returns: int
    returns_created: int
    returns_changed: int
    values_changed: int
    returns_approved: int
    warnings: list[SpreadsheetProblem]

    def as_dict(self) -> dict:
        data = asdict(self)
        data["warnings"] = [w.as_dict() for w in self.warnings]
        return data


class ImportStale(SpreadsheetInvalid):
    """Returns changed between the preview and the confirmation; nothing was written."""


# --- reading and checking ----------------------------------------------------------------


def returns_file_parse(*, edition: Edition, content: bytes, filename: str) -> ParsedFile:
    """Read and parse a file. An unreadable file raises SpreadsheetInvalid; problems of rows
    and cells are collected in the result so the check can list them with the rest."""
    table = table_open(content=content, filename=filename)
    parsed = returns_table_parse(table, edition=edition, items=edition_items(edition))
    if parsed.problems and not parsed.rows:
        parsed.raise_if_problems()
    return parsed


def returns_file_check(
    *,
    edition: Edition,
    content: bytes,
    filename: str,
    institution: Institution | None = None,
    approve: bool = False,
    progress: Progress = _no_progress,
) -> ImportPlan:
    """The dry run: what importing the file would change. Raises SpreadsheetInvalid; writes nothing."""
    parsed = returns_file_parse(edition=edition, content=content, filename=filename)
    return _plan(edition=edition, parsed=parsed, institution=institution, approve=approve,
                 progress=progress, lock=False)


def _chunks(sequence, size=CHUNK):
    for start in range(0, len(sequence), size):
        yield sequence[start:start + size]


def answers_of_returns(return_ids, items_by_id) -> dict[int, dict[str, tuple[int, Value]]]:
    """{return id: {item code: (answer id, typed value)}} for the given returns."""
    answers: dict[int, dict[str, tuple[int, Value]]] = {}
    for answer_id, return_id, item_id, int_value, bool_value, text_value in Answer.objects.filter(
        survey_return_id__in=return_ids
    ).values_list("id", "survey_return_id", "item_id", "int_value", "bool_value", "text_value"):
        item = items_by_id.get(item_id)
        if item is None:
            continue
        value = int_value if item.type == "integer" else bool_value if item.type == "boolean" else text_value
        answers.setdefault(return_id, {})[item.code] = (answer_id, value)
    return answers


def previous_values_by_institution(edition: Edition, institution_ids) -> dict[int, dict[str, Value]]:
    """{institution id: values in the previous edition} (empty when it has no returns)."""
    if edition.previous_id is None:
        return {}
    previous = Edition.objects.get(pk=edition.previous_id)
    if not Item.objects.filter(edition=previous).exists():
        return {}
    items_by_id = {item.id: item for item in questionnaire_compiled(previous).items.values()}
    returns = dict(
        SurveyReturn.objects.filter(edition=previous, institution_id__in=institution_ids)
        .values_list("id", "institution_id")
    )
    values = answers_of_returns(list(returns), items_by_id)
    return {
        returns[return_id]: {code: value for code, (_id, value) in answers.items()}
        for return_id, answers in values.items()
    }


def _plan(*, edition, parsed: ParsedFile, institution, approve, progress, lock) -> ImportPlan:
    problems: list[SpreadsheetProblem] = []
    # Rows with a bad cell are not run through the rules: a missing value would add noise.
    rows_with_problems = {problem.row for problem in parsed.problems}
    plan = ImportPlan(edition_year=edition.year, item_codes=parsed.item_codes, approve=approve)
    questionnaire = questionnaire_compiled(edition)
    items_by_id = {item.id: item for item in questionnaire.items.values()}

    institutions: dict[str, tuple[int, str, bool]] = {}
    codes = [row.institution_code for row in parsed.rows]
    for chunk in _chunks(codes, 5000):
        for pk, code, name, active in Institution.objects.filter(code__in=chunk).values_list(
            "id", "code", "name", "active"
        ):
            institutions[code] = (pk, name, active)

    rows: list[tuple[ParsedRow, int, str]] = []
    for row in parsed.rows:
        found = institutions.get(row.institution_code)
        if institution is not None and row.institution_code != institution.code:
            problems.append(SpreadsheetProblem(row.row_number, INSTITUTION_COLUMN, _(
                "This row is for institution %(code)s; you can upload only your own institution's return (%(own)s)."
            ) % {"code": row.institution_code, "own": institution.code}))
        elif found is None:
            problems.append(SpreadsheetProblem(row.row_number, INSTITUTION_COLUMN, _(
                "No institution has the code %(code)s. Check the code, or add the institution to the registry first."
            ) % {"code": row.institution_code}))
        elif not found[2]:
            problems.append(SpreadsheetProblem(row.row_number, INSTITUTION_COLUMN, _(
                "Institution %(code)s is no longer active."
            ) % {"code": row.institution_code}))
        else:
            rows.append((row, found[0], found[1]))

    existing_query = SurveyReturn.objects.filter(
        edition=edition, institution_id__in=[pk for _row, pk, _name in rows]
    )
    if lock:
        existing_query = existing_query.select_for_update()
    existing = {
        institution_id: (pk, version, status)
        for pk, institution_id, version, status in existing_query.values_list(
            "id", "institution_id", "version", "status"
        )
    }

    listed_changes = 0
    done = 0
    for chunk in _chunks(rows):
        return_ids = [existing[pk][0] for _row, pk, _name in chunk if pk in existing]
        answers = answers_of_returns(return_ids, items_by_id)
        previous = previous_values_by_institution(edition, [pk for _row, pk, _name in chunk])
        for row, institution_id, name in chunk:
            return_id, version, status = existing.get(institution_id, (None, None, None))
            old = {code: value for code, (_id, value) in answers.get(return_id, {}).items()}
            return_plan = ReturnPlan(
                row=row.row_number, institution_id=institution_id,
                institution_code=row.institution_code, institution_name=name,
                return_id=return_id, version=version, status=status,
            )
            resolved = answers_resolve(
                questionnaire=questionnaire, stored=old, sent=dict(zip(parsed.item_codes, row.values, strict=True)),
            )
            new = resolved.values
            for code, (before, after) in resolved.changes.items():
                return_plan.change_count += 1
                if after is None and code in resolved.not_applicable:
                    return_plan.not_applicable_count += 1
                elif after is None:
                    return_plan.removal_count += 1
                if listed_changes < PREVIEW_CHANGE_LIMIT:
                    return_plan.changes.append(ItemChange(code, value_display(before), value_display(after)))
                    listed_changes += 1
            for code, value in resolved.discarded.items():
                item = questionnaire.items[code]
                parent = questionnaire.items[condition_not_met(questionnaire, code, new)]
                message = _(
                    "“%(item)s” is asked only when “%(parent)s” is yes; its value %(value)s is not imported."
                ) % {"item": item.label(), "parent": parent.label(), "value": value_display(value)}
                plan.warnings.append(SpreadsheetProblem(row.row_number, parsed.column_of(code), message))
                return_plan.warnings.append(message)
            findings = [] if row.row_number in rows_with_problems else return_values_check(
                edition=edition, values=new, previous_values=previous.get(institution_id),
                for_submission=approve,
            )
            for finding in findings:
                column = next((parsed.column_of(code) for code in finding.fields if code in parsed.item_codes), None)
                if finding.severity == ERROR:
                    problems.append(SpreadsheetProblem(row.row_number, column, finding.message))
                else:
                    plan.warnings.append(SpreadsheetProblem(row.row_number, column, finding.message))
                    return_plan.warnings.append(finding.message)
            plan.returns.append(return_plan)
        done += len(chunk)
        progress("check", done, len(rows))
    if problems or parsed.problems:
        problems = sorted(parsed.problems + problems, key=lambda p: (p.row or 0))
        if parsed.problem_overflow:
            problems.append(SpreadsheetProblem(None, None, _(
                "… and %(count)s more problems not listed."
            ) % {"count": parsed.problem_overflow}))
        raise SpreadsheetInvalid(problems)
    return plan


# --- writing -------------------------------------------------------------------------------


def returns_import(
    *,
    edition: Edition,
    content: bytes,
    filename: str,
    actor,
    institution: Institution | None = None,
    approve: bool = False,
    expected_versions: dict[str, int | None] | None = None,
    progress: Progress = _no_progress,
) -> ImportResult:
    """Import a returns file all or nothing. Raises SpreadsheetInvalid (nothing written).

    `institution` restricts the file to that institution's row (a reporter's upload);
    `approve` marks every imported return approved (an admin's action) and schedules one
    recomputation of the edition's figures; `expected_versions` (from the preview) rejects
    the file if any of its returns changed since.
    """
    parsed = returns_file_parse(edition=edition, content=content, filename=filename)
    try:
        with transaction.atomic():
            return _import(edition=edition, parsed=parsed, actor=actor, institution=institution,
                           approve=approve, expected_versions=expected_versions, progress=progress)
    except IntegrityError as exc:
        # Someone created one of the returns at the same moment; the whole import rolled back.
        raise SpreadsheetInvalid([SpreadsheetProblem(None, None, _(
            "Another change to these returns happened during the import; nothing was written. Upload the file again."
        ))]) from exc


def _import(*, edition, parsed, actor, institution, approve, expected_versions, progress) -> ImportResult:
    plan = _plan(edition=edition, parsed=parsed, institution=institution, approve=approve,
                 progress=progress, lock=True)
    if expected_versions is not None:
        stale = [
            SpreadsheetProblem(p.row, INSTITUTION_COLUMN, _(
                "The return of %(code)s changed after the preview; nothing was written. Upload the file again to see the current changes."
            ) % {"code": p.institution_code})
            for p in plan.returns
            if expected_versions.get(p.institution_code, "missing") != p.version
        ]
        if stale:
            raise ImportStale(stale)

    questionnaire = questionnaire_compiled(edition)
    items = questionnaire.items
    items_by_id = {item.id: item for item in items.values()}
    now = timezone.now()
    rows_by_code = {row.institution_code: row for row in parsed.rows}

    # Returns seen for the first time are created as drafts, as return_start would.
    new_plans = [p for p in plan.returns if p.return_id is None]
    for chunk in _chunks(new_plans, 2000):
        created = SurveyReturn.objects.bulk_create([
            SurveyReturn(edition=edition, institution_id=p.institution_id, status=ReturnStatus.DRAFT,
                         version=1, updated_by=actor)
            for p in chunk
        ])
        for p, survey_return in zip(chunk, created, strict=True):
            p.return_id, p.version, p.status = survey_return.pk, 1, ReturnStatus.DRAFT
        _insert(AuditEvent, [
            AuditEvent(edition=edition, survey_return_id=p.return_id, kind=AuditEvent.Kind.STATUS,
                       source=AuditSource.IMPORT, actor=actor, at=now, old_value="",
                       new_value=ReturnStatus.DRAFT, return_version=1)
            for p in chunk
        ])

    bumped: set[int] = set()
    values_changed = 0
    done = 0
    for chunk in _chunks(plan.returns):
        answers = answers_of_returns([p.return_id for p in chunk], items_by_id)
        to_delete: list[int] = []
        answer_rows: list[tuple] = []
        event_rows: list[tuple] = []
        for p in chunk:
            row = rows_by_code[p.institution_code]
            current = answers.get(p.return_id, {})
            resolved = answers_resolve(
                questionnaire=questionnaire,
                stored={code: value for code, (_id, value) in current.items()},
                sent=dict(zip(parsed.item_codes, row.values, strict=True)),
            )
            if not resolved.changes:
                continue
            for code, (_before, after) in resolved.changes.items():
                answer_id = current.get(code, (None, None))[0]
                if answer_id is not None:
                    to_delete.append(answer_id)
                if after is not None:
                    item = items[code]
                    answer_rows.append((
                        p.return_id, item.id,
                        after if item.type == "integer" else None,
                        after if item.type == "boolean" else None,
                        after if item.type in ("choice", "text") else None,
                    ))
            bumped.add(p.return_id)
            values_changed += len(resolved.changes)
            event_rows.extend(audit_value_rows(
                edition_id=edition.pk, return_id=p.return_id,
                old={code: before for code, (before, _after) in resolved.changes.items()},
                new={code: after for code, (_before, after) in resolved.changes.items()},
                actor_id=actor.pk if actor else None, at=now, return_version=p.version + 1,
            ))
        for ids in _chunks(to_delete, 5000):
            Answer.objects.filter(pk__in=ids).delete()
        _insert_rows(Answer, ANSWER_COLUMNS, answer_rows)
        _insert_rows(AuditEvent, EVENT_COLUMNS, event_rows)
        done += len(chunk)
        progress("write", done, len(plan.returns))

    to_approve = [p for p in plan.returns if approve and p.status != ReturnStatus.APPROVED]
    for p in to_approve:
        bumped.add(p.return_id)
    version_of = {p.return_id: p.version + 1 for p in plan.returns}
    for ids in _chunks(sorted(bumped), 5000):
        SurveyReturn.objects.filter(pk__in=ids).update(
            version=F("version") + 1, updated_at=now, updated_by=actor
        )
    if to_approve:
        for chunk in _chunks(to_approve, 5000):
            SurveyReturn.objects.filter(pk__in=[p.return_id for p in chunk]).update(
                status=ReturnStatus.APPROVED, approved_at=now
            )
        _insert(AuditEvent, [
            AuditEvent(edition=edition, survey_return_id=p.return_id, kind=AuditEvent.Kind.STATUS,
                       source=AuditSource.IMPORT, actor=actor, at=now, old_value=p.status,
                       new_value=ReturnStatus.APPROVED, return_version=version_of[p.return_id])
            for p in to_approve
        ])
    # Approved returns feed the national figures: recompute once, after commit.
    touched_approved = any(p.status == ReturnStatus.APPROVED and p.return_id in bumped for p in plan.returns)
    if to_approve or touched_approved:
        edition_recompute_schedule(edition_id=edition.pk)
    return ImportResult(
        returns=len(plan.returns),
        returns_created=len(new_plans),
        returns_changed=sum(1 for p in plan.returns if p.return_id in bumped and p.change_count),
        values_changed=values_changed,
        returns_approved=len(to_approve),
        warnings=plan.warnings,
    )


# --- bulk inserts ----------------------------------------------------------------------------

ANSWER_COLUMNS = ("survey_return_id", "item_id", "int_value", "bool_value", "text_value")
EVENT_COLUMNS = ("edition_id", "survey_return_id", "kind", "source", "actor_id", "at", "item_code",
                 "old_value", "new_value", "return_version", "comment")


def audit_value_rows(*, edition_id, return_id, old, new, actor_id, at, return_version) -> list[tuple]:
    """``audit_value_events`` for an import, as EVENT_COLUMNS tuples instead of model instances.

    Building 150,000 AuditEvent instances costs seconds; these rows are the same events
    (tests/reporting/test_import_returns.py pins the equivalence).
    """
    rows = []
    for code in sorted(set(old) | set(new)):
        before, after = old.get(code), new.get(code)
        if before == after and type(before) is type(after):
            continue
        rows.append((
            edition_id, return_id, AuditEvent.Kind.VALUE.value, AuditSource.IMPORT.value, actor_id, at,
            code, value_display(before), value_display(after), return_version, "",
        ))
    return rows


def _insert_rows(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert many rows: PostgreSQL's COPY when available, one prepared INSERT run over every
    row (executemany) elsewhere.

    Not bulk_create: on SQLite it may bind only 999 parameters per statement (90 audit events)
    and prepares every value of every model instance in Python, which took three quarters of
    an import's time there. The rows hold plain values of the columns' types already; only
    datetimes need the backend's own format.
    """
    if not rows:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor
            if hasattr(raw, "copy"):  # psycopg 3
                statement = f'COPY "{model._meta.db_table}" ({", ".join(columns)}) FROM STDIN'
                with raw.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
                return
    quote = connection.ops.quote_name
    datetimes = [
        index for index, column in enumerate(columns)  # get_field knows foreign keys' _id names too
        if model._meta.get_field(column).get_internal_type() == "DateTimeField"
    ]
    if datetimes:
        adapted: dict = {}  # an import stamps every row with the same moment: adapt it once

        def adapt(value):
            if value not in adapted:
                adapted[value] = connection.ops.adapt_datetimefield_value(value)
            return adapted[value]

        for index in datetimes:
            rows = [(*row[:index], adapt(row[index]), *row[index + 1:]) for row in rows]
    statement = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 5000):
            cursor.executemany(statement, chunk)


def _insert(model, objects: list) -> None:
    columns = ANSWER_COLUMNS if model is Answer else EVENT_COLUMNS
    _insert_rows(model, columns, [tuple(getattr(obj, column) for column in columns) for obj in objects])


# --- browser uploads (run by Celery tasks; eager in development) -------------------------------
#
# An upload is a background job (reporting/spreadsheets/jobs.py): the check stores the preview
# or every problem; the import writes the returns and marks the job done in one transaction,
# so a worker killed in the middle leaves the returns as they were and the job to be run again.


def _job_context(job):
    from django.contrib.auth import get_user_model
    from django.utils import translation

    edition = Edition.objects.get(pk=job.parameters["edition_id"])
    institution_id = job.parameters.get("institution_id")
    institution = Institution.objects.get(pk=institution_id) if institution_id else None
    actor = get_user_model().objects.filter(pk=job.owner_id).first()
    return edition, institution, actor, translation.override(job.language or None)


def _problem_dicts(exc: SpreadsheetInvalid) -> list[dict]:
    return [p.as_dict() for p in exc.problems]


def import_job_check(*, job_id) -> None:
    """The dry run of an uploaded file: the job waits for confirmation with the preview, or is
    rejected with every problem."""
    from jobs.models import JobState
    from jobs.services import job_finish, job_progress_callback, job_run
    from reporting.spreadsheets.jobs import CHECK_STEP, job_content

    with job_run(job_id=job_id, step=CHECK_STEP) as job:
        if job is None:
            return
        edition, institution, _actor, language = _job_context(job)
        with language:
            try:
                plan = returns_file_check(
                    edition=edition, content=job_content(job), filename=job.file_label,
                    institution=institution, approve=bool(job.parameters.get("approve")),
                    progress=job_progress_callback(job),
                )
            except SpreadsheetInvalid as exc:
                job_finish(job=job, state=JobState.REJECTED, problems=_problem_dicts(exc))
            else:
                job_finish(job=job, state=JobState.WAITING, result={"plan": plan.as_dict()})


def import_job_run(*, job_id) -> None:
    """Import a previewed upload, rejecting it if any of its returns changed since the preview."""
    from jobs.models import JobState
    from jobs.services import job_finish, job_progress_callback, job_run
    from reporting.spreadsheets.jobs import IMPORT_STEP, job_content

    with job_run(job_id=job_id, step=IMPORT_STEP) as job:
        if job is None:
            return
        plan = (job.result or {}).get("plan")
        if not plan:
            raise ValueError(f"upload {job_id} has no preview to import")
        edition, institution, actor, language = _job_context(job)
        expected = {entry["institution_code"]: entry["version"] for entry in plan["returns"]}
        with language:
            try:
                # The returns and the job's end commit together, or neither does.
                with transaction.atomic():
                    result = returns_import(
                        edition=edition, content=job_content(job), filename=job.file_label, actor=actor,
                        institution=institution, approve=bool(job.parameters.get("approve")),
                        expected_versions=expected, progress=job_progress_callback(job),
                    )
                    job_finish(job=job, state=JobState.DONE, result={"plan": plan, "import": result.as_dict()})
            except SpreadsheetInvalid as exc:
                job_finish(job=job, state=JobState.REJECTED, problems=_problem_dicts(exc))
