"""The admin's lists of institutions and returns at national size (1,237 rows): search,
filters and pages work, in a fixed number of queries."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from institutions.models import HospitalLevel, Institution, Ownership, Province
from reporting.models import AuditEvent, ReturnStatus, SurveyReturn
from tests import factories

NATIONAL_SIZE = 1237
LEVELS = list(HospitalLevel.values)
STATUSES = list(ReturnStatus.values)


@pytest.fixture
def national(edition):
    provinces = list(Province.objects.values_list("code", flat=True))
    Institution.objects.bulk_create([
        Institution(
            code=f"N{n:05d}", name=f"全国医院{n}", province_id=provinces[n % len(provinces)], city="某市",
            ownership=Ownership.PUBLIC if n % 3 else Ownership.NONPUBLIC, hospital_level=LEVELS[n % len(LEVELS)],
        )
        for n in range(NATIONAL_SIZE)
    ])
    SurveyReturn.objects.bulk_create([
        SurveyReturn(edition=edition, institution=institution, status=STATUSES[n % len(STATUSES)])
        for n, institution in enumerate(Institution.objects.filter(code__startswith="N").order_by("code"))
    ])
    returns = list(SurveyReturn.objects.filter(edition=edition).select_related("institution")[:300])
    AuditEvent.objects.bulk_create(
        [AuditEvent(edition=edition, survey_return=r, kind="status", source="import", new_value="draft") for r in returns]
        + [AuditEvent(institution=r.institution, kind="institution", source="admin", item_code="name",
                      subject_type=ContentType.objects.get_for_model(Institution), subject_id=str(r.institution_id),
                      subject_label=str(r.institution), new_value=r.institution.name) for r in returns]
    )
    client = Client()
    client.force_login(factories.society_admin())
    return client


def _count(response) -> int:
    assert response.status_code == 200
    return response.context["cl"].result_count


def test_institution_list_filters_searches_and_pages(national):
    client = national
    assert _count(client.get("/admin/institutions/institution/")) == NATIONAL_SIZE
    expected = Institution.objects.filter(province_id="65", ownership="public", hospital_level="secondary").count()
    assert expected and _count(client.get(
        "/admin/institutions/institution/?province__code__exact=65&ownership__exact=public&hospital_level__exact=secondary"
    )) == expected
    assert _count(client.get("/admin/institutions/institution/?q=N00123")) == 1
    assert _count(client.get("/admin/institutions/institution/?q=全国医院12")) == 1 + 10 + 37  # 12, 120-129, 1200-1236
    page = client.get("/admin/institutions/institution/?p=13")  # pages count from 1
    assert len(page.context["cl"].result_list) == NATIONAL_SIZE - 12 * 100


def test_return_list_filters_searches_and_pages(national, edition):
    client = national
    base = f"/admin/reporting/surveyreturn/?edition__id__exact={edition.pk}"
    assert _count(client.get(base)) == NATIONAL_SIZE
    expected = SurveyReturn.objects.filter(
        edition=edition, status="submitted", institution__province_id="44", institution__ownership="nonpublic",
        institution__hospital_level="tertiary_a",
    ).count()
    assert expected and _count(client.get(
        f"{base}&status__exact=submitted&institution__province__code__exact=44"
        "&institution__ownership__exact=nonpublic&institution__hospital_level__exact=tertiary_a"
    )) == expected
    assert _count(client.get(f"{base}&q=N01000")) == 1


# session, user, role, the account permissions (twice, for the side bar), counts, the filters'
# choices and one query for the 100 rows shown with what they display (list_select_related).
@pytest.mark.parametrize("url, queries", [
    ("/admin/institutions/institution/", 9),
    ("/admin/reporting/surveyreturn/", 10),
    ("/admin/reporting/auditevent/", 9),
])
def test_list_pages_take_a_fixed_number_of_queries(national, url, queries, django_assert_num_queries):
    national.get(url)  # caches filled (content types)
    with django_assert_num_queries(queries):
        response = national.get(url)
    assert len(response.context["cl"].result_list) == 100
