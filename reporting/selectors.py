"""Reads of returns, scoped by who is asking."""

from django.db.models import QuerySet

from institutions.selectors import institution_list_visible_to
from reporting.models import Edition, SurveyReturn


def return_list_visible_to(*, user, edition: Edition | None = None) -> QuerySet[SurveyReturn]:
    """The returns `user` may see: those of the institutions they may see."""
    returns = SurveyReturn.objects.filter(
        institution__in=institution_list_visible_to(user=user)
    ).select_related("edition", "institution", "institution__province")
    if edition is not None:
        returns = returns.filter(edition=edition)
    return returns


def edition_current() -> Edition | None:
    """The edition people work on now: the newest that has a questionnaire."""
    return Edition.objects.filter(items__isnull=False).distinct().order_by("-year").first()
