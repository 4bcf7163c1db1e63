"""Reads behind the national report page, its downloads and ``export_figures`` (written by
``reporting.services.exports``).

Every function here reads a fixed number of queries whatever the number of returns or
groups (tests pin them). Values come from the summary table (``FigureValue``, the live
figures) or from a frozen ``Publication`` revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Max, Window
from django.db.models.functions import Rank
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from institutions.models import Province
from reporting.indicators import indicator_parse, indicator_uses_population
from reporting.indicators.sql import POPULATION_BREAKDOWNS
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
from reporting.population import Census, census_for_year
from reporting.tile_map import TileMap, tile_map_build

BREAKDOWNS = [Breakdown.PROVINCE, Breakdown.OWNERSHIP, Breakdown.HOSPITAL_LEVEL]
PLACES = {"int": 0, "pct0": 0, "pct1": 1, "pct2": 2, "dec1": 1, "dec2": 2}
# The columns of the breakdown tables (every figure is in the downloads).
BREAKDOWN_TABLE_KEYS = [
    "dept_total", "svc_pet_pct", "positron_units", "single_photon_units", "cyclotron_units",
    "pet_exam_total", "sp_exam_total", "rpt_performs_n", "tx_total", "staff_total",
]
CHART_DEFAULT_KEY = "positron_units"
MAP_DEFAULT_KEY = "positron_units_per_million"


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
    note: str = ""  # shown instead of the bars (a per-capita figure of a breakdown without population)


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
    census: Census | None = None  # the population of the per-capita figures, when there are any
    census_source: str = ""
    census_total: str = ""  # 1,409,778,724
    tile_map: TileMap | None = None
    map_choices: list[tuple[str, str]] = field(default_factory=list)  # figures provinces have


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
    "per_capita": ("Per-capita figures", "人均指标"),
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


def province_tile_map(*, key: str, figure: FigureShown, values: dict, province_names: dict[str, str]) -> TileMap:
    """The tile map of one figure over the provinces (`values` as in report_context)."""
    zh = language_is_chinese()

    def describe(classes: int, missing: int) -> str:
        return _(
            "A map of the 31 provincial divisions, one equal square each, placed roughly where it lies, "
            "coloured by %(figure)s in %(classes)d quantile classes from light (lowest) to dark (highest); "
            "%(missing)d without a value are grey. The table beside the map gives every value."
        ) % {"figure": figure.label, "classes": classes, "missing": missing}

    return tile_map_build(
        key=key, title=figure.label,
        values={code: value for (b, code, k), value in values.items() if b == Breakdown.PROVINCE and k == key},
        names=province_names, zh=zh, text_of=lambda value: figure_text(value, figure.fmt), describe=describe,
    )


def report_context(*, edition: Edition, publication: Publication | None = None,
                   live: bool = False, chart_key: str | None = None, map_key: str | None = None) -> ReportContext:
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
    population_keys = {i.key for i in indicators if indicator_uses_population(indicator_parse(i.definition))}
    no_population = _("No population for this breakdown")
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
        has_population = breakdown in POPULATION_BREAKDOWNS
        rows = [
            {"group": group, "label": group_labels.get(group, group),
             "cells": [figure_text(values.get((breakdown, group, k)), formats[k]) for k in table_keys]}
            for group in groups
        ]
        breakdown_tables.append({
            "breakdown": breakdown, "title": Breakdown(breakdown).label, "rows": rows,
            "headers": [figures[k].label for k in table_keys],
            # Per-capita columns are dashes here: say why rather than leave them unexplained.
            "note": no_population if not has_population and population_keys & set(table_keys) else "",
        })
        if chart_key and chart_key in population_keys and not has_population:
            charts.append(BarChart(title=f"{figures[chart_key].label} · {Breakdown(breakdown).label}",
                                   note=no_population))
        elif chart_key:
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

    census = census_for_year(edition.data_year) if population_keys else None
    province_keys = {k for (b, _g, k) in values if b == Breakdown.PROVINCE}
    map_choices = [(i.key, figures[i.key].label) for i in indicators if i.key in province_keys]
    tile_map = None
    if map_choices:
        choice_keys = [k for k, _label in map_choices]
        map_key = map_key if map_key in choice_keys else (
            MAP_DEFAULT_KEY if MAP_DEFAULT_KEY in choice_keys else choice_keys[0])
        tile_map = province_tile_map(key=map_key, figure=figures[map_key], values=values,
                                     province_names=labels[Breakdown.PROVINCE])

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
        census=census, census_source=(census.source_zh if zh else census.source_en) if census else "",
        census_total=f"{census.total:,}" if census else "",
        tile_map=tile_map, map_choices=map_choices,
    )


# --- one province ------------------------------------------------------------------------


@dataclass
class ProvinceFigure:
    figure: FigureShown  # the province's value
    national: str
    rank: int | None  # 1 = the highest among the provinces with a value; ties share a rank
    tied: int  # how many provinces share the value (1: none)
    ranked: int  # how many provinces have a value


def province_profile(*, edition: Edition, province: Province, publication: Publication | None = None,
                     live: bool = False) -> dict:
    """Every figure of one province next to the national value and its rank among the
    provinces (ranked in the database; equal values share a rank, the next rank skips).
    Reads the same figures as the report page: a publication's, or the live ones. 5 queries."""
    zh = language_is_chinese()
    if publication is None and not live:
        publication = Publication.objects.filter(edition=edition).order_by("-revision").first()
    values = (PublishedValue.objects.filter(publication=publication) if publication is not None
              else FigureValue.objects.filter(edition=edition))
    national = dict(values.filter(breakdown=Breakdown.NATIONAL).values_list("key", "value"))
    ranks = {
        key: (value, rank, tied, ranked)
        for key, value, rank, tied, ranked in values.filter(breakdown=Breakdown.PROVINCE, value__isnull=False)
        .annotate(
            rank=Window(Rank(), partition_by=[F("key")], order_by=F("value").desc()),
            tied=Window(Count("key"), partition_by=[F("key"), F("value")]),
            ranked=Window(Count("key"), partition_by=[F("key")]),
            # The group again, as a window: a filter on a window runs after the ranking (on a
            # plain column it would run before, ranking the one province alone).
            ranked_group=Window(Max("group"), partition_by=[F("key"), F("group")]),
        )
        .filter(ranked_group=province.code)
        .values_list("key", "value", "rank", "tied", "ranked")
    }
    sections: dict[str, list[ProvinceFigure]] = {}
    for indicator in Indicator.objects.filter(edition=edition).order_by("position"):
        value, rank, tied, ranked = ranks.get(indicator.key, (None, None, 0, 0))
        if indicator.key not in ranks and indicator.key not in national:
            continue
        shown = FigureShown(key=indicator.key, label=(indicator.label_zh if zh else indicator.label_en) or indicator.key,
                            fmt=indicator.format, section=indicator.section, value=value)
        sections.setdefault(indicator.section, []).append(ProvinceFigure(
            figure=shown, national=figure_text(national.get(indicator.key), indicator.format),
            rank=rank, tied=tied, ranked=ranked,
        ))
    return {
        "province_name": province.name_zh if zh else province.name_en,
        "publication": publication,
        "sections": [(section_title(code, zh), rows) for code, rows in sections.items()],
    }


# --- trends across editions --------------------------------------------------------------


def figure_trends(*, edition: Edition, own_values: dict[str, Decimal] | None = None) -> list[dict]:
    """Each figure of `edition` (growth figures aside) across every edition up to it that has
    it: an edition's computed national figures when it has any, else the totals it published
    (2019 is known only by those). `own_values`: `edition`'s national figures as the reader
    sees them (a publication's), instead of its live ones. [{key, label, fmt, points:
    [(year, value)], svg...}] for the figures with at least two editions, in report order.
    4 queries."""
    zh = language_is_chinese()
    editions = list(Edition.objects.filter(year__lte=edition.year).order_by("year").values_list("pk", "year"))
    computed: dict[int, dict[str, Decimal]] = {}
    for edition_id, key, value in FigureValue.objects.filter(
        edition_id__in=[pk for pk, _year in editions if own_values is None or pk != edition.pk],
        breakdown=Breakdown.NATIONAL,
    ).values_list("edition_id", "key", "value"):
        computed.setdefault(edition_id, {})[key] = value
    if own_values:
        computed[edition.pk] = own_values
    published: dict[int, dict[str, Decimal]] = {}
    for edition_id, key, value in PublishedFigure.objects.filter(
        edition_id__in=[pk for pk, _year in editions if pk not in computed]
    ).values_list("edition_id", "key", "value"):
        published.setdefault(edition_id, {})[key] = value
    trends = []
    for indicator in Indicator.objects.filter(edition=edition).order_by("position"):
        if indicator.definition.startswith("growth("):
            continue
        points = []
        for edition_id, year in editions:
            value = computed.get(edition_id, published.get(edition_id, {})).get(indicator.key)
            if value is not None:
                points.append((year, value))
        if len(points) < 2:
            continue
        trends.append({
            "key": indicator.key, "label": (indicator.label_zh if zh else indicator.label_en) or indicator.key,
            "points": [{"year": year, "text": figure_text(value, indicator.format)} for year, value in points],
            "values": points, "line": _sparkline(points),
        })
    return trends


def _sparkline(points: list[tuple[int, Decimal]], width: int = 120, height: int = 28) -> str:
    """SVG polyline points of the values over the years (the lowest value at the bottom)."""
    years = [year for year, _value in points]
    values = [float(value) for _year, value in points]
    span_x = (max(years) - min(years)) or 1
    low, high = min(values), max(values)
    span_y = (high - low) or 1
    return " ".join(
        f"{4 + (year - min(years)) / span_x * (width - 8):.1f},{height - 4 - (value - low) / span_y * (height - 8):.1f}"
        for year, value in zip(years, values, strict=True)
    )


def trend_export_rows(*, edition: Edition, own_values: dict[str, Decimal] | None = None) -> list[list]:
    """[edition, "national", "national", key, value] of every edition in figure_trends."""
    return [[year, "national", "national", trend["key"], value]
            for trend in figure_trends(edition=edition, own_values=own_values) for year, value in trend["values"]]
