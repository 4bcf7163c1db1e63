"""Opening and closing an edition for data entry (society admins)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from institutions.selectors import user_is_society_admin
from reporting.models import AuditEvent, AuditSource, Edition, EditionStatus


class EditionActionRefused(Exception):
    pass


def _edition_change(*, edition: Edition, actor, status: str, opens_on, closes_on, comment: str) -> Edition:
    if not user_is_society_admin(actor):
        raise EditionActionRefused(_("Only a society admin can open or close an edition."))
    if opens_on and closes_on and closes_on < opens_on:
        raise ValueError(_("The closing date must not be before the opening date."))
    old = f"{edition.status} {edition.opens_on or ''}..{edition.closes_on or ''}"
    edition.status = status
    edition.opens_on = opens_on
    edition.closes_on = closes_on
    edition.save(update_fields=["status", "opens_on", "closes_on", "updated_at"])
    AuditEvent.objects.create(
        edition=edition,
        kind=AuditEvent.Kind.EDITION,
        source=AuditSource.WEB,
        actor=actor,
        old_value=old,
        new_value=f"{status} {opens_on or ''}..{closes_on or ''}",
        comment=comment,
    )
    return edition


@transaction.atomic
def edition_open(
    *, edition: Edition, actor, opens_on: dt.date | None = None, closes_on: dt.date | None = None, comment: str = ""
) -> Edition:
    """Open the edition for entry between `opens_on` and `closes_on` (kept when not given)."""
    return _edition_change(
        edition=edition, actor=actor, status=EditionStatus.OPEN,
        opens_on=opens_on if opens_on is not None else edition.opens_on,
        closes_on=closes_on if closes_on is not None else edition.closes_on,
        comment=comment,
    )


@transaction.atomic
def edition_close(*, edition: Edition, actor, comment: str = "") -> Edition:
    """Close entry (institutions with an extension may still enter until it ends)."""
    return _edition_change(
        edition=edition, actor=actor, status=EditionStatus.CLOSED,
        opens_on=edition.opens_on, closes_on=edition.closes_on, comment=comment,
    )
