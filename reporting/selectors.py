"""Reads of returns, scoped by who is asking, and which edition a page is about."""

import datetime as dt

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from institutions.selectors import institution_visibility_q
from reporting.models import Edition, EditionStatus, Indicator, Item, SurveyReturn


def return_list_visible_to(*, user, edition: Edition | None = None) -> QuerySet[SurveyReturn]:
    """The returns `user` may see: those of the institutions they may see."""
    # The condition on the return's own columns where it can be (a reporter's institution_id),
    # not a subquery: this is read on every page of a return.
    visible = institution_visibility_q(user=user, path="institution__")
    returns = SurveyReturn.objects.select_related("edition", "institution", "institution__province")
    returns = returns.none() if visible is None else returns.filter(visible)
    if edition is not None:
        returns = returns.filter(edition=edition)
    return returns


def edition_entry_open_q(today: dt.date) -> Q:
    """Editions open for entry on `today` (the database form of ``Edition.entry_open_on``)."""
    return (
        Q(status=EditionStatus.OPEN)
        & (Q(opens_on__isnull=True) | Q(opens_on__lte=today))
        & (Q(closes_on__isnull=True) | Q(closes_on__gte=today))
    )


def edition_current(*, today: dt.date | None = None) -> Edition | None:
    """The edition people work on now (home page, returns list, completeness, reminders).

    Of the editions with a questionnaire: the newest open for entry today; else the newest
    that has been opened at some point (open, closed or published), not one still in
    preparation; else the newest. So while a new edition is prepared the last one stays
    current, and once it opens it takes over.
    """
    today = today or timezone.localdate()
    return (
        Edition.objects.filter(Exists(Item.objects.filter(edition=OuterRef("pk"))))
        .annotate(current_rank=Case(
            When(edition_entry_open_q(today), then=Value(0)),
            When(~Q(status=EditionStatus.DRAFT), then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ))
        .order_by("current_rank", "-year")
        .first()
    )


def edition_for_report(*, today: dt.date | None = None) -> Edition | None:
    """The edition the report menu opens: the newest with a report definition whose data
    collection is over (published, closed, or past its closing date); else the newest with
    one. An edition still collecting returns has partial figures; its report stays at its
    own address."""
    today = today or timezone.localdate()
    finished = Q(status__in=[EditionStatus.PUBLISHED, EditionStatus.CLOSED]) | Q(closes_on__lt=today)
    return (
        Edition.objects.filter(Exists(Indicator.objects.filter(edition=OuterRef("pk"))))
        .annotate(report_rank=Case(When(finished, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("report_rank", "-year")
        .first()
    )
