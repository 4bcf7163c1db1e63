"""Reminder e-mails to institutions that have not submitted their return."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mass_mail
from django.utils import translation
from django.utils.translation import gettext as _

from institutions.models import Institution
from reporting.models import AuditEvent, AuditSource, Edition, ReturnStatus, SurveyReturn
from reporting.selectors_entry import reminder_recipients
from reporting.services.audit import audit_subject
from reporting.tasks.queueing import Enqueueing, task_enqueue_on_commit

logger = logging.getLogger(__name__)
SUBMITTED_OR_LATER = (ReturnStatus.SUBMITTED, ReturnStatus.REVIEWED, ReturnStatus.APPROVED)


def reminders_schedule(*, edition: Edition, institution_ids: list[int], actor,
                       source: str = AuditSource.WEB) -> Enqueueing:
    """Queue the reminder task once the current transaction commits (at once outside one).

    A broker that cannot take it (down, not answering) is logged and said in the outcome
    (`taken` False), so the page can tell the user that nothing was sent; nothing is in the
    audit trail either, since a reminder is recorded only once its mail has gone.
    """
    from reporting.tasks.reminders import reminders_send_task

    ids = sorted(set(institution_ids))
    actor_id = actor.pk if actor else None
    return task_enqueue_on_commit(
        reminders_send_task, (edition.pk, ids, actor_id, source),
        if_lost=f"No reminder was sent to these {len(ids)} institution(s); whoever asked was told to try again.",
    )


def reminders_send(*, edition: Edition, institution_ids: list[int], actor=None, source: str | None = None) -> int:
    """E-mail every listed institution that still has not submitted; returns how many were sent.

    Each institution reminded is an audit event (its recipients, who asked for it: a user,
    or nobody when a scheduled task sends it), written once the mail server took the messages.
    """
    submitted = set(
        SurveyReturn.objects.filter(edition=edition, institution_id__in=institution_ids, status__in=SUBMITTED_OR_LATER)
        .values_list("institution_id", flat=True)
    )
    institutions = list(Institution.objects.filter(pk__in=institution_ids, active=True).exclude(pk__in=submitted))
    recipients = reminder_recipients(institutions=institutions)
    messages = []
    reminded = []
    # Hospital staff read Chinese first; the English text follows for anyone who does not.
    for institution in institutions:
        addresses = recipients.get(institution.pk)
        if not addresses:
            continue
        parts = []
        for language in ("zh-hans", "en"):
            with translation.override(language):
                title = edition.title_zh if language == "zh-hans" else edition.title_en
                closes = edition.closes_on.isoformat() if edition.closes_on else _("soon")
                parts.append(
                    _("Dear colleagues of %(institution)s,\n\nYour return for the %(title)s has not been submitted yet. "
                      "Please complete and submit it by %(closes)s.\n\nThank you.")
                    % {"institution": institution.name, "title": title, "closes": closes}
                )
        with translation.override("zh-hans"):
            subject = _("Reminder: please submit your survey return (%(title)s)") % {"title": edition.title_zh}
        messages.append((subject, "\n\n----\n\n".join(parts), settings.DEFAULT_FROM_EMAIL, addresses))
        reminded.append((institution, addresses))
    sent = send_mass_mail(messages, fail_silently=False) if messages else 0
    if reminded:
        _reminders_record(edition=edition, reminded=reminded, actor=actor,
                          source=source or (AuditSource.WEB if actor else AuditSource.SYSTEM))
    logger.info("edition %s: %s reminder(s) sent by %s", edition.year, sent, actor)
    return sent


def _reminders_record(*, edition: Edition, reminded: list, actor, source: str) -> None:
    returns = dict(
        SurveyReturn.objects.filter(edition=edition, institution__in=[i for i, _a in reminded])
        .values_list("institution_id", "pk")
    )
    AuditEvent.objects.bulk_create([
        AuditEvent(
            edition=edition,
            survey_return_id=returns.get(institution.pk),
            institution=institution,
            **audit_subject(institution),
            kind=AuditEvent.Kind.REMINDER,
            source=source,
            actor=actor,
            new_value=", ".join(addresses),
        )
        for institution, addresses in reminded
    ])
