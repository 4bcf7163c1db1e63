"""Opening and closing an edition for data entry, and its dates (society admins)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from institutions.selectors import user_is_society_admin
from reporting.models import AuditEvent, AuditSource, Edition, EditionStatus
from reporting.services.audit import audit_subject

# What an edition's page and its admin page may change; the rest comes from its definition files.
EDITION_SCHEDULE_FIELDS = ("status", "opens_on", "closes_on")


class EditionActionRefused(Exception):
    pass


def _edition_state(edition: Edition) -> str:
    return f"{edition.status} {edition.opens_on or ''}..{edition.closes_on or ''}"


def _edition_change(
    *, edition: Edition, actor, status: str, opens_on, closes_on, comment: str, source: str
) -> Edition:
    if not user_is_society_admin(actor):
        raise EditionActionRefused(_("Only a society admin can open or close an edition."))
    if opens_on and closes_on and closes_on < opens_on:
        raise ValueError(_("The closing date must not be before the opening date."))
    # The stored row, not the caller's copy: an admin form has already changed its instance.
    current = Edition.objects.select_for_update().get(pk=edition.pk)
    old = _edition_state(current)
    current.status, current.opens_on, current.closes_on = status, opens_on, closes_on
    new = _edition_state(current)
    if new != old:
        current.save(update_fields=["status", "opens_on", "closes_on", "updated_at"])
        AuditEvent.objects.create(
            edition=current,
            **audit_subject(current),
            kind=AuditEvent.Kind.EDITION,
            source=source,
            actor=actor,
            old_value=old,
            new_value=new,
            comment=comment,
        )
    for name in (*EDITION_SCHEDULE_FIELDS, "updated_at"):
        setattr(edition, name, getattr(current, name))
    return edition


@transaction.atomic
def edition_open(
    *, edition: Edition, actor, opens_on: dt.date | None = None, closes_on: dt.date | None = None,
    comment: str = "", source: str = AuditSource.WEB,
) -> Edition:
    """Open the edition for entry between `opens_on` and `closes_on` (kept when not given)."""
    return _edition_change(
        edition=edition, actor=actor, status=EditionStatus.OPEN,
        opens_on=opens_on if opens_on is not None else edition.opens_on,
        closes_on=closes_on if closes_on is not None else edition.closes_on,
        comment=comment, source=source,
    )


@transaction.atomic
def edition_close(*, edition: Edition, actor, comment: str = "", source: str = AuditSource.WEB) -> Edition:
    """Close entry (institutions with an extension may still enter until it ends)."""
    return _edition_change(
        edition=edition, actor=actor, status=EditionStatus.CLOSED,
        opens_on=edition.opens_on, closes_on=edition.closes_on, comment=comment, source=source,
    )


@transaction.atomic
def edition_schedule_update(
    *, edition: Edition, actor, changes: dict, source: str = AuditSource.ADMIN, comment: str = ""
) -> Edition:
    """Change an edition's status and entry dates; only the fields in `changes` change.

    Publishing is not a status change: the report page's publication freezes the figures.
    """
    unknown = set(changes) - set(EDITION_SCHEDULE_FIELDS)
    if unknown:
        raise ValueError(f"not an edition schedule field: {', '.join(sorted(unknown))}")
    current = Edition.objects.get(pk=edition.pk)
    status = changes.get("status", current.status)
    if status == EditionStatus.PUBLISHED and current.status != EditionStatus.PUBLISHED:
        raise EditionActionRefused(_("An edition is published from its report page, which freezes its figures."))
    return _edition_change(
        edition=edition, actor=actor, status=status,
        opens_on=changes.get("opens_on", current.opens_on),
        closes_on=changes.get("closes_on", current.closes_on),
        comment=comment, source=source,
    )
