"""Recording who changed what. Every write path (web form, import, admin) goes through here."""

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
