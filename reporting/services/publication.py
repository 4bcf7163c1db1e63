"""Publishing an edition: freezing its figures as a numbered revision.

A revision holds a copy of every figure (national and breakdowns) and the list of return
versions it was computed from, so a published number can always be traced and never
changes silently: a correction is a new revision, and the report lists what changed.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_noop

from institutions.selectors import user_is_society_admin
from reporting.models import (
    AuditEvent,
    AuditSource,
    Edition,
    EditionStatus,
    FigureValue,
    Publication,
    PublishedValue,
    ReturnStatus,
    SurveyReturn,
)
from reporting.services.aggregation import edition_figures_compute


class PublicationRefused(Exception):
    """The edition cannot be published. The message (English, marked for translation) says
    why; views show it translated."""


@transaction.atomic
def edition_publish(*, edition: Edition, actor, note: str = "") -> Publication:
    """Recompute the edition's figures from its approved returns and freeze them as the
    next revision. Revision 1 also marks the edition published."""
    if not user_is_society_admin(actor):
        raise PublicationRefused(gettext_noop("Only a society admin can publish an edition."))
    edition = Edition.objects.select_for_update().get(pk=edition.pk)
    note = (note or "").strip()
    revision = (Publication.objects.filter(edition=edition).aggregate(n=Max("revision"))["n"] or 0) + 1
    if revision > 1 and not note:
        raise PublicationRefused(gettext_noop("A correction needs a note saying what was corrected and why."))
    edition_figures_compute(edition_id=edition.pk)
    figures = list(FigureValue.objects.filter(edition=edition).values_list("breakdown", "group", "key", "value"))
    if not figures:
        raise PublicationRefused(gettext_noop("The edition has no approved returns, so there are no figures to publish."))
    return_versions = [
        [pk, version]
        for pk, version in SurveyReturn.objects.filter(edition=edition, status=ReturnStatus.APPROVED)
        .order_by("pk")
        .values_list("pk", "version")
    ]
    publication = Publication.objects.create(
        edition=edition, revision=revision, published_by=actor, note=note, return_versions=return_versions,
    )
    PublishedValue.objects.bulk_create(
        [
            PublishedValue(publication=publication, breakdown=b, group=g, key=k, value=v)
            for b, g, k, v in figures
        ],
        batch_size=2000,
    )
    old_status = edition.status
    if old_status != EditionStatus.PUBLISHED:
        edition.status = EditionStatus.PUBLISHED
        edition.save(update_fields=["status", "updated_at"])
    AuditEvent.objects.create(
        edition=edition, kind=AuditEvent.Kind.EDITION, source=AuditSource.WEB, actor=actor,
        old_value=old_status, new_value=f"published revision {revision}",
        comment=note or f"{len(return_versions)} approved returns",
    )
    return publication
