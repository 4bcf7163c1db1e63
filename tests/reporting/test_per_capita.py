"""Per-capita figures: the census as project data, `population` in the notation, the figures
computed in the aggregation (national and province only), on the report page and in exports."""

import csv
from decimal import Decimal

import pytest
from django.urls import reverse

from institutions.models import Province
from reporting.indicators import IndicatorSyntaxError, Population, indicator_parse
from reporting.indicators.sql import IndicatorCompileError, ItemInfo, aggregation_compile
from reporting.models import FigureValue, ReturnStatus
from reporting.population import POPULATION_DIR, census_for_year
from reporting.services.aggregation import edition_figures_compute
from tests.factories import InstitutionFactory, complete_values, reporter, survey_return

# From reporting/definitions/population/census-2020.csv (the 2020 census, Communiqué No. 3).
NATION = 1_409_778_724
BEIJING, TIBET, GUANGDONG = 21_893_095, 3_648_100, 126_012_510


@pytest.mark.sqlite
def test_the_census_is_project_data_with_its_source():
    with (POPULATION_DIR / "census-2020.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 31
    census = census_for_year(2023)
    assert census.year == 2020 and census.total == NATION
    assert census.by_province["11"] == BEIJING and census.by_province["54"] == TIBET
    assert "Seventh National Population Census" in census.source_en and "第七次全国人口普查" in census.source_zh
    # An edition uses the latest census not after its data year (the only one here).
    assert census_for_year(2018) is census and census_for_year(2031) is census


@pytest.mark.sqlite
def test_population_is_a_group_term_of_the_notation():
    tree = indicator_parse("1000000*N/population")
    assert tree.right == Population()
    with pytest.raises(IndicatorSyntaxError, match="expected N, population"):
        indicator_parse("1000000*eq_pet_ct/population")


@pytest.mark.sqlite
def test_a_definition_over_population_needs_a_census():
    with pytest.raises(IndicatorCompileError, match="no census"):
        aggregation_compile(
            indicators=[("dept_per_million", indicator_parse("1000000*N/population"))],
            items={"eq_pet_ct": ItemInfo(id=1, type="integer")}, edition_id=1, approved_status="approved",
            previous_source=None, previous_edition_id=None, quote_name=lambda name: f'"{name}"', population=None,
        )


@pytest.fixture
def three_provinces(edition):
    """Beijing: 1 department, 3 PET units, 10 staff (6 physicians). Tibet: 1 department,
    150 treatments. Guangdong: 2 departments, 2 PET units, 1 cyclotron."""
    rows = [
        ("11", {"eq_pet_ct": 2, "eq_pet_mr": 1, "staff_physician": 6, "staff_nurse": 4}),
        ("54", {"tx_i131_graves": 150, "rpt_performs": True, "hospital_level": "secondary"}),
        ("44", {"eq_pet_ct": 1, "eq_cyclotron": 1, "ownership": "nonpublic"}),
        ("44", {"eq_pet_ct": 1}),
    ]
    for number, (province, overrides) in enumerate(rows):
        survey_return(edition=edition, institution=InstitutionFactory(code=f"P{number}",
                      province=Province.objects.get(code=province)),
                      status=ReturnStatus.APPROVED, values=complete_values(edition, **overrides))
    edition_figures_compute(edition_id=edition.pk)


def _figures(edition):
    return {(f.breakdown, f.group, f.key): f.value for f in FigureValue.objects.filter(edition=edition)}


@pytest.mark.sqlite
def test_per_capita_figures_equal_a_hand_computation(edition, three_provinces):
    figures = _figures(edition)
    national = {key: value for (b, _g, key), value in figures.items() if b == "national"}
    # 1,000,000 × 4 departments / 1,409,778,724 = 0.002837326…
    assert national["dept_per_million"] == Decimal("0.00283732")
    assert national["positron_units_per_million"] == Decimal("0.00354666")  # 5 PET units
    assert national["cyclotron_units_per_million"] == Decimal("0.00070933")  # 1 cyclotron
    assert national["tx_per_100k"] == Decimal("0.01063997")  # 100,000 × 150 / 1,409,778,724
    # Beijing: 3 PET units, 10 staff, 6 physicians over 21,893,095.
    assert figures["province", "11", "positron_units_per_million"] == Decimal("0.13702951")
    assert figures["province", "11", "staff_per_million"] == Decimal("0.45676502")
    assert figures["province", "11", "staff_physician_per_million"] == Decimal("0.27405901")
    # Tibet: 1 department and 150 treatments over 3,648,100.
    assert figures["province", "54", "dept_per_million"] == Decimal("0.27411529")
    assert figures["province", "54", "tx_per_100k"] == Decimal("4.11172939")
    # Guangdong: 2 departments, 2 PET units and a cyclotron over 126,012,510.
    assert figures["province", "44", "dept_per_million"] == Decimal("0.01587144")
    assert figures["province", "44", "positron_units_per_million"] == Decimal("0.01587144")
    assert figures["province", "44", "cyclotron_units_per_million"] == Decimal("0.00793572")
    assert figures["province", "44", "imaging_exams_per_100k"] == 0


@pytest.mark.sqlite
def test_ownership_and_level_breakdowns_have_no_per_capita_figures(edition, three_provinces):
    figures = _figures(edition)
    per_capita = {key for key in edition.indicators.filter(section="per_capita").values_list("key", flat=True)}
    assert len(per_capita) == 8
    for breakdown in ("ownership", "hospital_level"):
        keys = {key for (b, _g, key) in figures if b == breakdown}
        assert keys and "dept_total" in keys
        assert not keys & per_capita, breakdown


def test_per_capita_figures_are_exported(client, edition, three_provinces):
    client.force_login(reporter())
    lines = client.get(reverse("report:download", args=[2024, "csv"]) + "?by=province").content.decode().splitlines()
    # Unrounded, then as the report prints it (1 decimal).
    assert any(line.startswith("2024,province,54,tx_per_100k,4.11172939,4.1,") for line in lines)
    lines = client.get(reverse("report:download", args=[2024, "csv"]) + "?by=ownership").content.decode().splitlines()
    assert not [line for line in lines if "_per_" in line]


def test_the_report_shows_per_capita_figures_and_the_methods_note(client, edition, three_provinces):
    client.force_login(reporter())
    url = reverse("report:page", args=[2024])
    english = client.get(url + "?chart=positron_units_per_million", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Per-capita figures" in english
    assert 'data-key="tx_per_100k">0.0<' in english  # national, 1 decimal
    assert "resident population of the 2020 census" in english and "1,409,778,724 people" in english
    assert "A province's figures count the departments located in it" in english
    # The ownership and level charts of a per-capita figure say why they have no bars.
    assert english.count("No population for this breakdown") == 2
    chinese = client.get(url + "?chart=tx_per_100k", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "人均指标" in chinese and "第七次全国人口普查公报" in chinese
    assert "各省份的指标统计的是位于该省份的科室" in chinese
    assert "此分类没有对应的人口数" in chinese


@pytest.mark.slow
def test_the_pdf_carries_the_methods_note(client, edition, three_provinces, monkeypatch):
    import weasyprint

    rendered = []

    class RecordingHTML(weasyprint.HTML):
        def __init__(self, *args, string=None, **kwargs):
            rendered.append(string)
            super().__init__(*args, string=string, **kwargs)

    monkeypatch.setattr(weasyprint, "HTML", RecordingHTML)
    client.force_login(reporter())
    response = client.get(reverse("report:pdf", args=[2024]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.content.startswith(b"%PDF")
    assert "resident population of the 2020 census" in rendered[0]
    assert 'data-key="positron_units_per_million"' in rendered[0]
    assert rendered[0].count('class="tile"') == 31  # the map goes into the PDF too
