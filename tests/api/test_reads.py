"""Reading through the API: the codebook, figures equal to the CSV export, returns with cursor
pages, filters and conditional requests."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from institutions.models import Province
from reporting.models import ReturnStatus, SurveyReturn
from reporting.services.publication import edition_publish
from tests.api.conftest import bearer, token_for
from tests.factories import (
    InstitutionFactory,
    approved_pair,
    complete_values,
    liaison,
    reporter,
    society_admin,
    survey_return,
)

# The app also runs on SQLite (make run): the API works there too.
pytestmark = pytest.mark.sqlite


@pytest.fixture
def approved(edition):
    """Three approved returns in two provinces, aggregated (figures with odd decimals and growth)."""
    approved_pair(edition)
    survey_return(edition=edition, institution=InstitutionFactory(code="E3"), status=ReturnStatus.APPROVED,
                  values=complete_values(edition, eq_pet_ct=1, staff_physician=2, staff_nurse=5, svc_pet=True,
                                         hospital_level="secondary"))
    call_command("aggregate", "--edition", "2024", stdout=io.StringIO())


def api(user, scope="read"):
    client = Client()
    client.defaults.update(bearer(token_for(user, scope)))
    return client


def _csv_rows(content: str) -> list[list[str]]:
    """The contract columns edition,group_by,group,key,value of a figures CSV (the download adds
    columns for people after them)."""
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    assert rows[0][:5] == ["edition", "group_by", "group", "key", "value"]
    return [row[:5] for row in rows[1:]]


def _api_rows(body: dict) -> list[list[str]]:
    return [[str(body["edition"]), f["group_by"], f["group"], f["key"], f["value"] or ""] for f in body["items"]]


def test_live_figures_equal_the_csv_export_bit_for_bit(approved):
    admin = society_admin()
    body = api(admin).get("/api/v1/editions/2024/figures?live=true").json()
    assert body["source"] == "live" and body["revision"] is None and body["next"] is None
    page = Client()
    page.force_login(admin)
    download = page.get("/report/2024/figures.csv?by=all").content.decode()
    assert _api_rows(body) == _csv_rows(download)
    assert len(body["items"]) > 163  # national and every breakdown
    national = api(admin).get("/api/v1/editions/2024/figures?group_by=national").json()
    out = io.StringIO()
    call_command("export_figures", "--edition", "2024", stdout=out, stderr=io.StringIO())
    assert _api_rows(national) == _csv_rows(out.getvalue())
    values = {f["key"]: f["value"] for f in national["items"]}
    assert values["dept_total"] == "3" and values["pet_exam_tumor_pct"] is None
    assert "." in values["co_exam_growth"]  # unrounded decimals as text, as the CSV writes them


def test_figures_of_each_published_revision_and_errata(approved, edition):
    admin = society_admin()
    edition_publish(edition=edition, actor=admin, note="")
    survey_return(edition=edition, institution=InstitutionFactory(code="E4"), status=ReturnStatus.APPROVED,
                  values=complete_values(edition, eq_pet_ct=7))
    edition_publish(edition=edition, actor=admin, note="E4 was late")
    client, page = api(reporter()), Client()
    page.force_login(admin)
    for revision in (1, 2):
        body = client.get(f"/api/v1/editions/2024/figures?revision={revision}").json()
        assert body["source"] == "publication" and body["revision"] == revision
        download = page.get(f"/report/2024/figures.csv?by=all&revision={revision}").content.decode()
        assert _api_rows(body) == _csv_rows(download)
    latest = client.get("/api/v1/editions/2024/figures").json()
    assert latest["revision"] == 2  # readers get the latest revision, as on the report page
    publications = client.get("/api/v1/editions/2024/publications").json()["items"]
    assert [p["revision"] for p in publications] == [1, 2] and publications[0]["errata"] == []
    dept_total = [e for e in publications[1]["errata"] if e["key"] == "dept_total" and e["group_by"] == "national"]
    assert dept_total == [{"group_by": "national", "group": "national", "key": "dept_total", "old": "3", "new": "4"}]
    assert publications[1]["note"] == "E4 was late" and publications[1]["returns"] == 4
    assert client.get("/api/v1/editions/2024/figures?revision=9").status_code == 404


def test_live_figures_of_a_published_edition_are_for_reviewers(approved, edition):
    admin = society_admin()
    edition_publish(edition=edition, actor=admin, note="")
    survey_return(edition=edition, institution=InstitutionFactory(code="E4"), status=ReturnStatus.APPROVED,
                  values=complete_values(edition, eq_pet_ct=7))
    call_command("aggregate", "--edition", "2024", stdout=io.StringIO())  # the live figures move on past revision 1
    national = "/api/v1/editions/2024/figures?group_by=national&key=dept_total&live=true"
    assert api(admin).get(national).json()["items"][0]["value"] == "4"
    body = api(reporter()).get(national).json()  # as on the report page: the published figures
    assert body["source"] == "publication" and body["revision"] == 1
    assert body["items"][0]["value"] == "3"


def test_figures_filter_by_breakdown_group_and_key(approved):
    client = api(liaison())
    body = client.get("/api/v1/editions/2024/figures?group_by=province&group=65&key=dept_total&key=dept_public").json()
    assert [(f["group_by"], f["group"], f["key"], f["value"]) for f in body["items"]] == [
        ("province", "65", "dept_total", "1"), ("province", "65", "dept_public", "0")]


def test_figures_conditional_request_costs_one_query_and_changes_with_the_figures(approved, edition):
    client = api(reporter())
    first = client.get("/api/v1/editions/2024/figures")
    etag = first["ETag"]
    assert first["Last-Modified"] and first["Cache-Control"] == "private, no-cache"
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/api/v1/editions/2024/figures", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and not again.content
    figure_queries = [q for q in queries.captured_queries if "figurevalue" in q["sql"] or "publication" in q["sql"]]
    assert len(figure_queries) == 2  # is there a revision; the live figures' version
    # Another filter is another representation.
    assert client.get("/api/v1/editions/2024/figures?group_by=national", HTTP_IF_NONE_MATCH=etag).status_code == 200
    survey_return(edition=edition, institution=InstitutionFactory(code="E9"), status=ReturnStatus.APPROVED,
                  values=complete_values(edition, eq_pet_ct=4))
    call_command("aggregate", "--edition", "2024", stdout=io.StringIO())
    changed = client.get("/api/v1/editions/2024/figures", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    # The body kept for the old version is not served for the new one.
    dept_total = [f["value"] for f in changed.json()["items"] if f["key"] == "dept_total" and f["group"] == "national"]
    assert dept_total == ["4"]


def test_editions_questionnaire_and_indicators_form_a_codebook(edition):
    client = api(reporter())
    editions = client.get("/api/v1/editions").json()
    assert [e["year"] for e in editions["items"]] == [2019, 2024] and editions["next"] is None
    assert client.get("/api/v1/editions/2024").json()["previous"] == 2019
    assert client.get("/api/v1/editions/2031").status_code == 404
    codebook = client.get("/api/v1/editions/2024/questionnaire")
    body = codebook.json()
    items = {i["code"]: i for i in body["items"]}
    assert len(items) == 123
    assert items["iv_samples"]["applies_if"] == "svc_in_vitro"
    assert items["staff_nurse"]["part_of"] == "staff"
    ownership = items["ownership"]
    assert ownership["type"] == "choice" and {"code": "public", "label_en": "Public", "label_zh": "公立"} in ownership["choices"]
    assert items["eq_pet_ct"]["unit_zh"] and items["eq_pet_ct"]["label_en"]
    assert any(r["code"] == "personnel_title_sum" for r in body["rules"])
    assert "staff_nurse" in next(g for g in body["groups"] if g["code"] == "staff")["items"]
    assert client.get("/api/v1/editions/2024/questionnaire", HTTP_IF_NONE_MATCH=codebook["ETag"]).status_code == 304
    indicators = client.get("/api/v1/editions/2024/indicators").json()["items"]
    assert indicators[0] == {"key": "dept_total", "position": 1, "section": "department", "format": "int",
                             "definition": "N", "label_en": "Departments in the survey", "label_zh": "参加普查的科室（家）"}


def test_chinese_comes_as_text_not_escapes(edition):
    content = api(reporter()).get("/api/v1/editions/2024/indicators").content.decode()
    assert "参加普查的科室" in content


# --- returns ---------------------------------------------------------------------------------------


@pytest.fixture
def returns_world(edition):
    beijing = [InstitutionFactory(code=f"B{n}") for n in range(5)]
    xinjiang = [InstitutionFactory(code=f"X{n}", province=Province.objects.get(code="65")) for n in range(3)]
    returns = {}
    for n, institution in enumerate(beijing + xinjiang):
        returns[institution.code] = survey_return(
            edition=edition, institution=institution,
            status=ReturnStatus.APPROVED if n % 2 else ReturnStatus.DRAFT,
            values={"eq_pet_ct": n, "svc_pet": True, "ownership": "public", "op_suggestions": f"建议 {n}"},
        )
    return {"beijing": beijing, "xinjiang": xinjiang, "returns": returns}


def _all_pages(client, url):
    items, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        items += body["items"]
        url = body["next"]
        pages += 1
        assert pages < 50
    return items, pages


def test_returns_carry_typed_answers(returns_world):
    body = api(society_admin()).get("/api/v1/returns?institution=B3").json()
    [item] = body["items"]
    assert item["institution"] == "B3" and item["province"] == "11" and item["status"] == "approved"
    assert item["answers"]["eq_pet_ct"] == 3 and item["answers"]["svc_pet"] is True
    assert item["answers"]["ownership"] == "public" and item["answers"]["op_suggestions"] == "建议 3"
    assert "eq_spect_ct" not in item["answers"]  # unanswered items are absent
    assert api(society_admin()).get("/api/v1/returns?institution=B3&answers=false").json()["items"][0]["answers"] is None
    # Times to the microsecond, the same in the list and in the detail (a cursor needs them exact).
    detail = api(society_admin()).get(f"/api/v1/returns/{item['id']}").json()
    stored = SurveyReturn.objects.get(pk=item["id"]).updated_at
    assert detail["updated_at"] == item["updated_at"]
    assert dt.datetime.fromisoformat(item["updated_at"].replace("Z", "+00:00")) == stored


def test_cursor_pages_cover_every_return_once_in_a_stable_order(returns_world):
    client = api(society_admin())
    items, pages = _all_pages(client, "/api/v1/returns?limit=3")
    assert pages == 3
    assert sorted(i["institution"] for i in items) == sorted(returns_world["returns"])
    assert [(i["updated_at"], i["id"]) for i in items] == sorted((i["updated_at"], i["id"]) for i in items)
    first = client.get("/api/v1/returns?limit=3")
    assert first["Link"].endswith('>; rel="next"') and "cursor=" in first.json()["next"]


def test_a_return_changed_during_paging_is_not_lost(returns_world):
    client = api(society_admin())
    first = client.get("/api/v1/returns?limit=4").json()
    seen = {i["institution"] for i in first["items"]}
    # One not yet read moves to the end, one already read changes too: both come (again) later.
    unread = next(code for code in returns_world["returns"] if code not in seen)
    SurveyReturn.objects.filter(institution__code__in=[unread, first["items"][0]["institution"]]).update(
        updated_at=timezone.now(), version=7)
    rest, _pages = _all_pages(client, first["next"])
    assert seen | {i["institution"] for i in rest} == set(returns_world["returns"])
    assert first["items"][0]["institution"] in {i["institution"] for i in rest}


def test_page_size_has_a_hard_cap(returns_world):
    client = api(society_admin())
    nul = client.get("/api/v1/returns", {"institution": "B\x001"})
    assert nul.status_code == 422 and nul["Content-Type"].startswith("application/json")  # not the site's HTML 400
    assert client.get("/api/v1/returns?limit=1001").status_code == 422
    assert client.get("/api/v1/returns?limit=0").status_code == 422
    assert client.get("/api/v1/returns?cursor=bm9wZQ").status_code == 422


def test_filters_status_province_institution_changed_since(returns_world):
    client = api(society_admin())
    approved, _ = _all_pages(client, "/api/v1/returns?status=approved")
    assert {i["status"] for i in approved} == {"approved"} and len(approved) == 4
    both, _ = _all_pages(client, "/api/v1/returns?status=approved&status=draft")
    assert len(both) == 8
    xinjiang, _ = _all_pages(client, "/api/v1/returns?province=65")
    assert {i["institution"] for i in xinjiang} == {"X0", "X1", "X2"}
    later = timezone.now() + dt.timedelta(seconds=1)
    SurveyReturn.objects.filter(institution__code="B2").update(updated_at=later + dt.timedelta(seconds=5))
    since = (later).isoformat()
    changed, _ = _all_pages(client, f"/api/v1/returns?changed_since={since.replace('+', '%2B')}")
    assert [i["institution"] for i in changed] == ["B2"]
    assert client.get("/api/v1/returns?edition=2019").json()["items"] == []
    assert client.get("/api/v1/returns?edition=2031").status_code == 404


def test_returns_list_and_detail_answer_304_when_unchanged(returns_world):
    client = api(society_admin())
    listing = client.get("/api/v1/returns?province=65")
    assert client.get("/api/v1/returns?province=65", HTTP_IF_NONE_MATCH=listing["ETag"]).status_code == 304
    target = returns_world["returns"]["X1"]
    detail = client.get(f"/api/v1/returns/{target.pk}")
    assert detail.json()["answers"]["eq_pet_ct"] == 6
    assert client.get(f"/api/v1/returns/{target.pk}", HTTP_IF_NONE_MATCH=detail["ETag"]).status_code == 304
    assert client.get(f"/api/v1/returns/{target.pk}", HTTP_IF_MODIFIED_SINCE=detail["Last-Modified"]).status_code == 304
    SurveyReturn.objects.filter(pk=target.pk).update(version=2, updated_at=timezone.now() + dt.timedelta(seconds=2))
    assert client.get(f"/api/v1/returns/{target.pk}", HTTP_IF_NONE_MATCH=detail["ETag"]).status_code == 200
    assert client.get("/api/v1/returns?province=65", HTTP_IF_NONE_MATCH=listing["ETag"]).status_code == 200


def test_a_page_of_returns_reads_a_fixed_number_of_queries(returns_world, django_assert_num_queries):
    client = api(society_admin())
    client.get("/api/v1/me")  # the token's last use is written once a minute, not in the count below
    # token (with user and role), page, items of the editions, answers
    with django_assert_num_queries(4):
        small = client.get("/api/v1/returns?limit=2")
    with django_assert_num_queries(4):
        large = client.get("/api/v1/returns?limit=100")
    assert len(small.json()["items"]) == 2 and len(large.json()["items"]) == 8


def test_figures_read_a_fixed_number_of_queries(approved, django_assert_num_queries):
    client = api(society_admin())
    client.get("/api/v1/me")
    # token, edition, publication?, live version, indicator positions, figures
    with django_assert_num_queries(6):
        assert client.get("/api/v1/editions/2024/figures").status_code == 200
