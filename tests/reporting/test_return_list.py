"""The returns list: search, filters, pagination, the active filters, scoping and query counts."""

import re

import pytest
from django.test import Client

from reporting.models import ReturnStatus
from tests import factories
from tests.reporting import entry_support

open_edition = entry_support.open_edition  # a shared fixture
URL = "/returns/"


@pytest.fixture
def many(open_edition):
    """60 Beijing returns and 5 Shanghai ones, of several levels, ownerships and statuses."""
    beijing, shanghai = [], []
    for n in range(60):
        institution = factories.InstitutionFactory(
            code=f"BJ{n:04d}", name=f"北京第{n}医院", name_en=f"Beijing Hospital {n}", province_id="11",
            hospital_level="tertiary_a" if n % 3 else "secondary", ownership="nonpublic" if n % 10 == 0 else "public",
        )
        status = ReturnStatus.SUBMITTED if n % 4 == 0 else ReturnStatus.DRAFT
        beijing.append(factories.survey_return(edition=open_edition, institution=institution, status=status))
    for n in range(5):
        institution = factories.InstitutionFactory(code=f"SH{n:04d}", name=f"上海第{n}医院", province_id="31",
                                                   hospital_level="secondary")
        shanghai.append(factories.survey_return(edition=open_edition, institution=institution,
                                                status=ReturnStatus.SUBMITTED))
    return {
        "edition": open_edition, "beijing": beijing, "shanghai": shanghai,
        "reporter": factories.reporter(beijing[0].institution),
        "liaison": factories.liaison("11"),
        "admin": factories.society_admin(),
    }


def _get(user, query: str = "") -> str:
    client = Client()
    client.force_login(user)
    response = client.get(URL + query)
    assert response.status_code == 200
    return response.content.decode()


def _codes(html: str) -> set[str]:
    table = html[html.index('data-testid="return-list"'):]
    return set(re.findall(r'<td [^>]*data-code>((?:BJ|SH|T)\d+)</td>', table))


def test_admin_searches_by_code_and_by_name(many):
    assert _codes(_get(many["admin"], "?q=BJ0007")) == {"BJ0007"}
    assert _codes(_get(many["admin"], "?q=上海第3")) == {"SH0003"}
    assert _codes(_get(many["admin"], "?q=beijing hospital 12")) == {"BJ0012"}  # English name, any case
    assert _codes(_get(many["admin"], "?q=nothing-like-this")) == set()


def test_admin_filters_combine(many):
    html = _get(many["admin"], "?province=11&status=submitted&hospital_level=secondary")
    # Beijing, submitted (n % 4 == 0) and secondary (n % 3 == 0): n = 0, 12, 24, 36, 48.
    assert _codes(html) == {f"BJ{n:04d}" for n in (0, 12, 24, 36, 48)}
    assert _codes(_get(many["admin"], "?province=31")) == {f"SH{n:04d}" for n in range(5)}
    assert _codes(_get(many["admin"], "?province=11&ownership=nonpublic")) == {f"BJ{n:04d}" for n in range(0, 60, 10)}


def test_the_active_filters_are_named_with_a_way_to_remove_each_and_all(many):
    html = _get(many["admin"], "?province=31&status=submitted")
    active = html[html.index('data-testid="active-filters"'):html.index('data-testid="return-list"')]
    assert "5 份报表符合条件" in active
    assert "省份: 上海市" in active and "状态: 已提交" in active
    # Removing one filter keeps the other.
    assert 'href="?status=submitted"' in active and 'href="?province=31"' in active
    assert 'data-testid="clear-filters"' in active and f'href="{URL}"' in active
    unfiltered = _get(many["admin"])
    assert 'data-testid="clear-filters"' not in unfiltered and "65 份报表，未筛选" in unfiltered


def test_pagination_keeps_the_filters(many):
    html = _get(many["admin"], "?province=11&hospital_level=tertiary_a")  # 40 returns: one page
    assert 'data-testid="next-page"' not in html
    html = _get(many["admin"], "?province=11")  # 60 returns: two pages of 50
    assert len(_codes(html)) == 50
    next_link = re.search(r'href="([^"]+)"[^>]*data-testid="next-page"', html).group(1)
    assert next_link == "?province=11&amp;page=2"
    second = _get(many["admin"], "?province=11&page=2")
    assert len(_codes(second)) == 10 and not _codes(second) & {"SH0000"}
    assert "?province=11&amp;page=1" in second  # back, filters kept


def test_a_liaison_filtering_by_another_province_sees_nothing(many):
    assert _codes(_get(many["liaison"], "?province=31")) == set()
    assert _codes(_get(many["liaison"], "?q=SH")) == set()
    assert len(_codes(_get(many["liaison"], "?status=submitted"))) == 15
    html = _get(many["liaison"])
    assert 'name="province"' not in html  # the province filter is the admins'
    assert 'name="hospital_level"' in html and 'name="ownership"' in html and 'name="q"' in html


def test_a_reporter_sees_only_their_return_whatever_the_filters(many):
    html = _get(many["reporter"], "?province=31&q=SH")
    assert 'data-testid="return-filters"' not in html
    assert _codes(html) == {"BJ0000"}


def test_a_bad_filter_value_is_named_and_ignored(many):
    html = _get(many["admin"], "?status=bogus&province=31")
    errors = html[html.index('data-testid="filter-errors"'):]
    assert "状态" in errors[:300] and "bogus" in errors[:300]
    assert _codes(html) == {f"SH{n:04d}" for n in range(5)}  # the valid filter still applies


@pytest.mark.parametrize("role, queries", [
    # session, user, membership, current edition, (provinces,) count, page (, start allowed?)
    ("reporter", 6), ("liaison", 7), ("admin", 7),
])
def test_query_count_is_pinned_per_role_and_does_not_grow(many, role, queries, django_assert_num_queries):
    client = Client()
    client.force_login(many[role])
    query = "?q=BJ&status=submitted&hospital_level=tertiary_a&ownership=public" + ("&province=11" if role == "admin" else "")
    client.get(URL + query)
    with django_assert_num_queries(queries):
        assert client.get(URL + query).status_code == 200
    for n in range(20):
        institution = factories.InstitutionFactory(code=f"BJ9{n:03d}", province_id="11")
        factories.survey_return(edition=many["edition"], institution=institution, status=ReturnStatus.SUBMITTED)
    with django_assert_num_queries(queries):
        assert client.get(URL + query).status_code == 200
