"""Reads behind the national report page, its downloads and ``export_figures`` (written by
``reporting.services.exports``).

Every function here reads a fixed number of queries whatever the number of returns or
groups (tests pin them). Values come from the summary table (``FigureValue``, the live
figures) or from a frozen ``Publication`` revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from institutions.models import Province
from reporting.models import (
    Breakdown,
    Edition,
    FigureValue,
    Indicator,
    Item,
    Publication,
    PublishedFigure,
    PublishedValue,
)

BREAKDOWNS = [Breakdown.PROVINCE, Breakdown.OWNERSHIP, Breakdown.HOSPITAL_LEVEL]
PLACES = {"int": 0, "pct0": 0, "pct1": 1, "pct2": 2}
# The columns of the breakdown tables (every figure is in the downloads).
BREAKDOWN_TABLE_KEYS = [
    "dept_total", "svc_pet_pct", "positron_units", "single_photon_units", "cyclotron_units",
    "pet_exam_total", "sp_exam_total", "rpt_performs_n", "tx_total", "staff_total",
]
CHART_DEFAULT_KEY = "positron_units"


def language_is_chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def figure_rounded(value: Decimal | None, fmt: str) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-PLACES.get(fmt, 8)), rounding=ROUND_HALF_UP)


def figure_text(value: Decimal | None, fmt: str) -> str:
    """A figure as printed: 1,237 · 63.6 · -54.43; an empty figure is a dash."""
    rounded = figure_rounded(value, fmt)
    if rounded is None:
        return "—"
    if fmt == "int":
        return f"{int(rounded):,}"
    return f"{rounded:,.{PLACES[fmt]}f}"


def value_plain(value: Decimal | None) -> str:
    """Unrounded, without trailing zeros: 1237, 63.62166532, '' for empty."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text


def value_number(value: Decimal | None):
    """A number for JSON/XLSX cells: int when whole, else float of the exact digits."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value_plain(value))


# --- export rows -----------------------------------------------------------------------


def figure_export_rows(*, edition: Edition, breakdown: str | None = None, publication=None) -> list[list]:
    """[edition, group_by, group, key, value] rows in report order: national only when
    `breakdown` is None, that breakdown's groups otherwise, everything when "all".
    Two queries."""
    positions = dict(Indicator.objects.filter(edition=edition).values_list("key", "position"))
    if publication is not None:
        values = PublishedValue.objects.filter(publication=publication)
    else:
        values = FigureValue.objects.filter(edition=edition)
    if breakdown != "all":
        values = values.filter(breakdown=breakdown or Breakdown.NATIONAL)
    breakdown_order = {Breakdown.NATIONAL: 0, **{b: n for n, b in enumerate(BREAKDOWNS, start=1)}}
    rows = sorted(
        values.values_list("breakdown", "group", "key", "value"),
        key=lambda r: (breakdown_order.get(r[0], 9), r[1], positions.get(r[2], 10**6), r[2]),
    )
    return [[edition.year, group_by, group, key, value] for group_by, group, key, value in rows]


# --- the report page -------------------------------------------------------------------


@dataclass
class FigureShown:
    """One figure on the page: the value, how it prints, and the printed one if it differs."""

    key: str
    label: str
    fmt: str
    section: str
    value: Decimal | None
    published: Decimal | None = None

    @property
    def text(self) -> str:
        return figure_text(self.value, self.fmt)

    @property
    def published_text(self) -> str:
        return figure_text(self.published, self.fmt) if self.published is not None else ""

    @property
    def differs(self) -> bool:
        return self.published is not None and figure_rounded(self.value, self.fmt) != figure_rounded(
            self.published, self.fmt
        )

    def __html__(self):
        if self.differs:
            return format_html(
                '<span class="figure figure-differs" data-key="{}" title="{}">{}'
                '<sup class="figure-flag">†</sup></span>',
                self.key, _("Printed in the published report: %(value)s") % {"value": self.published_text},
                self.text,
            )
        return format_html('<span class="figure" data-key="{}">{}</span>', self.key, self.text)

    # Templates call str() before escaping, so the markup must come from __str__ too.
    __str__ = __html__

    @property
    def is_decrease(self) -> bool:
        return self.value is not None and self.value < 0

    @property
    def magnitude(self) -> FigureShown:
        """The same figure without its sign ("a decrease of 54.43%")."""
        return FigureShown(
            key=self.key, label=self.label, fmt=self.fmt, section=self.section,
            value=None if self.value is None else abs(self.value),
            published=None if self.published is None else abs(self.published),
        )


@dataclass
class BarChart:
    title: str
    bars: list[dict] = field(default_factory=list)  # label, text, width (0-100), y
    height: int = 0


@dataclass
class Errata:
    revision: int
    published_at: object
    published_by: object
    note: str
    changes: list[dict] = field(default_factory=list)  # key, label, group_by, group, old, new


@dataclass
class ReportContext:
    edition: Edition
    source: str  # "live" or "publication"
    publication: Publication | None
    figures: dict[str, FigureShown]
    sections: list[tuple[str, list[FigureShown]]]
    differing: list[FigureShown]
    breakdown_tables: list[dict]
    charts: list[BarChart]
    chart_key: str
    chart_choices: list[tuple[str, str]]
    publications: list[Publication]
    errata: list[Errata]
    has_figures: bool
    previous_year: int | None = None
    previous: dict[str, str] = field(default_factory=dict)  # key → printed text


SECTION_TITLES = {
    "department": ("Department overview", "科室概况"),
    "services": ("Services provided", "开展业务"),
    "affiliation": ("Administrative affiliation", "行政隶属"),
    "imaging_equipment": ("Imaging equipment", "显像设备"),
    "function_equipment": ("Organ function measurement equipment", "脏器功能测定设备"),
    "cyclotrons": ("Medical cyclotrons", "医用回旋加速器"),
    "small_animal_equipment": ("Small-animal imaging equipment", "小动物显像设备"),
    "equipment_holders": ("Equipment affiliation", "设备隶属"),
    "pet_exams": ("PET and PET/CT examinations", "PET及PET/CT检查"),
    "pmr_exams": ("PET/MRI examinations", "PET/MR检查"),
    "sp_exams": ("Single-photon examinations", "单光子检查"),
    "co_exams": ("Coincidence imaging examinations", "符合线路检查"),
    "sa_cases": ("Small-animal imaging", "小动物显像"),
    "licences": ("Radiopharmaceutical licences", "放射性药品使用许可"),
    "radiopharmaceuticals": ("Use of radiopharmaceuticals", "放射性药物使用"),
    "therapy": ("Radiopharmaceutical therapy", "核素治疗"),
    "treatments": ("Treatments", "治疗例数"),
    "in_vitro": ("In vitro analysis", "体外分析"),
    "personnel": ("Nuclear medicine personnel", "核医学人员"),
    "education": ("Nuclear medicine education", "核医学教育"),
    "opinions": ("Opinions", "意见与建议"),
}


def section_title(code: str, zh: bool) -> str:
    en, zh_title = SECTION_TITLES.get(code, (code, code))
    return zh_title if zh else en


def _group_labels(edition: Edition, zh: bool) -> dict[str, dict[str, str]]:
    """Readable names of groups: provinces, ownership and hospital level choices (2 queries)."""
    labels = {Breakdown.NATIONAL: {"national": _("National")}}
    labels[Breakdown.PROVINCE] = {
        p.code: (p.name_zh if zh else p.name_en) for p in Province.objects.all()
    }
    for code, choices in Item.objects.filter(edition=edition, code__in=["ownership", "hospital_level"]).values_list(
        "code", "choices"
    ):
        labels[code] = {c["code"]: c["label_zh"] if zh else c["label_en"] for c in choices}
    return labels


def _bar_chart(title: str, entries: list[tuple[str, Decimal | None]], fmt: str) -> BarChart:
    numbers = [float(v) for _, v in entries if v is not None]
    top = max(numbers, default=0) or 1
    chart = BarChart(title=title)
    for position, (label, value) in enumerate(entries):
        width = 0 if value is None else max(0.0, float(value) / top * 100)
        chart.bars.append({"label": label, "text": figure_text(value, fmt), "width": round(width, 2),
                           "y": position * 22})
    chart.height = len(entries) * 22 + 4
    return chart


def report_context(*, edition: Edition, publication: Publication | None = None,
                   live: bool = False, chart_key: str | None = None) -> ReportContext:
    """Everything the report page shows, in at most 7 queries.

    Shows the figures of `publication`, or of the edition's latest publication, or the live
    figures when there is none or `live` is asked for.
    """
    zh = language_is_chinese()
    publications = list(Publication.objects.filter(edition=edition).select_related("published_by").order_by("revision"))
    by_publication: dict[int, dict] = {}
    if publications:
        for publication_id, breakdown, group, key, value in PublishedValue.objects.filter(
            publication__edition=edition
        ).values_list("publication_id", "breakdown", "group", "key", "value"):
            by_publication.setdefault(publication_id, {})[(breakdown, group, key)] = value
    if publication is None and publications and not live:
        publication = publications[-1]
    if publication is not None and not live:
        values = by_publication.get(publication.pk, {})
        source = "publication"
    else:
        values = {
            (b, g, k): v for b, g, k, v in FigureValue.objects.filter(edition=edition).values_list(
                "breakdown", "group", "key", "value")
        }
        source = "live"
        publication = None
    indicators = list(Indicator.objects.filter(edition=edition).order_by("position"))
    published = dict(PublishedFigure.objects.filter(edition=edition).values_list("key", "value"))
    labels = _group_labels(edition, zh)

    figures: dict[str, FigureShown] = {}
    sections: dict[str, list[FigureShown]] = {}
    for indicator in indicators:
        shown = FigureShown(
            key=indicator.key, label=(indicator.label_zh if zh else indicator.label_en) or indicator.key,
            fmt=indicator.format, section=indicator.section,
            value=values.get((Breakdown.NATIONAL, "national", indicator.key)),
            published=published.get(indicator.key),
        )
        figures[indicator.key] = shown
        sections.setdefault(indicator.section, []).append(shown)
    has_figures = any(key[0] == Breakdown.NATIONAL for key in values)

    formats = {i.key: i.format for i in indicators}
    table_keys = [k for k in BREAKDOWN_TABLE_KEYS if k in figures]
    chart_key = chart_key if chart_key in figures else (CHART_DEFAULT_KEY if CHART_DEFAULT_KEY in figures else
                                                        next(iter(figures), ""))
    breakdown_tables, charts = [], []
    for breakdown in BREAKDOWNS:
        group_labels = labels.get(breakdown, {})
        # In the questionnaire's order (3A before other tertiary before secondary), not by code.
        order = {code: position for position, code in enumerate(group_labels)}
        groups = sorted({g for (b, g, _k) in values if b == breakdown}, key=lambda g: (order.get(g, len(order)), g))
        if not groups:
            continue
        rows = [
            {"group": group, "label": group_labels.get(group, group),
             "cells": [figure_text(values.get((breakdown, group, k)), formats[k]) for k in table_keys]}
            for group in groups
        ]
        breakdown_tables.append({
            "breakdown": breakdown, "title": Breakdown(breakdown).label, "rows": rows,
            "headers": [figures[k].label for k in table_keys],
        })
        if chart_key:
            charts.append(_bar_chart(
                f"{figures[chart_key].label} · {Breakdown(breakdown).label}",
                [(group_labels.get(g, g), values.get((breakdown, g, chart_key))) for g in groups],
                formats[chart_key],
            ))

    errata = []
    previous_values = None
    for revision in publications:
        current = by_publication.get(revision.pk, {})
        entry = Errata(revision=revision.revision, published_at=revision.published_at,
                       published_by=revision.published_by, note=revision.note)
        if previous_values is not None:
            for key in sorted(set(previous_values) | set(current), key=lambda k: (k[0] != "national", k)):
                old, new = previous_values.get(key), current.get(key)
                if old != new:
                    breakdown, group, figure_key = key
                    entry.changes.append({
                        "group_by": breakdown, "group": labels.get(breakdown, {}).get(group, group),
                        "key": figure_key,
                        "label": figures[figure_key].label if figure_key in figures else figure_key,
                        "old": figure_text(old, formats.get(figure_key, "pct2")),
                        "new": figure_text(new, formats.get(figure_key, "pct2")),
                    })
        errata.append(entry)
        previous_values = current

    previous_year, previous = None, {}
    if edition.previous_id:
        from reporting.services.aggregation import previous_figures_source

        previous_year = edition.previous.year
        if previous_figures_source(edition) == "figures":
            stored = FigureValue.objects.filter(edition_id=edition.previous_id, breakdown=Breakdown.NATIONAL)
        else:
            stored = PublishedFigure.objects.filter(edition_id=edition.previous_id)
        previous = {key: figure_text(value, formats.get(key, "int"))
                    for key, value in stored.values_list("key", "value")}

    return ReportContext(
        edition=edition, source=source, publication=publication, figures=figures,
        sections=[(section_title(code, zh), shown) for code, shown in sections.items()],
        differing=[f for f in figures.values() if f.differs and f.value is not None],
        breakdown_tables=breakdown_tables, charts=charts, chart_key=chart_key,
        chart_choices=[(i.key, figures[i.key].label) for i in indicators],
        publications=publications, errata=errata, has_figures=has_figures,
        previous_year=previous_year, previous=previous,
    )
