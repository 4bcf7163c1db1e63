"""Request and response bodies of the web API (pydantic, through django-ninja): the OpenAPI
schema is generated from these."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.conf import settings
from pydantic import BaseModel, Field

from api.http import CleanStr
from api.models import TokenScope
from institutions.models import Role
from jobs.models import JobState
from reporting.models import (
    Breakdown,
    EditionStatus,
    IndicatorFormat,
    ItemType,
    ReturnStatus,
    RuleSeverity,
)


def choices_of(choices) -> object:
    """A Literal of a model's choices: the schema lists them, and follows when one is added."""
    return Literal[tuple(choices.values)]


EditionStatusName = choices_of(EditionStatus)
ReturnStatusName = choices_of(ReturnStatus)
BreakdownName = choices_of(Breakdown)
IndicatorFormatName = choices_of(IndicatorFormat)


class Schema(BaseModel):
    """Bodies are built from dicts, so plain pydantic models: ninja's Schema reads attributes
    through a getter per field, which made a page of figures several times slower."""


# A typed answer: yes/no, a whole number, a choice code or text. bool first: pydantic keeps
# JSON true as a bool, not the integer 1.
AnswerValue = bool | int | str
# What a push may send for an item: parsed as the spreadsheet import parses a cell
# ("1,200", "是", a choice's label...); null clears the item.
SentValue = bool | int | float | CleanStr | None


# --- errors ------------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str | list[dict[str, Any]] = Field(description="What went wrong, for a person (a list for malformed requests)")
    code: str | None = Field(None, description="A stable code for programs, e.g. read_only_token, rate_limited")
    retry_after: int | None = Field(None, description="Seconds to wait (429)")


class ProblemOut(Schema):
    institution: str | None = Field(description="The institution code of the return concerned")
    item: str | None = Field(description="The item code concerned, if any")
    rule: str = Field(description="The questionnaire rule's code, or: value, unknown_item, unknown_institution, "
                      "inactive_institution, duplicate_institution, not_editable, version_required, no_return, "
                      "applies_if, completeness")
    message: str
    severity: choices_of(RuleSeverity) = "error"


class ChangeByOthersOut(Schema):
    kind: str = Field(description="value or status")
    item: str = Field(description="The item code for a value change")
    old: str
    new: str
    actor: str
    at: dt.datetime


class ConflictOut(Schema):
    institution: str
    return_id: int
    expected_version: int = Field(description="The version the request named")
    current_version: int
    changes: list[ChangeByOthersOut] = Field(description="Every change saved since the expected version")


class RefusedOut(Schema):
    """409 (a stale version) or 422 (problems): nothing was written."""

    detail: str | list[dict[str, Any]]
    code: str | None = None
    dry_run: bool | None = None
    problems: list[ProblemOut] = []
    conflicts: list[ConflictOut] = []


# --- who am I ----------------------------------------------------------------------------------


class TokenOut(Schema):
    name: str
    prefix: str
    scope: choices_of(TokenScope)
    expires_at: dt.datetime


class MeOut(Schema):
    username: str
    role: choices_of(Role) | None
    institution: str | None = Field(description="A reporter's institution code")
    province: str | None = Field(description="A liaison's province code")
    token: TokenOut


# --- editions ----------------------------------------------------------------------------------


class PublicationBriefOut(Schema):
    revision: int
    published_at: dt.datetime
    note: str


class EditionOut(Schema):
    year: int
    data_year: int
    title_en: str
    title_zh: str
    status: EditionStatusName
    opens_on: dt.date | None
    closes_on: dt.date | None
    previous: int | None = Field(description="The previous edition's year (growth figures compare with it)")
    definition_version: str
    publications: list[PublicationBriefOut]


class EditionList(Schema):
    items: list[EditionOut]
    next: str | None = Field(description="URL of the next page; null on the last page")


class ChoiceOut(Schema):
    code: str
    label_en: str
    label_zh: str


class SectionOut(Schema):
    code: str
    position: int
    title_en: str
    title_zh: str
    items: list[str]


class GroupOut(Schema):
    code: str
    label_en: str
    label_zh: str
    items: list[str]


class ItemOut(Schema):
    code: str
    section: str
    position: int
    type: choices_of(ItemType)
    choices: list[ChoiceOut]
    unit_en: str
    unit_zh: str
    applies_if: str | None = Field(description="The yes/no item that must be yes for this one to be asked")
    part_of: str | None = Field(description="The group (e.g. staff) whose total this item is part of")
    label_en: str
    label_zh: str


class RuleOut(Schema):
    code: str
    severity: choices_of(RuleSeverity)
    kind: str
    when: str
    condition: str
    fields: list[str]
    message_en: str
    message_zh: str


class QuestionnaireOut(Schema):
    edition: int
    definition_version: str
    sections: list[SectionOut]
    groups: list[GroupOut]
    items: list[ItemOut]
    rules: list[RuleOut]


class IndicatorOut(Schema):
    key: str
    position: int
    section: str
    format: IndicatorFormatName
    definition: str
    label_en: str
    label_zh: str


class IndicatorList(Schema):
    items: list[IndicatorOut]
    next: str | None


class FigureOut(Schema):
    group_by: BreakdownName
    group: str = Field(description="national, a province code, or an ownership / hospital level code")
    key: str = Field(description="The indicator's key")
    value: str | None = Field(description="Unrounded decimal as text, exactly as the CSV export writes it; "
                              "null where a percentage's denominator is 0")


class FiguresOut(Schema):
    edition: int
    source: Literal["live", "publication"]
    revision: int | None = Field(description="The published revision, when source is publication")
    as_of: dt.datetime | None = Field(description="When the revision was published, or the live figures last changed")
    items: list[FigureOut]
    next: str | None = Field(description="Always null: an edition's figures come whole")


class ErratumOut(Schema):
    group_by: str
    group: str
    key: str
    old: str | None
    new: str | None


class PublicationOut(Schema):
    revision: int
    published_at: dt.datetime
    published_by: str | None
    note: str
    returns: int = Field(description="How many approved returns the revision counts")
    figures: int
    errata: list[ErratumOut] = Field(description="Figures that changed from the revision before")


class PublicationList(Schema):
    items: list[PublicationOut]
    next: str | None


# --- institutions and returns -----------------------------------------------------------------


class InstitutionOut(Schema):
    code: str
    name: str
    name_en: str
    province: str
    city: str
    ownership: str
    hospital_level: str
    active: bool


class InstitutionList(Schema):
    items: list[InstitutionOut]
    next: str | None




class ReturnOut(Schema):
    id: int
    edition: int
    institution: str
    institution_name: str
    province: str
    status: ReturnStatusName
    version: int = Field(description="Send it back with a write: a return saved since gets 409")
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None
    reviewed_at: dt.datetime | None
    approved_at: dt.datetime | None
    answers: dict[str, AnswerValue] | None = Field(
        None, description="Item code to value; unanswered items are absent (null when answers=false)")


class ReturnList(Schema):
    items: list[ReturnOut]
    next: str | None = Field(description="URL of the next page; null on the last page")


# --- writes -------------------------------------------------------------------------------------


class PushReturnIn(Schema):
    institution: CleanStr = Field(min_length=1, max_length=32, description="The institution's code")
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="The version read; omit it only to start a new return")
    values: dict[CleanStr, SentValue] = Field(
        description="Item code to value. Items not named are left as they are; null clears an item")


class PushIn(Schema):
    dry_run: bool = Field(False, description="Check and report what would change; write nothing")
    returns: list[PushReturnIn] = Field(min_length=1, max_length=settings.API_PUSH_MAX_RETURNS)


class ChangeOut(Schema):
    item: str
    old: AnswerValue | None
    new: AnswerValue | None


class PushedReturnOut(Schema):
    institution: str
    return_id: int | None = Field(description="null in a dry run that would start the return")
    created: bool
    version: int | None = Field(description="The version before the push")
    new_version: int = Field(description="The version after it (a dry run: what it would be)")
    changes: list[ChangeOut]
    not_applicable: list[str] = Field(description="Items cleared because they no longer apply")
    warnings: list[ProblemOut]


class PushOut(Schema):
    dry_run: bool
    written: bool
    returns: list[PushedReturnOut]


class SubmitIn(Schema):
    version: int = Field(ge=1, le=2**31 - 1)
    explanations: dict[CleanStr, CleanStr] = Field({}, description="Rule code of a warning to its explanation")


class ReviewIn(Schema):
    version: int = Field(ge=1, le=2**31 - 1)
    comment: CleanStr = ""


class SendBackIn(Schema):
    version: int = Field(ge=1, le=2**31 - 1)
    comment: CleanStr = Field(min_length=1, description="Why the return is sent back; the reporter reads it")
    item_comments: dict[CleanStr, CleanStr] = Field({}, description="Item code to a comment on that item")


# --- exports prepared in the background ----------------------------------------------------------

ExportKindName = Literal["returns", "audit"]
ExportFormatName = Literal["csv", "xlsx"]


class ReturnsExportIn(Schema):
    format: ExportFormatName = Field("csv", description="csv (UTF-8 with a byte-order mark) or xlsx")
    statuses: list[ReturnStatusName] = Field(
        [], max_length=len(ReturnStatus.values),
        description="Only returns in these statuses (e.g. [\"approved\"]); empty: every return of the edition")


class ExportJobOut(Schema):
    id: uuid.UUID
    kind: ExportKindName = Field(description="returns: one row per return with its answers; audit: the audit trail")
    edition: int | None = Field(description="The survey year; null for an audit export of every event")
    format: ExportFormatName
    statuses: list[ReturnStatusName] | None = Field(description="The statuses a returns export keeps (null: all)")
    state: choices_of(JobState) = Field(description="queued, running, then done or failed")
    phase: str = Field(description="What the running job is doing (rows, events)")
    done: int = Field(description="Rows written so far")
    total: int = Field(description="Rows to write (0 until the job has counted them)")
    percent: int = Field(ge=0, le=100)
    rows: int | None = Field(description="Returns (or audit events) in the finished file; null until done")
    file_name: str
    file_size: int | None = Field(description="Bytes, once done")
    content_type: str | None = Field(description="The file's media type, once done")
    owner: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    expires_at: dt.datetime = Field(description="The job and its file are removed after this time (404 then)")
    url: str = Field(description="This job: poll it until state is done or failed")
    file_url: str | None = Field(description="The file, once done; null before")


class ExportJobList(Schema):
    items: list[ExportJobOut]
    next: str | None = Field(description="URL of the next page; null on the last page")
