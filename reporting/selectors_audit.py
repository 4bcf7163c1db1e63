"""The audit trail as export rows: one reader for the CSV download and the export job."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone

from reporting.formula_safety import row_neutralise
from reporting.models import AuditEvent, Edition

AUDIT_COLUMNS = [
    "at", "edition", "institution_code", "institution", "kind", "source", "actor",
    "item_code", "old_value", "new_value", "return_version", "comment",
    "subject_type", "subject_id", "subject",
]


def audit_events_for_export(*, edition: Edition | None = None):
    """Every event (one edition's when given: registry and account events belong to none), in
    the order they happened, with what the rows name read in the same query."""
    events = AuditEvent.objects.select_related(
        "edition", "survey_return__institution", "institution", "subject_type", "actor"
    ).order_by("at", "id")
    if edition is not None:
        events = events.filter(edition=edition)
    return events


def audit_export_rows(*, edition: Edition | None = None, chunk_size: int = 2000) -> Iterator[list]:
    """The header, then one row per event, read `chunk_size` events at a time (memory stays
    bounded however long the trail). Text cells are neutralised against formula injection."""
    yield AUDIT_COLUMNS
    for event in audit_events_for_export(edition=edition).iterator(chunk_size=chunk_size):
        institution = event.survey_return.institution if event.survey_return_id else event.institution
        subject_type = event.subject_type
        yield row_neutralise([
            timezone.localtime(event.at).isoformat(timespec="seconds"),
            event.edition.year if event.edition_id else "",
            institution.code if institution else "",
            institution.name if institution else "",
            event.kind,
            event.source,
            event.actor.username if event.actor else "",
            event.item_code,
            event.old_value,
            event.new_value,
            event.return_version if event.return_version is not None else "",
            event.comment,
            f"{subject_type.app_label}.{subject_type.model}" if subject_type else "",
            event.subject_id,
            event.subject_label,
        ])
