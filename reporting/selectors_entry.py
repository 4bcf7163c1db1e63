"""Reads for data entry and review: queues, completeness, history. Scoped by who asks."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from institutions.models import Institution, Membership, Role
from institutions.selectors import institution_list_visible_to
from reporting.models import AuditEvent, Edition, ReturnStatus, ReviewComment, SurveyReturn

NOT_STARTED = "not_started"
NOT_SUBMITTED = (NOT_STARTED, ReturnStatus.DRAFT, ReturnStatus.SENT_BACK)
COMPLETENESS_STATUSES = (
    NOT_STARTED,
    ReturnStatus.DRAFT,
    ReturnStatus.SUBMITTED,
    ReturnStatus.SENT_BACK,
    ReturnStatus.REVIEWED,
    ReturnStatus.APPROVED,
)


@dataclass
class ProvinceCompleteness:
    province_code: str
    name_zh: str
    name_en: str
    institutions: int
    counts: dict[str, int]

    @property
    def submitted_or_later(self) -> int:
        return sum(self.counts[s] for s in (ReturnStatus.SUBMITTED, ReturnStatus.REVIEWED, ReturnStatus.APPROVED))

    def percent(self, count: int) -> float | None:
        return None if not self.institutions else 100.0 * count / self.institutions

    @property
    def submitted_percent(self) -> float | None:
        return self.percent(self.submitted_or_later)

    @property
    def approved_percent(self) -> float | None:
        return self.percent(self.counts[ReturnStatus.APPROVED])

    @property
    def count_list(self) -> list[int]:
        return [self.counts[s] for s in COMPLETENESS_STATUSES]


def completeness_by_province(*, user, edition: Edition) -> list[ProvinceCompleteness]:
    """Per visible province: active institutions and how many are in each status (one query)."""
    with_return = Q(returns__edition=edition)
    rows = (
        institution_list_visible_to(user=user)
        .filter(active=True)
        .order_by()
        .values("province_id", "province__name_zh", "province__name_en")
        .annotate(
            institutions=Count("id", distinct=True),
            started=Count("returns", filter=with_return),
            **{
                status: Count("returns", filter=with_return & Q(returns__status=status))
                for status in ReturnStatus.values
            },
        )
        .order_by("province_id")
    )
    result = []
    for row in rows:
        counts = {status: row[status] for status in ReturnStatus.values}
        counts[NOT_STARTED] = row["institutions"] - row["started"]
        result.append(ProvinceCompleteness(
            province_code=row["province_id"], name_zh=row["province__name_zh"], name_en=row["province__name_en"],
            institutions=row["institutions"], counts=counts,
        ))
    return result


def completeness_total(rows: list[ProvinceCompleteness]) -> ProvinceCompleteness:
    counts = {status: sum(r.counts[status] for r in rows) for status in COMPLETENESS_STATUSES}
    return ProvinceCompleteness("", "", "", sum(r.institutions for r in rows), counts)


def institution_status_list(*, user, edition: Edition, province_code: str | None = None,
                            status: str | None = None) -> QuerySet[Institution]:
    """Visible active institutions annotated with their return for the edition (id, status, updated)."""
    returns = SurveyReturn.objects.filter(edition=edition, institution=OuterRef("pk"))
    institutions = (
        institution_list_visible_to(user=user)
        .filter(active=True)
        .annotate(
            return_id=Subquery(returns.values("pk")[:1]),
            return_status=Subquery(returns.values("status")[:1]),
            return_updated_at=Subquery(returns.values("updated_at")[:1]),
        )
        .order_by("province_id", "code")
    )
    if province_code:
        institutions = institutions.filter(province_id=province_code)
    if status == NOT_STARTED:
        institutions = institutions.filter(return_id__isnull=True)
    elif status == "not_submitted":
        institutions = institutions.filter(Q(return_id__isnull=True) | Q(return_status__in=NOT_SUBMITTED))
    elif status:
        institutions = institutions.filter(return_status=status)
    return institutions


def reminder_recipients(*, institutions) -> dict[int, list[str]]:
    """E-mail addresses per institution: its contact address and its reporters' addresses."""
    recipients: dict[int, list[str]] = {}
    for institution in institutions:
        if institution.contact_email:
            recipients.setdefault(institution.pk, []).append(institution.contact_email)
    for institution_id, email in Membership.objects.filter(
        role=Role.REPORTER, institution__in=[i.pk for i in institutions], user__is_active=True
    ).exclude(user__email="").values_list("institution_id", "user__email"):
        addresses = recipients.setdefault(institution_id, [])
        if email not in addresses:
            addresses.append(email)
    return recipients


@dataclass(frozen=True)
class ReturnListFilters:
    """What the returns list is narrowed to; empty strings mean "any"."""

    search: str = ""  # part of the institution's code or name
    province: str = ""  # province code
    status: str = ""
    hospital_level: str = ""  # the institution's, from the registry
    ownership: str = ""

    def is_empty(self) -> bool:
        return not any(vars(self).values())


def review_queue(*, user, edition: Edition, status: str | None = None,
                 filters: ReturnListFilters | None = None) -> QuerySet[SurveyReturn]:
    """Returns the user may see, newest activity first, with their last send-back time.

    `filters` narrow the list; they never widen it: a liaison who asks for another
    province gets nothing, since the returns come from ``return_list_visible_to``.
    """
    from reporting.selectors import return_list_visible_to

    filters = filters or ReturnListFilters()
    returns = return_list_visible_to(user=user, edition=edition).annotate(
        comment_count=Count("review_comments"),
        last_sent_back=Max("review_comments__created_at"),
    ).order_by("-updated_at", "pk")
    status = status or filters.status
    if status:
        returns = returns.filter(status=status)
    if filters.search:
        returns = returns.filter(
            Q(institution__code__icontains=filters.search) | Q(institution__name__icontains=filters.search)
            | Q(institution__name_en__icontains=filters.search)
        )
    if filters.province:
        returns = returns.filter(institution__province_id=filters.province)
    if filters.hospital_level:
        returns = returns.filter(institution__hospital_level=filters.hospital_level)
    if filters.ownership:
        returns = returns.filter(institution__ownership=filters.ownership)
    return returns


def return_audit_events(survey_return: SurveyReturn) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(survey_return=survey_return).select_related("actor").order_by("-at", "-id")


def return_review_comments(survey_return: SurveyReturn) -> QuerySet[ReviewComment]:
    return ReviewComment.objects.filter(survey_return=survey_return).select_related("author", "item").order_by("-created_at", "-id")
