"""Recording who changed what. Every write path (web form, import, admin, command, task) goes through here."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models

from reporting.models import AuditEvent, AuditSource, SurveyReturn
from reporting.values import Value, value_display


def audit_value_events(
    *,
    survey_return: SurveyReturn,
    old: dict[str, Value],
    new: dict[str, Value],
    actor,
    source: str = AuditSource.WEB,
    return_version: int | None = None,
    comment: str = "",
) -> list[AuditEvent]:
    """Unsaved events, one per item whose value differs between `old` and `new`.

    Callers bulk-create them in the transaction that writes the values.
    """
    events = []
    for code in sorted(set(old) | set(new)):
        before, after = old.get(code), new.get(code)
        if before == after and type(before) is type(after):
            continue
        events.append(
            AuditEvent(
                edition_id=survey_return.edition_id,
                survey_return=survey_return,
                kind=AuditEvent.Kind.VALUE,
                source=source,
                actor=actor,
                item_code=code,
                old_value=value_display(before),
                new_value=value_display(after),
                return_version=return_version,
                comment=comment,
            )
        )
    return events


def audit_status_event(
    *,
    survey_return: SurveyReturn,
    old_status: str,
    new_status: str,
    actor,
    source: str = AuditSource.WEB,
    comment: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        edition_id=survey_return.edition_id,
        survey_return=survey_return,
        kind=AuditEvent.Kind.STATUS,
        source=source,
        actor=actor,
        old_value=old_status,
        new_value=new_status,
        return_version=survey_return.version,
        comment=comment,
    )


def audit_field_display(value) -> str:
    """A field's value as the trail stores it: related rows by primary key (a province by its
    code), booleans as yes/no, dates in ISO form, nothing as ''."""
    if isinstance(value, models.Model):
        value = value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value_display(value)


def audit_field_state(obj: models.Model, fields: list[str]) -> dict[str, str]:
    """{field: displayed value} of `obj`, foreign keys read from their id (no query)."""
    state = {}
    for name in fields:
        field = obj._meta.get_field(name)
        value = getattr(obj, field.attname)
        state[name] = audit_field_display(value)
    return state


def audit_subject(subject: models.Model, *, label: str | None = None) -> dict:
    """The AuditEvent fields that name `subject`: its type, key and a readable label."""
    return {
        "subject_type": ContentType.objects.get_for_model(subject, for_concrete_model=False),
        "subject_id": str(subject.pk),
        "subject_label": (label if label is not None else str(subject))[:255],
    }


def audit_change_events(
    *,
    kind: str,
    subject: models.Model,
    old: dict[str, str],
    new: dict[str, str],
    actor,
    source: str,
    institution=None,
    edition=None,
    label: str | None = None,
    comment: str = "",
) -> list[AuditEvent]:
    """Unsaved events, one per field whose displayed value differs between `old` and `new`,
    naming `subject` (its type, key and label). `old` is empty for a new object, `new` for a
    deleted one. Callers bulk-create them in the transaction that makes the change."""
    names = audit_subject(subject, label=label)
    events = []
    for field in [*new, *(name for name in old if name not in new)]:  # in the callers' field order
        before, after = old.get(field, ""), new.get(field, "")
        if before == after:
            continue
        events.append(
            AuditEvent(
                edition=edition,
                institution=institution,
                **names,
                kind=kind,
                source=source,
                actor=actor,
                item_code=field,
                old_value=before,
                new_value=after,
                comment=comment,
            )
        )
    return events
