"""The national report: page, PDF, downloads, and publishing (society admins)."""

from __future__ import annotations

import json
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from institutions.models import Province
from institutions.selectors import user_is_reviewer, user_is_society_admin, user_membership
from reporting.converters import SMALL_NUMBER_MAX, number_parse
from reporting.models import Breakdown, Edition, FigureValue, Publication
from reporting.selectors import edition_for_report
from reporting.selectors_report import (
    figure_export_rows,
    figure_trends,
    language_is_chinese,
    province_profile,
    report_context,
    trend_export_rows,
)
from reporting.services.exports import figure_download_rows, figures_csv, figures_json, figures_xlsx
from reporting.services.publication import PublicationRefused, edition_publish

DOWNLOAD_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _require_member(user) -> None:
    """Any survey role may read the national report (it holds national data only)."""
    if user_membership(user) is None and not user_is_society_admin(user):
        raise PermissionDenied(_("Your account has no survey role yet."))


def _edition(year: int) -> Edition:
    return get_object_or_404(Edition.objects.select_related("previous"), year=year)


def _publication_or_404(edition: Edition, revision: str) -> Publication:
    number = number_parse(revision, maximum=SMALL_NUMBER_MAX)
    if number is None:
        raise Http404("revision must be a number")
    return get_object_or_404(Publication, edition=edition, revision=number)


def _figures_asked(request, edition: Edition) -> tuple[Publication | None, bool]:
    """(publication, live): the figures the reader asked for. A revision (?revision=N), or
    the live ones (?live=1), which only reviewers (society admins, provincial liaisons) may
    see once an edition is published: anyone else asking gets the published ones. Neither:
    the latest publication, or the live figures marked provisional until the first."""
    if request.GET.get("revision"):
        return _publication_or_404(edition, request.GET["revision"]), False
    return None, request.GET.get("live") == "1" and user_is_reviewer(request.user)


def _context(request, edition: Edition) -> dict:
    publication, live = _figures_asked(request, edition)
    report = report_context(
        edition=edition, publication=publication, live=live,
        chart_key=request.GET.get("chart"), map_key=request.GET.get("map"),
    )
    # The edition's own point in the trends is what the page shows (not its live figures).
    shown = {key: figure.value for key, figure in report.figures.items() if figure.value is not None}
    return {
        "report": report,
        "edition": edition,
        "f": report.figures,
        "zh": language_is_chinese(),
        "is_admin": user_is_society_admin(request.user),
        "sees_live": user_is_reviewer(request.user),
        "breakdown_choices": [(b.value, b.label) for b in Breakdown if b != Breakdown.NATIONAL],
        "trends": figure_trends(edition=edition, own_values=shown) if report.has_figures else [],
        "map_chosen": bool(request.GET.get("map")),
    }


@login_required
def report_province(request, year, code: str):
    """Every figure of one province, next to the national value and its rank among the 31."""
    _require_member(request.user)
    edition = _edition(year)
    if not (len(code) == 2 and code.isascii() and code.isdigit()):  # names no province (and no NUL reaches the query)
        raise Http404("unknown province")
    province = get_object_or_404(Province, code=code)
    publication, live = _figures_asked(request, edition)
    profile = province_profile(edition=edition, province=province, publication=publication, live=live)
    return render(request, "reporting/report/province.html", {
        "edition": edition, "province": province, "zh": language_is_chinese(), **profile,
    })


@login_required
def report_index(request):
    _require_member(request.user)
    edition = edition_for_report()
    if edition is None:
        raise Http404(_("No edition has a report definition yet."))
    return redirect("report:page", year=edition.year)


@login_required
def report_page(request, year: int):
    _require_member(request.user)
    edition = _edition(year)
    return render(request, "reporting/report/page.html", _context(request, edition))


@login_required
def report_pdf(request, year: int):
    _require_member(request.user)
    from weasyprint import CSS, HTML  # imported here: heavy, and only this view needs it

    for name in ("weasyprint", "weasyprint.progress"):  # they log every layout step at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    edition = _edition(year)
    html = render_to_string("reporting/report/pdf.html", _context(request, edition), request=request)
    stylesheets = [CSS(filename=finders.find(name)) for name in ("css/report.css", "css/report_print.css")]
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf(stylesheets=stylesheets)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="national-report-{edition.year}.pdf"'
    return response


@login_required
def report_download(request, year: int, file_type: str):
    _require_member(request.user)
    if file_type not in DOWNLOAD_TYPES:
        raise Http404("unknown file type")
    edition = _edition(year)
    by = request.GET.get("by", "all")
    if by not in {"all", "national", "trends", *Breakdown.values}:
        raise Http404("unknown breakdown")
    publication, live = _figures_asked(request, edition)
    if publication is None and not live:
        publication = Publication.objects.filter(edition=edition).order_by("-revision").first()
    if by == "trends":  # every edition's national value of each figure, one row per edition
        own_values = None if publication is None else {
            key: value for _year, _by, _group, key, value in figure_export_rows(edition=edition, publication=publication)
        }
        rows = figure_download_rows(edition=edition, rows=trend_export_rows(edition=edition, own_values=own_values))
    else:
        rows = figure_download_rows(
            edition=edition, breakdown=None if by == "national" else by, publication=publication
        )
    if file_type == "json":
        body = json.dumps(figures_json(rows), ensure_ascii=False, indent=1)
    elif file_type == "csv":
        body = figures_csv(rows, for_excel=True)  # people open it in Excel
    else:
        body = figures_xlsx(rows)
    response = HttpResponse(body, content_type=DOWNLOAD_TYPES[file_type])
    response["Content-Disposition"] = f'attachment; filename="figures-{edition.year}-{by}.{file_type}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def report_publish(request, year: int):
    if not user_is_society_admin(request.user):
        raise PermissionDenied(_("Only a society admin can publish an edition."))
    edition = _edition(year)
    error = ""
    note = ""
    if request.method == "POST":
        note = request.POST.get("note", "")
        try:
            publication = edition_publish(edition=edition, actor=request.user, note=note)
        except PublicationRefused as exc:
            error = _(str(exc))
        else:
            messages.success(
                request,
                _("Published revision %(revision)s of the %(year)s report.")
                % {"revision": publication.revision, "year": edition.year},
            )
            return redirect(reverse("report:page", kwargs={"year": edition.year}) + f"?revision={publication.revision}")
    publications = Publication.objects.filter(edition=edition).select_related("published_by").order_by("-revision")
    return render(request, "reporting/report/publish.html", {
        "edition": edition,
        "publications": publications,
        "live_count": FigureValue.objects.filter(edition=edition).count(),
        "error": error,
        "note": note,
    })
