"""The demo's open edition: a survey in progress, so that every role has something to do.

The 2024 edition of the demo is complete (every return approved) and its entry window closed
long ago. On top of it the demo loads a second edition, ``OPEN_EDITION_YEAR``, open today,
with the 2024 questionnaire (read from ``reporting/definitions/2024/`` with the year, titles,
dates and previous edition replaced: there is no definition folder that ``setup_survey``
would load in production) and returns in every state of the workflow:

- the demo reporter's institution (the first demo institution) has a draft, filled except
  the last two sections, with one value that trips the previous-edition change warning;
- in that institution's province (the demo liaison's): returns submitted and waiting for
  review (some with explained previous-change warnings), one sent back with comments,
  reviewed returns waiting for approval, drafts, and institutions that have not started;
- in the other provinces: reviewed, submitted and draft returns, a few sent back, and many
  institutions that have not started, so completeness and reminders show real numbers.

Values are each institution's 2024 values with a modest change (workloads grow a few per
cent, a department hires someone); a few jump by 80 % so that the previous-edition change
rule (``rules.csv``: ``previous_change``) fires on real data. Every write goes through the
return services with the audit source "demo" and no acting user (no account exists yet).

Loading again creates only the returns that are missing: a return that exists, whatever
people did with it since, is left as it is. The entry window moves only when today is
outside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field, replace

from django.db import transaction
from django.utils import timezone

from institutions.models import Institution
from reporting.demo.generator import SEED, DemoInstitution, demo_dataset
from reporting.models import AuditSource, Edition, ReturnStatus, SurveyReturn
from reporting.rules.engine import WARNING, questionnaire_compiled
from reporting.services import returns as return_services
from reporting.services.questionnaire import (
    DEFINITIONS_DIR,
    EditionDefinition,
    definition_read,
    edition_definition_save,
)

BASE_EDITION_YEAR = 2024
OPEN_EDITION_YEAR = 2026
# Marks the edition as the demo's, so the loader never touches a real edition of that year.
DEMO_VERSION_SUFFIX = "+demo"
# The entry window set when the edition is created, or moved when today is outside it.
OPENED_DAYS_AGO = 30
CLOSES_IN_DAYS = 60

# The first demo institution: create_demo_accounts makes the demo reporter its reporter
# and the demo liaison the liaison of its province.
REPORTER_INSTITUTION_CODE = "DEMO0001"
# The sections the demo reporter still has to fill in (the questionnaire's last two).
REPORTER_SECTIONS_LEFT = ("education", "opinions")
# Shares of each province's other institutions per status; the rest have not started.
STATUS_SHARES = {
    ReturnStatus.REVIEWED: 0.08,
    ReturnStatus.SUBMITTED: 0.06,
    ReturnStatus.DRAFT: 0.04,
}
# One return sent back in each of these provinces (the first is the demo liaison's).
SENT_BACK_PROVINCES = ("11", "31", "44")
# Per province, this many submitted returns (and the sent-back one) carry a large change.
SUBMITTED_WITH_LARGE_CHANGE = 2
# Items whose value jumps in a return "with a large change": the first with a 2024 value of
# at least LARGE_CHANGE_MINIMUM (so that +80 % is more than the rule's 20 as well as 50 %).
LARGE_CHANGE_ITEMS = (
    "tx_i131_thyroid", "sp_exam_skeletal", "tx_sr90_y90_applicator", "co_exam_tumor",
    "tx_i131_graves", "sp_exam_endocrine", "staff_physician",
)
LARGE_CHANGE_MINIMUM = 30
LARGE_CHANGE_FACTOR = 1.8
# Workload items (examinations, cases, treatments, in vitro counts) grow a little each year.
WORKLOAD_GROUPS = ("pet_exam", "pmr_exam", "sp_exam", "co_exam", "sa_cases", "tx")
WORKLOAD_ITEMS = ("iv_samples", "iv_tests")

# What the reporters wrote to explain the warnings of their returns (by rule code prefix).
EXPLANATIONS = {
    "change_since_previous": "本年度新增设备并扩大了服务，数量较上一届明显增加，已核实无误。",
    "therapy_performed_vs_offered": "核素治疗在协作科室开展，本科室未单独列为服务项目。",
    "pet_service_without_unit": "PET显像在合作医院的设备上完成。",
    "pet_throughput": "设备全天多班次运行，检查量已核实。",
    "pmr_throughput": "设备全天多班次运行，检查量已核实。",
    "sp_throughput": "设备全天多班次运行，检查量已核实。",
}
EXPLANATION_OTHERWISE = "已与科室核实，数据无误。"
SEND_BACK_COMMENT = "个别数据较上一届变化很大，请核实后重新提交。"
SEND_BACK_ITEM_COMMENT = "较2024年增加约80%，请核实并说明原因。"
REVIEW_COMMENT = "已核对。"


class DemoEditionConflict(Exception):
    """An edition of the demo's year exists and is not the demo's."""


@dataclass
class PlannedReturn:
    code: str
    status: str
    values: dict  # {item code: typed value}: what the return holds
    large_change: str = ""  # the item that jumps, if any
    explanations: dict[str, str] = field(default_factory=dict)


@dataclass
class OpenEditionResult:
    edition: Edition
    edition_changed: bool
    returns_created: int
    returns_planned: int
    by_status: dict[str, int]


def entry_window(*, edition: Edition | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The edition's dates when today is inside them, else a window around today."""
    if edition is not None and edition.opens_on and edition.closes_on and edition.opens_on <= today <= edition.closes_on:
        return edition.opens_on, edition.closes_on
    return today - dt.timedelta(days=OPENED_DAYS_AGO), today + dt.timedelta(days=CLOSES_IN_DAYS)


def open_edition_definition(*, opens_on: dt.date, closes_on: dt.date) -> EditionDefinition:
    """The 2024 questionnaire, rules and indicators as the demo's open edition (no printed figures)."""
    base = definition_read(DEFINITIONS_DIR / str(BASE_EDITION_YEAR))
    meta = {
        **base.meta,
        "year": OPEN_EDITION_YEAR,
        "data_year": OPEN_EDITION_YEAR - 1,
        "version": f"{base.meta['version']}{DEMO_VERSION_SUFFIX}",
        "title_en": f"{OPEN_EDITION_YEAR} National Survey of Nuclear Medicine (demo)",
        "title_zh": f"{OPEN_EDITION_YEAR}年全国核医学现状普查（演示）",
        "opens_on": opens_on,
        "closes_on": closes_on,
        "previous": BASE_EDITION_YEAR,
        "status": "open",
    }
    # The checksum decides whether anything is written: the base files and what replaced them.
    checksum = hashlib.sha256(
        f"{base.checksum}|{sorted((k, str(v)) for k, v in meta.items())}".encode()
    ).hexdigest()
    return replace(base, meta=meta, checksum=checksum, published=[])


def _applicable(values: dict, questionnaire) -> dict:
    """Drop the answers to items that are not asked (their applies_if item is not yes)."""
    return {
        code: value for code, value in values.items()
        if value is not None and questionnaire.applies(code, values)
    }


def _next_year_values(institution: DemoInstitution, *, questionnaire, large_change: bool) -> tuple[dict, str]:
    """The institution's 2024 answers a year on: (values, the item that jumps or "")."""
    rng = random.Random(f"{SEED}:{OPEN_EDITION_YEAR}:{institution.code}")
    items = questionnaire.items
    values = dict(institution.answers)
    growth = 1 + rng.uniform(-0.04, 0.12)
    for code, item in items.items():
        value = values.get(code)
        if not isinstance(value, int) or isinstance(value, bool) or value == 0:
            continue
        if item.part_of in WORKLOAD_GROUPS or code in WORKLOAD_ITEMS:
            values[code] = max(0, round(value * growth * (1 + rng.uniform(-0.03, 0.03))))
    if rng.random() < 0.3:
        # A new physician: the totals by title and by education follow.
        for code in ("staff_physician", "title_junior", "edu_postgraduate"):
            values[code] = values.get(code, 0) + 1
    jumped = ""
    if large_change:
        for code in LARGE_CHANGE_ITEMS:
            if (institution.answers.get(code) or 0) >= LARGE_CHANGE_MINIMUM and questionnaire.applies(code, values):
                jumped = code
                extra = round(institution.answers[code] * LARGE_CHANGE_FACTOR) - values[code]
                values[code] += extra
                if code == "staff_physician":
                    values["title_junior"] = values.get("title_junior", 0) + extra
                    values["edu_undergraduate"] = values.get("edu_undergraduate", 0) + extra
                break
    return _applicable(values, questionnaire), jumped


def open_edition_plan(*, dataset: list[DemoInstitution], questionnaire) -> list[PlannedReturn]:
    """Which institutions have a return in the open edition, in which status, with which values."""
    rng = random.Random(f"{SEED}:{OPEN_EDITION_YEAR}:statuses")
    by_province: dict[str, list[DemoInstitution]] = {}
    for institution in dataset:
        if institution.code != REPORTER_INSTITUTION_CODE:
            by_province.setdefault(institution.province, []).append(institution)
    section_of = {code: item.section_code for code, item in questionnaire.items.items()}
    section_order = [section.code for section in questionnaire.sections]

    plan: list[PlannedReturn] = []
    reporter = next(i for i in dataset if i.code == REPORTER_INSTITUTION_CODE)
    values, jumped = _next_year_values(reporter, questionnaire=questionnaire, large_change=True)
    plan.append(PlannedReturn(
        reporter.code, ReturnStatus.DRAFT,
        {code: value for code, value in values.items() if section_of[code] not in REPORTER_SECTIONS_LEFT},
        large_change=jumped,
    ))
    for province, institutions in by_province.items():
        shuffled = list(institutions)
        rng.shuffle(shuffled)
        statuses: list[str] = []
        if province in SENT_BACK_PROVINCES:
            statuses.append(ReturnStatus.SENT_BACK)
        for status, share in STATUS_SHARES.items():
            statuses += [status] * max(1, round(share * len(institutions)))
        large_changes_left = SUBMITTED_WITH_LARGE_CHANGE
        for institution, status in zip(shuffled, statuses, strict=False):
            large_change = status == ReturnStatus.SENT_BACK or (
                status == ReturnStatus.SUBMITTED and large_changes_left > 0
            )
            if status == ReturnStatus.SUBMITTED and large_change:
                large_changes_left -= 1
            values, jumped = _next_year_values(institution, questionnaire=questionnaire, large_change=large_change)
            if status == ReturnStatus.DRAFT:
                # A draft in progress: the first few sections filled in.
                filled = set(section_order[: rng.randint(2, len(section_order) - 3)])
                values = {code: value for code, value in values.items() if section_of[code] in filled}
                jumped = ""
            plan.append(PlannedReturn(institution.code, status, values, large_change=jumped))
    return plan


def _explanations(survey_return: SurveyReturn) -> dict[str, str]:
    """An explanation for every warning the return raises, as its reporter would write it."""
    findings = return_services.return_check(survey_return, for_submission=True)
    return {
        f.rule_code: EXPLANATIONS.get(f.rule_code.split(":")[0], EXPLANATION_OTHERWISE)
        for f in findings if f.severity == WARNING
    }


def _write(planned: PlannedReturn, *, edition: Edition, institution: Institution) -> SurveyReturn:
    """Take one return through the workflow to its planned status, as its people would."""
    demo = {"actor": None, "source": AuditSource.DEMO}
    survey_return = return_services.return_start(edition=edition, institution=institution, **demo)
    return_services.return_values_save(
        survey_return=survey_return, values=planned.values, expected_version=survey_return.version, **demo
    )
    if planned.status == ReturnStatus.DRAFT:
        return survey_return
    return_services.return_submit(
        survey_return=survey_return, explanations=_explanations(survey_return), **demo
    )
    if planned.status == ReturnStatus.REVIEWED:
        return_services.return_review(survey_return=survey_return, comment=REVIEW_COMMENT, **demo)
    elif planned.status == ReturnStatus.SENT_BACK:
        return_services.return_send_back(
            survey_return=survey_return, comment=SEND_BACK_COMMENT,
            item_comments={planned.large_change: SEND_BACK_ITEM_COMMENT} if planned.large_change else None,
            **demo,
        )
    return survey_return


@transaction.atomic
def open_edition_load(*, dataset: list[DemoInstitution] | None = None, today: dt.date | None = None) -> OpenEditionResult:
    """Create or bring up to date the demo's open edition and create its missing returns.

    Needs the demo institutions and the 2024 edition (``demo_dataset_load``) first.
    """
    today = today or timezone.localdate()
    existing = Edition.objects.filter(year=OPEN_EDITION_YEAR).first()
    if existing is not None and not existing.definition_version.endswith(DEMO_VERSION_SUFFIX):
        raise DemoEditionConflict(
            f"edition {OPEN_EDITION_YEAR} exists and is not the demo's (definition "
            f"{existing.definition_version!r}); the demo's open edition was not loaded"
        )
    opens_on, closes_on = entry_window(edition=existing, today=today)
    edition, changed = edition_definition_save(
        definition=open_edition_definition(opens_on=opens_on, closes_on=closes_on)
    )
    edition = Edition.objects.select_related("previous").get(pk=edition.pk)
    dataset = dataset if dataset is not None else demo_dataset(SEED)
    plan = open_edition_plan(dataset=dataset, questionnaire=questionnaire_compiled(edition))
    institutions = Institution.objects.in_bulk([p.code for p in plan], field_name="code")
    started = set(
        SurveyReturn.objects.filter(edition=edition, institution__code__in=institutions)
        .values_list("institution__code", flat=True)
    )
    created = 0
    for planned in plan:
        if planned.code not in started:
            _write(planned, edition=edition, institution=institutions[planned.code])
            created += 1
    by_status: dict[str, int] = {}
    for planned in plan:
        by_status[planned.status] = by_status.get(planned.status, 0) + 1
    return OpenEditionResult(
        edition=edition, edition_changed=changed, returns_created=created,
        returns_planned=len(plan), by_status=by_status,
    )
