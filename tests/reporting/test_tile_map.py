"""The tile map of the provinces on the report page, and the province page with its ranks."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from institutions.models import Province
from reporting.models import FigureValue, ReturnStatus
from reporting.services.aggregation import edition_figures_compute
from reporting.tile_map import PALETTE, TILES, quantile_breaks, tile_map_build, value_class
from tests.factories import InstitutionFactory, complete_values, liaison, reporter, survey_return


@pytest.mark.sqlite
def test_thirty_one_tiles_each_on_its_own_square():
    assert len(TILES) == 31
    assert len({(column, row) for column, row, _zh, _en in TILES.values()}) == 31


@pytest.mark.sqlite
def test_quantile_classes_of_hand_made_values():
    values = [Decimal(v) for v in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)]
    # Five classes of two: the bounds are the 3rd, 5th, 7th and 9th values.
    assert quantile_breaks(values) == [3, 5, 7, 9]
    assert [value_class(v, [3, 5, 7, 9]) for v in values] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    # Equal values share a class; six zeros and two others give two classes, not five.
    ties = [Decimal(v) for v in (0, 0, 0, 0, 0, 0, 1, 2)]
    assert quantile_breaks(ties) == [1]
    assert [value_class(v, [1]) for v in ties] == [0, 0, 0, 0, 0, 0, 1, 1]
    assert quantile_breaks([]) == []


@pytest.mark.sqlite
def test_the_map_colours_tiles_by_class_and_greys_missing_ones():
    values = {"11": Decimal(10), "31": Decimal(20), "44": Decimal(30), "54": Decimal(40), "65": Decimal(50),
              "12": None}
    built = tile_map_build(key="k", title="T", values=values, names={"11": "Beijing"}, zh=False,
                           text_of=str, describe=lambda classes, missing: f"{classes} classes, {missing} grey")
    tiles = {t.code: t for t in built.tiles}
    assert len(tiles) == 31
    assert [tiles[c].fill for c in ("11", "31", "44", "54", "65")] == PALETTE  # light to dark
    assert tiles["12"].klass is None and tiles["12"].fill == "#e9ecef"
    assert tiles["11"].label == "BJ" and tiles["11"].name == "Beijing"
    assert built.description == "5 classes, 26 grey"
    assert [entry["text"] for entry in built.legend] == ["10", "20", "30", "40", "50"]
    chinese = tile_map_build(key="k", title="T", values=values, names={}, zh=True, text_of=str,
                             describe=lambda classes, missing: "")
    assert {t.code: t.label for t in chinese.tiles}["23"] == "黑龙江"


@pytest.fixture
def four_provinces(edition):
    """PET units: Beijing 3, Shanghai 3 (tied first), Guangdong 1, Tibet 0."""
    for number, (province, pet) in enumerate([("11", 3), ("31", 3), ("44", 1), ("54", 0)]):
        survey_return(edition=edition, institution=InstitutionFactory(code=f"M{number}",
                      province=Province.objects.get(code=province)),
                      status=ReturnStatus.APPROVED, values=complete_values(edition, eq_pet_ct=pet))
    edition_figures_compute(edition_id=edition.pk)


def _page(client, url, language):
    client.force_login(reporter())
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_the_report_page_shows_the_map_of_the_chosen_figure(client, edition, four_provinces):
    url = reverse("report:page", args=[2024])
    english = _page(client, url + "?map=positron_units", "en")
    svg = re.search(r'<svg[^>]*class="tile-map".*?</svg>', english, re.S).group(0)
    assert 'data-key="positron_units"' in svg
    assert svg.count('class="tile"') == 31
    assert '<title id="map-title">Positron imaging units</title>' in svg
    assert "<desc id=\"map-desc\">A map of the 31 provincial divisions" in svg
    assert "Beijing: 3</title>" in svg and ">BJ</text>" in svg
    # Four provinces have a value: Tibet (0) lowest, Guangdong next, Beijing and Shanghai tied.
    assert 'data-province="54" data-class="0"' in svg and 'data-province="11" data-class="2"' in svg
    assert 'data-province="31" data-class="2"' in svg and 'data-province="12" data-class="none"' in svg
    assert '<option value="positron_units" selected>' in english
    assert 'class="table table-sm report-table tile-map-table"' in english  # the text alternative
    assert reverse("report:province", args=[2024, "54"]) in english
    chinese = _page(client, url + "?map=positron_units", "zh-hans")
    assert ">北京</text>" in chinese and "31个省级行政区" in chinese


def test_the_province_page_ranks_with_ties(client, edition, four_provinces):
    english = _page(client, reverse("report:province", args=[2024, "31"]), "en")
    row = re.search(r'<tr data-key="positron_units">.*?</tr>', english, re.S).group(0)
    assert ">3<" in row and "1 of 4 (2 provinces share it)" in row  # Shanghai ties Beijing for first
    guangdong = _page(client, reverse("report:province", args=[2024, "44"]), "en")
    row = re.search(r'<tr data-key="positron_units">.*?</tr>', guangdong, re.S).group(0)
    assert "3 of 4<" in row  # after the two tied first, the next rank is 3
    assert re.search(r">7<", row)  # the national value
    chinese = _page(client, reverse("report:province", args=[2024, "54"]), "zh-hans")
    row = re.search(r'<tr data-key="positron_units">.*?</tr>', chinese, re.S).group(0)
    assert "第4名，共4个" in row


def test_the_province_page_needs_a_survey_role_and_a_real_province(client, edition, four_provinces):
    assert client.get(reverse("report:province", args=[2024, "11"])).status_code == 302
    client.force_login(liaison())
    assert client.get(reverse("report:province", args=[2024, "99"])).status_code == 404


def test_the_province_page_reads_a_fixed_number_of_queries(edition, four_provinces, django_assert_num_queries):
    from reporting.selectors_report import province_profile

    with django_assert_num_queries(4):
        profile = province_profile(edition=edition, province=Province.objects.get(code="11"), live=True)
    assert FigureValue.objects.filter(edition=edition, breakdown="province", group="11").count() > 100
    assert profile["sections"]


@pytest.mark.sqlite
def test_the_legend_gives_each_class_its_range():
    values = {code: Decimal(n) for n, code in enumerate(sorted(TILES))}  # 0 … 30
    built = tile_map_build(key="k", title="T", values=values, names={}, zh=False, text_of=str,
                           describe=lambda classes, missing: "")
    # 31 values in fifths: bounds at the 6th, 12th, 18th and 24th values.
    assert [entry["text"] for entry in built.legend] == ["0 – 5", "6 – 11", "12 – 17", "18 – 23", "24 – 30"]
