"""Writes of the analysis app: a reviewer's mark on a flagged value, audited."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from analysis.definitions import edition_outlier_ratios
from analysis.models import OutlierMark, OutlierMarkStatus
from reporting.models import AuditEvent, AuditSource, SurveyReturn


class OutlierMarkRefused(ValueError):
    pass


@transaction.atomic
def outlier_mark(*, survey_return: SurveyReturn, key: str, status: str, note: str, actor,
                 source: str = AuditSource.WEB) -> OutlierMark:
    """Mark one ratio of a return "follow up" or "explained" with a note (replacing an earlier
    mark) and write the change to the audit trail. The caller checks that `actor` reviews the
    return. A mark never blocks submission or approval."""
    if status not in OutlierMarkStatus.values:
        raise OutlierMarkRefused(f"status: must be one of {', '.join(OutlierMarkStatus.values)}")
    if key not in {ratio.key for ratio in edition_outlier_ratios(survey_return.edition)}:
        raise OutlierMarkRefused(f"key: '{key}' is not a ratio of this edition's outliers.csv")
    note = note.strip()
    if status == OutlierMarkStatus.FOLLOW_UP and not note:
        raise OutlierMarkRefused("note: a follow-up needs the question for the reporter")
    mark = OutlierMark.objects.select_for_update().filter(survey_return=survey_return, key=key).first()
    old = f"{mark.status}: {mark.note}" if mark else ""
    if mark is None:
        mark = OutlierMark(survey_return=survey_return, key=key)
    mark.status, mark.note, mark.marked_by, mark.marked_at = status, note, actor, timezone.now()
    mark.save()
    AuditEvent.objects.create(
        edition_id=survey_return.edition_id, survey_return=survey_return, kind=AuditEvent.Kind.OUTLIER,
        source=source, actor=actor, item_code=key, old_value=old, new_value=f"{status}: {note}",
        return_version=survey_return.version,
    )
    return mark
