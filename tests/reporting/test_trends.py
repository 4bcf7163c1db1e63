"""Trends across editions: 2019's published totals, then 2024's computed figures."""

import pytest
from django.urls import reverse

from reporting.models import PublishedFigure, ReturnStatus
from reporting.selectors_report import figure_trends
from reporting.services.aggregation import edition_figures_compute
from tests.factories import InstitutionFactory, reporter, survey_return, zero_values


@pytest.fixture
def computed(edition):
    values = zero_values(edition) | {"ownership": "public", "hospital_level": "tertiary_a", "eq_pet_ct": 3, "eq_pet_mr": 1}
    survey_return(edition=edition, institution=InstitutionFactory(code="T1"), status=ReturnStatus.APPROVED,
                  values=values)
    edition_figures_compute(edition_id=edition.pk)


@pytest.mark.sqlite
def test_each_figure_across_the_editions_that_have_it(edition, computed, django_assert_num_queries):
    printed_2019 = PublishedFigure.objects.get(edition__year=2019, key="positron_units").value
    with django_assert_num_queries(4):
        trends = {t["key"]: t for t in figure_trends(edition=edition)}
    assert trends["positron_units"]["values"] == [(2019, printed_2019), (2024, 4)]
    assert [p["year"] for p in trends["positron_units"]["points"]] == [2019, 2024]
    assert "dept_per_million" not in trends  # only 2024 has it
    assert not any(key.endswith("_growth") for key in trends)
    line = trends["positron_units"]["line"].split()
    assert len(line) == 2 and line[0].startswith("4.0,") and line[1].startswith("116.0,")


def test_trends_are_on_the_page_and_in_the_exports(client, edition, computed):
    client.force_login(reporter())
    page = client.get(reverse("report:page", args=[2024]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Trends across editions" in page and '<tr data-key="positron_units">' in page
    lines = client.get(reverse("report:download", args=[2024, "csv"]) + "?by=trends").content.decode().splitlines()
    assert any(line.startswith("2024,national,national,positron_units,4,4,") for line in lines)
    assert any(line.startswith("2019,national,national,positron_units,") for line in lines)
