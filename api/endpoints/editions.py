"""Editions, their questionnaire (codebook), indicators, figures and publications; who am I."""

from __future__ import annotations

from typing import Literal

from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router

from api import selectors
from api.http import CleanStr, conditional, json_response, validators_set
from api.schemas import (
    EditionList,
    EditionOut,
    ErrorOut,
    FiguresOut,
    IndicatorList,
    MeOut,
    PublicationList,
    QuestionnaireOut,
)
from institutions.selectors import user_is_reviewer, user_is_society_admin, user_membership
from reporting.models import Edition, Publication

router = Router(tags=["editions"])

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
FIGURES_CACHE_SECONDS = 3600
FigureGroupBy = Literal[tuple(selectors.FIGURE_GROUP_BY)]
Year = Path(..., ge=1900, le=2999, description="The survey year, e.g. 2024")


def edition_or_404(year: int) -> Edition:
    return get_object_or_404(Edition.objects.select_related("previous"), year=year)


def _edition_out(edition: Edition, publications: list[Publication]) -> dict:
    return {
        "year": edition.year, "data_year": edition.data_year, "title_en": edition.title_en,
        "title_zh": edition.title_zh, "status": edition.status, "opens_on": edition.opens_on,
        "closes_on": edition.closes_on, "previous": edition.previous.year if edition.previous else None,
        "definition_version": edition.definition_version,
        "publications": [
            {"revision": p.revision, "published_at": p.published_at, "note": p.note} for p in publications
        ],
    }


@router.get("/me", response={200: MeOut, **ERRORS}, summary="The token's owner, role and scope")
def me(request):
    membership = user_membership(request.user)
    role = membership.role if membership else ("admin" if user_is_society_admin(request.user) else None)
    token = request.auth
    return {
        "username": request.user.get_username(), "role": role,
        "institution": membership.institution.code if membership and membership.institution_id else None,
        "province": membership.province_id if membership else None,
        "token": {"name": token.name, "prefix": token.prefix, "scope": token.scope, "expires_at": token.expires_at},
    }


@router.get("/editions", response={200: EditionList, **ERRORS}, summary="Every edition, oldest first")
def edition_list(request):
    editions = selectors.edition_list()
    publications: dict[int, list] = {}
    for publication in Publication.objects.filter(edition__in=editions).order_by("revision"):
        publications.setdefault(publication.edition_id, []).append(publication)
    return {"items": [_edition_out(e, publications.get(e.pk, [])) for e in editions], "next": None}


@router.get("/editions/{year}", response={200: EditionOut, **ERRORS}, summary="One edition")
def edition_detail(request, year: int = Year):
    edition = edition_or_404(year)
    return _edition_out(edition, selectors.edition_publications(edition))


@router.get(
    "/editions/{year}/questionnaire", response={200: QuestionnaireOut, 304: None, **ERRORS},
    summary="The codebook: sections, groups, items (types, choices, units, applies_if, part_of, labels), rules",
)
def questionnaire(request, response: HttpResponse, year: int = Year):
    edition = edition_or_404(year)
    tag = selectors.digest("questionnaire", edition.pk, edition.definition_checksum, edition.definition_version)
    not_modified = conditional(request, tag=tag, last_modified=None)
    if not_modified is not None:
        validators_set(not_modified, tag=tag, last_modified=None)
        return not_modified
    validators_set(response, tag=tag, last_modified=None)
    return selectors.questionnaire_codebook(edition)


@router.get("/editions/{year}/indicators", response={200: IndicatorList, **ERRORS},
            summary="The report's indicators: key, format, definition over item codes, labels")
def indicators(request, year: int = Year):
    edition = edition_or_404(year)
    return {"items": selectors.indicator_list(edition), "next": None}


@router.get(
    "/editions/{year}/figures", response={200: FiguresOut, 304: None, **ERRORS},
    summary="Figures: national and every breakdown, live or a published revision",
    description=(
        "The same rows and digits as the CSV download (`edition,group_by,group,key,value`). "
        "Without `revision` or `live`, the latest published revision, else the live figures "
        "(as the report page). `live` is for reviewers (society admins, liaisons), as on the report page: "
        "anyone else gets the published figures (see `source`). "
        "`group_by=all` (default) gives national and every breakdown. "
        "Send `If-None-Match` with the ETag of your last pull: 304 when nothing changed."
    ),
)
def figures(
    request,
    year: int = Year,
    revision: int | None = Query(None, ge=1, le=100000, description="A published revision"),
    live: bool = Query(False, description="The live figures even when a revision is published"),
    group_by: FigureGroupBy = Query("all"),
    group: list[CleanStr] = Query([], description="Only these groups (province codes, choice codes...)"),
    key: list[CleanStr] = Query([], description="Only these indicator keys"),
):
    edition = edition_or_404(year)
    live = live and user_is_reviewer(request.user)  # as the report page: live figures are for reviewers
    publication = get_object_or_404(Publication, edition=edition, revision=revision) if revision and not live else None
    version = selectors.figures_version(edition=edition, publication=publication, live=live)
    tag = selectors.digest(version.tag, group_by, sorted(group), sorted(key))
    not_modified = conditional(request, tag=tag, last_modified=version.last_modified)
    if not_modified is not None:
        validators_set(not_modified, tag=tag, last_modified=version.last_modified)
        return not_modified
    # The body of a version never changes: kept in the cache under its tag, so repeated pulls
    # of unchanged figures (by clients without their ETag) are not recomputed either.
    cache_key = f"api:figures:{tag}"
    body = cache.get(cache_key)
    if body is None:
        rows = selectors.figures_rows(
            edition=edition, publication=version.publication, group_by=group_by, groups=group, keys=key,
        )
        body = json_response(FiguresOut, {
            "edition": edition.year, "source": version.source,
            "revision": version.publication.revision if version.publication else None,
            "as_of": version.last_modified, "items": rows, "next": None,
        }).content
        cache.set(cache_key, body, timeout=FIGURES_CACHE_SECONDS)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    validators_set(response, tag=tag, last_modified=version.last_modified)
    return response


@router.get("/editions/{year}/publications", response={200: PublicationList, **ERRORS},
            summary="Published revisions with their errata (figures changed from the revision before)")
def publications(request, year: int = Year):
    edition = edition_or_404(year)
    return {"items": selectors.publication_list(edition), "next": None}
