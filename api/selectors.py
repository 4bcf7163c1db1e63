"""Reads of the web API. Scoping is the web pages' (``return_list_visible_to``,
``institution_list_visible_to``); every function reads a fixed number of queries whatever
the size of the page (tests pin them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from django.db.models import Count, Max, Q
from django.utils import timezone

from institutions.selectors import institution_list_visible_to, user_is_society_admin
from jobs.models import ACTIVE_STATES, BackgroundJob
from reporting.models import (
    Answer,
    Breakdown,
    Edition,
    FigureValue,
    Indicator,
    Item,
    PartOfGroup,
    Publication,
    PublishedValue,
    Section,
    SurveyReturn,
    ValidationRule,
)
from reporting.selectors import return_list_visible_to
from reporting.selectors_report import BREAKDOWNS, figure_export_rows, value_plain
from reporting.services.audit_export_jobs import AUDIT_EXPORT_KIND
from reporting.services.export_jobs import EXPORT_KIND as RETURNS_EXPORT_KIND
from reporting.values import Value

RETURN_FIELDS = (
    "id", "edition__year", "institution__code", "institution__name", "institution__province_id", "status",
    "version", "created_at", "updated_at", "submitted_at", "reviewed_at", "approved_at",
)


def digest(*parts) -> str:
    """A short, stable hash of `parts`, for ETags."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


# --- editions, questionnaire, indicators -----------------------------------------------------


def edition_list() -> list[Edition]:
    return list(Edition.objects.select_related("previous").order_by("year"))


def edition_publications(edition: Edition) -> list[Publication]:
    return list(Publication.objects.filter(edition=edition).select_related("published_by").order_by("revision"))


def questionnaire_codebook(edition: Edition) -> dict:
    """Sections, part_of groups, items and rules of the edition (4 queries)."""
    sections = list(Section.objects.filter(edition=edition).order_by("position"))
    items = list(
        Item.objects.filter(edition=edition).select_related("section", "applies_if")
        .order_by("section__position", "position")
    )
    groups = list(PartOfGroup.objects.filter(edition=edition).order_by("code"))
    rules = list(ValidationRule.objects.filter(edition=edition).order_by("position"))
    section_items: dict[int, list[str]] = {}
    group_items: dict[str, list[str]] = {}
    for item in items:
        section_items.setdefault(item.section_id, []).append(item.code)
        if item.part_of:
            group_items.setdefault(item.part_of, []).append(item.code)
    return {
        "edition": edition.year,
        "definition_version": edition.definition_version,
        "sections": [
            {"code": s.code, "position": s.position, "title_en": s.title_en, "title_zh": s.title_zh,
             "items": section_items.get(s.pk, [])}
            for s in sections
        ],
        "groups": [
            {"code": g.code, "label_en": g.label_en, "label_zh": g.label_zh, "items": group_items.get(g.code, [])}
            for g in groups
        ],
        "items": [
            {
                "code": item.code, "section": item.section.code, "position": item.position, "type": item.type,
                "choices": [
                    {"code": c["code"], "label_en": c.get("label_en", ""), "label_zh": c.get("label_zh", "")}
                    for c in item.choices
                ],
                "unit_en": item.unit_en, "unit_zh": item.unit_zh,
                "applies_if": item.applies_if.code if item.applies_if else None,
                "part_of": item.part_of or None,
                "label_en": item.label_en, "label_zh": item.label_zh,
            }
            for item in items
        ],
        "rules": [
            {"code": r.code, "severity": r.severity, "kind": r.kind, "when": r.when, "condition": r.condition,
             "fields": list(r.fields), "message_en": r.message_en, "message_zh": r.message_zh}
            for r in rules
        ],
    }


def indicator_list(edition: Edition) -> list[dict]:
    return list(Indicator.objects.filter(edition=edition).order_by("position").values(
        "key", "position", "section", "format", "definition", "label_en", "label_zh"))


# --- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FiguresVersion:
    """What the figures response depends on: its ETag basis and when it last changed."""

    source: str  # "live" or "publication"
    publication: Publication | None
    tag: str
    last_modified: dt.datetime | None


def figures_version(*, edition: Edition, publication: Publication | None, live: bool) -> FiguresVersion:
    """Which figures a request reads and their version, in one or two small queries: a
    published revision never changes; the live figures change when a recomputation rewrites,
    adds or deletes a row (max id, count and max computed_at say so)."""
    if publication is None and not live:
        publication = Publication.objects.filter(edition=edition).order_by("-revision").first()
    if publication is not None and not live:
        return FiguresVersion("publication", publication, f"publication:{publication.pk}", publication.published_at)
    state = FigureValue.objects.filter(edition=edition).aggregate(
        count=Count("id"), last_id=Max("id"), computed=Max("computed_at")
    )
    tag = f"live:{edition.pk}:{state['count']}:{state['last_id']}:{state['computed']}"
    return FiguresVersion("live", None, tag, state["computed"])


def figures_rows(*, edition: Edition, publication: Publication | None, group_by: str,
                 groups: list[str], keys: list[str]) -> list[dict]:
    """The figures as the CSV export writes them (``figure_export_rows`` and the same
    unrounded text of each value), filtered by breakdown, group and key. Two queries."""
    rows = figure_export_rows(
        edition=edition, breakdown=None if group_by == Breakdown.NATIONAL else group_by, publication=publication,
    )
    wanted_groups, wanted_keys = set(groups), set(keys)
    texts: dict = {}  # many figures share a value (0, small counts): format each once
    result = []
    for _year, row_group_by, group, key, value in rows:
        if (wanted_groups and group not in wanted_groups) or (wanted_keys and key not in wanted_keys):
            continue
        text = texts.get(value)
        if text is None:
            text = texts[value] = value_plain(value) or None
        result.append({"group_by": row_group_by, "group": group, "key": key, "value": text})
    return result


FIGURE_GROUP_BY = ["all", Breakdown.NATIONAL.value, *(b.value for b in BREAKDOWNS)]


def publication_list(edition: Edition) -> list[dict]:
    """Every revision with its errata: the figures that changed from the revision before (2 queries)."""
    publications = edition_publications(edition)
    values: dict[int, dict[tuple, object]] = {}
    for publication_id, breakdown, group, key, value in PublishedValue.objects.filter(
        publication__edition=edition
    ).values_list("publication_id", "breakdown", "group", "key", "value"):
        values.setdefault(publication_id, {})[(breakdown, group, key)] = value
    result, before = [], None
    for publication in publications:
        current = values.get(publication.pk, {})
        errata = []
        if before is not None:
            for figure in sorted(set(before) | set(current), key=lambda k: (k[0] != Breakdown.NATIONAL, k)):
                old, new = before.get(figure), current.get(figure)
                if old != new:
                    errata.append({"group_by": figure[0], "group": figure[1], "key": figure[2],
                                   "old": value_plain(old) or None, "new": value_plain(new) or None})
        result.append({
            "revision": publication.revision, "published_at": publication.published_at,
            "published_by": publication.published_by.get_username() if publication.published_by else None,
            "note": publication.note, "returns": len(publication.return_versions),
            "figures": len(current), "errata": errata,
        })
        before = current
    return result


# --- institutions and returns --------------------------------------------------------------------


def institution_page(*, user, after_code: str | None, limit: int, province: str | None = None):
    """Institutions the user may see, by code, `limit` + 1 rows (the extra one says there is more)."""
    institutions = institution_list_visible_to(user=user).order_by("code")
    if province:
        institutions = institutions.filter(province_id=province)
    if after_code is not None:
        institutions = institutions.filter(code__gt=after_code)
    return list(institutions.values(
        "code", "name", "name_en", "province_id", "city", "ownership", "hospital_level", "active",
    )[:limit + 1])


def returns_filtered(*, user, edition: Edition | None = None, statuses: list[str] | None = None,
                     province: str | None = None, institution: str | None = None,
                     changed_since: dt.datetime | None = None):
    returns = return_list_visible_to(user=user, edition=edition)
    if statuses:
        returns = returns.filter(status__in=statuses)
    if province:
        returns = returns.filter(institution__province_id=province)
    if institution:
        returns = returns.filter(institution__code=institution)
    if changed_since is not None:
        returns = returns.filter(updated_at__gte=changed_since)
    return returns


def return_page(returns, *, after: tuple[dt.datetime, int] | None, limit: int) -> list[dict]:
    """`limit` + 1 returns in (updated_at, id) order after the cursor position (one query)."""
    returns = returns.order_by("updated_at", "id")
    if after is not None:
        updated_at, pk = after
        returns = returns.filter(Q(updated_at__gt=updated_at) | Q(updated_at=updated_at, id__gt=pk))
    return list(returns.values(*RETURN_FIELDS)[:limit + 1])


def answers_of(return_ids: list[int]) -> dict[int, dict[str, Value]]:
    """{return id: {item code: typed value}} (two queries). Ordered by item id, which follows
    the questionnaire as first loaded, so the (return, item) index serves the order."""
    if not return_ids:
        return {}
    edition_ids = SurveyReturn.objects.filter(pk__in=return_ids).values("edition_id").distinct()
    items = {
        pk: (code, kind)
        for pk, code, kind in Item.objects.filter(edition_id__in=edition_ids).values_list("id", "code", "type")
    }
    answers: dict[int, dict[str, Value]] = {pk: {} for pk in return_ids}
    rows = (
        Answer.objects.filter(survey_return_id__in=return_ids)
        .order_by("survey_return_id", "item_id")
        .values_list("survey_return_id", "item_id", "int_value", "bool_value", "text_value")
    )
    for return_id, item_id, int_value, bool_value, text_value in rows:
        code, kind = items[item_id]
        answers[return_id][code] = (
            int_value if kind == "integer" else bool_value if kind == "boolean" else text_value
        )
    return answers


# --- exports prepared in the background --------------------------------------------------------

# The API's name of each export kind, and the background job kind it is.
EXPORT_KINDS = {"returns": RETURNS_EXPORT_KIND, "audit": AUDIT_EXPORT_KIND}


def _export_jobs_for(user):
    """Every export is a whole edition's (or the whole trail), a society admin's to start and
    to read: a user who is not one (any more) reaches no export job, not even their own."""
    if not user_is_society_admin(user):
        return BackgroundJob.objects.none()
    return BackgroundJob.objects.filter(kind__in=EXPORT_KINDS.values(), expires_at__gt=timezone.now())


def export_job_visible(*, user, job_id: uuid.UUID) -> BackgroundJob | None:
    """The export job if `user` may see it (a society admin: their own or another admin's) and
    it has not expired; None otherwise, so the caller answers 404 either way (one query)."""
    return _export_jobs_for(user).select_related("owner").filter(pk=job_id).first()


def export_job_page(*, user, kind: str | None, after: tuple[dt.datetime, uuid.UUID] | None,
                    limit: int) -> list[BackgroundJob]:
    """The user's own export jobs still kept, newest first, `limit` + 1 of them after the cursor
    position (the extra one says there is more); one query."""
    jobs = _export_jobs_for(user).filter(owner=user).select_related("owner").order_by("-created_at", "-id")
    if kind is not None:
        jobs = jobs.filter(kind=EXPORT_KINDS[kind])
    if after is not None:
        created_at, pk = after
        jobs = jobs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    return list(jobs[:limit + 1])


def export_jobs_active_count(*, user) -> int:
    return BackgroundJob.objects.filter(owner=user, kind__in=EXPORT_KINDS.values(), state__in=ACTIVE_STATES).count()
