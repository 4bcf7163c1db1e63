"""Writing the national demo dataset (see ``reporting.demo.generator``) into the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from institutions.models import Institution
from reporting.demo.generator import CODE_PREFIX, SEED, demo_dataset
from reporting.models import (
    Answer,
    AuditEvent,
    AuditSource,
    Edition,
    Item,
    ItemType,
    ReturnStatus,
    SurveyReturn,
)

DEMO_EDITION_YEAR = 2024
# Fixed, so that loading twice gives the same rows.
APPROVED_AT = dt.datetime(2024, 2, 20, 4, 0, tzinfo=dt.UTC)
SUBMITTED_AT = dt.datetime(2024, 1, 31, 4, 0, tzinfo=dt.UTC)


@dataclass
class DemoLoadResult:
    institutions_created: int
    institutions_updated: int
    returns_created: int
    returns_rewritten: int
    answers_written: int


def _answer_rows(items: dict[str, Item], answers: dict) -> dict[int, tuple]:
    """{item id: (int, bool, text)} for the answers that apply (applies_if pruned)."""
    rows = {}
    for code, value in answers.items():
        item = items[code]
        parent = item.applies_if
        if parent is not None and answers.get(parent.code) is not True:
            continue  # not asked: the rules want it empty
        if value is None:
            continue
        rows[item.pk] = (
            value if item.type == ItemType.INTEGER else None,
            value if item.type == ItemType.BOOLEAN else None,
            value if item.type in (ItemType.CHOICE, ItemType.TEXT) else None,
        )
    return rows


@transaction.atomic
def demo_dataset_load(*, actor=None, seed: int = SEED, dataset: list | None = None) -> DemoLoadResult:
    """Create or bring up to date the demo institutions and their approved 2024 returns.

    Idempotent: rows already as generated are left alone; only differences are written.
    Creates no user accounts.
    """
    edition = Edition.objects.get(year=DEMO_EDITION_YEAR)
    items = {i.code: i for i in Item.objects.filter(edition=edition).select_related("applies_if")}
    dataset = dataset if dataset is not None else demo_dataset(seed)

    existing = {i.code: i for i in Institution.objects.filter(code__startswith=CODE_PREFIX)}
    to_create, to_update = [], []
    fields = ["name", "name_en", "province_id", "city", "ownership", "hospital_level", "contact_email",
              "is_synthetic", "active"]
    for demo in dataset:
        wanted = {
            "name": demo.name, "name_en": f"Synthetic demo hospital {demo.code}", "province_id": demo.province,
            "city": demo.city, "ownership": demo.ownership, "hospital_level": demo.hospital_level,
            # A reserved domain (RFC 2606): reminders to the demo go nowhere but the console.
            "contact_email": f"{demo.code.lower()}@demo.invalid",
            "is_synthetic": True, "active": True,
        }
        institution = existing.get(demo.code)
        if institution is None:
            to_create.append(Institution(code=demo.code, **wanted))
        elif any(getattr(institution, k) != v for k, v in wanted.items()):
            for key, value in wanted.items():
                setattr(institution, key, value)
            to_update.append(institution)
    Institution.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        Institution.objects.bulk_update(to_update, fields, batch_size=500)
    institution_ids = dict(
        Institution.objects.filter(code__in=[d.code for d in dataset]).values_list("code", "pk")
    )

    returns = {
        r.institution_id: r
        for r in SurveyReturn.objects.filter(edition=edition, institution_id__in=institution_ids.values())
    }
    new_returns = [
        SurveyReturn(
            edition=edition, institution_id=institution_ids[d.code], status=ReturnStatus.APPROVED,
            submitted_at=SUBMITTED_AT, reviewed_at=APPROVED_AT, approved_at=APPROVED_AT, updated_by=actor,
        )
        for d in dataset if institution_ids[d.code] not in returns
    ]
    SurveyReturn.objects.bulk_create(new_returns, batch_size=500)
    created_ids = {r.institution_id for r in new_returns}
    returns = {
        r.institution_id: r
        for r in SurveyReturn.objects.filter(edition=edition, institution_id__in=institution_ids.values())
    }

    # Compare what is stored with what the generator wants, return by return.
    stored: dict[int, dict[int, tuple]] = {}
    for return_id, item_id, int_value, bool_value, text_value in Answer.objects.filter(
        survey_return__in=returns.values()
    ).values_list("survey_return_id", "item_id", "int_value", "bool_value", "text_value"):
        stored.setdefault(return_id, {})[item_id] = (int_value, bool_value, text_value)
    by_pk = {r.pk: r for r in returns.values()}
    rewrite, answers, not_approved = [], [], []
    for demo in dataset:
        survey_return = returns[institution_ids[demo.code]]
        wanted = _answer_rows(items, demo.answers)
        if stored.get(survey_return.pk, {}) != wanted:
            rewrite.append(survey_return.pk)
            answers += [
                Answer(survey_return_id=survey_return.pk, item_id=item_id, int_value=i, bool_value=b, text_value=t)
                for item_id, (i, b, t) in wanted.items()
            ]
        if survey_return.status != ReturnStatus.APPROVED:
            not_approved.append(survey_return)
    if rewrite:
        Answer.objects.filter(survey_return_id__in=rewrite).delete()
        Answer.objects.bulk_create(answers, batch_size=5000)
        if changed := [pk for pk in rewrite if by_pk[pk].institution_id not in created_ids]:
            SurveyReturn.objects.filter(pk__in=changed).update(version=F("version") + 1)
    events = [
        AuditEvent(
            edition=edition, survey_return=r, kind=AuditEvent.Kind.STATUS, source=AuditSource.DEMO,
            actor=actor, old_value="", new_value=ReturnStatus.APPROVED, return_version=1,
            comment="demo dataset (load_demo)",
        )
        for r in returns.values() if r.institution_id in created_ids
    ]
    for survey_return in not_approved:
        events.append(AuditEvent(
            edition=edition, survey_return=survey_return, kind=AuditEvent.Kind.STATUS,
            source=AuditSource.DEMO, actor=actor, old_value=survey_return.status,
            new_value=ReturnStatus.APPROVED, return_version=survey_return.version,
            comment="demo dataset (load_demo)",
        ))
    if not_approved:
        SurveyReturn.objects.filter(pk__in=[r.pk for r in not_approved]).update(
            status=ReturnStatus.APPROVED, approved_at=APPROVED_AT
        )
    AuditEvent.objects.bulk_create(events, batch_size=1000)
    return DemoLoadResult(
        institutions_created=len(to_create),
        institutions_updated=len(to_update),
        returns_created=len(new_returns),
        returns_rewritten=len([pk for pk in rewrite if by_pk[pk].institution_id not in created_ids]),
        answers_written=len(answers),
    )

