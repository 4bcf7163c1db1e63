"""From the outside: every API endpoint × role × another's object, compared with the web pages.

A reporter reaches their institution only, a liaison their province, an admin everything; a
return someone may not see is a 404 (never a 403, which would say it exists), for reading and
for every write; lists never carry another's rows.
"""

import pytest
from django.test import Client

from reporting.models import AuditEvent, SurveyReturn
from tests.api.conftest import bearer, token_for
from tests.reporting import entry_support

open_edition, world = entry_support.open_edition, entry_support.world

ROLES = ["reporter", "reporter_other", "reporter_shanghai", "liaison", "liaison_shanghai", "admin"]
RETURNS = ["return", "return_other", "return_shanghai"]
# The status each role gets reading each return: 200 where the web page opens, 404 elsewhere.
VISIBLE = {
    "reporter": {"return"},
    "reporter_other": {"return_other"},
    "reporter_shanghai": {"return_shanghai"},
    "liaison": {"return", "return_other"},
    "liaison_shanghai": {"return_shanghai"},
    "admin": set(RETURNS),
}
WRITES = [
    ("/api/v1/returns/{pk}/submit", {"version": 1}),
    ("/api/v1/returns/{pk}/review", {"version": 1}),
    ("/api/v1/returns/{pk}/send-back", {"version": 1, "comment": "x"}),
    ("/api/v1/returns/{pk}/approve", {"version": 1}),
]


@pytest.fixture
def clients(world):
    result = {}
    for role in ROLES:
        client = Client()
        client.defaults.update(bearer(token_for(world[role], "write")))
        result[role] = client
    return result


@pytest.mark.parametrize("role", ROLES)
def test_reading_a_return_matches_the_web_page(world, clients, role):
    web = Client()
    web.force_login(world[role])
    for name in RETURNS:
        pk = world[name].pk
        api_status = clients[role].get(f"/api/v1/returns/{pk}").status_code
        web_status = web.get(f"/returns/{pk}/").status_code
        assert api_status == (200 if name in VISIBLE[role] else 404), (role, name)
        assert (api_status == 200) == (web_status == 200), (role, name, web_status)


@pytest.mark.parametrize("role", ROLES)
def test_lists_carry_only_what_the_role_may_see(world, clients, role):
    client = clients[role]
    expected = {world[name].pk for name in VISIBLE[role]}
    assert {r["id"] for r in client.get("/api/v1/returns?limit=1000").json()["items"]} == expected
    codes = {world[name].institution.code for name in VISIBLE[role]}
    institutions = {i["code"] for i in client.get("/api/v1/institutions?limit=1000").json()["items"]}
    assert codes <= institutions
    assert institutions <= {world[key].code for key in ("beijing", "beijing_other", "shanghai")} or role == "admin"
    for name in set(RETURNS) - VISIBLE[role]:
        foreign = world[name].institution.code
        assert client.get(f"/api/v1/returns?institution={foreign}").json()["items"] == []
        assert foreign not in {i["code"] for i in client.get("/api/v1/institutions?limit=1000").json()["items"]}
        province = world[name].institution.province_id
        assert {r["id"] for r in client.get(f"/api/v1/returns?province={province}").json()["items"]} <= expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path, data", WRITES)
def test_workflow_on_a_return_one_may_not_see_is_404_and_changes_nothing(world, clients, role, path, data):
    for name in set(RETURNS) - VISIBLE[role]:
        pk = world[name].pk
        response = clients[role].post(path.format(pk=pk), data, content_type="application/json")
        assert response.status_code == 404, (role, name, response.content)
        assert SurveyReturn.objects.get(pk=pk).version == 1
    assert not AuditEvent.objects.filter(source="api").exists()


@pytest.mark.parametrize("role", ROLES)
def test_push_for_an_institution_one_may_not_see_is_as_if_it_did_not_exist(world, clients, role):
    for name in set(RETURNS) - VISIBLE[role]:
        code = world[name].institution.code
        response = clients[role].post("/api/v1/editions/2024/values", {"returns": [
            {"institution": code, "version": 1, "values": {"pet_exam_tumor": 1}}]}, content_type="application/json")
        assert response.status_code == 422
        [problem] = response.json()["problems"]
        assert problem["rule"] == "unknown_institution"
        unknown = clients[role].post("/api/v1/editions/2024/values", {"returns": [
            {"institution": "NO-SUCH", "version": 1, "values": {}}]}, content_type="application/json")
        # The same words for another's institution and for none at all: nothing leaks.
        assert problem["message"].replace(code, "NO-SUCH") == unknown.json()["problems"][0]["message"]
    assert not AuditEvent.objects.filter(source="api").exists()


@pytest.mark.parametrize("role", ROLES)
def test_who_may_act_on_a_visible_return(world, clients, role):
    """On a return one may see: submit is the reporter's (and an admin's), review and send back
    the province's liaison's (and an admin's), approve an admin's; others get 403."""
    may = {
        "submit": {"reporter", "reporter_other", "reporter_shanghai", "admin"},
        "review": {"liaison", "liaison_shanghai", "admin"},
        "send-back": {"liaison", "liaison_shanghai", "admin"},
        "approve": {"admin"},
    }
    for name in VISIBLE[role]:
        pk = world[name].pk
        for path, data in WRITES:
            action = path.split("/")[-1]
            status = clients[role].post(path.format(pk=pk), data, content_type="application/json").status_code
            if role in may[action]:
                assert status != 403, (role, name, action)  # allowed; the draft's state decides (409/422/200)
            else:
                assert status == 403, (role, name, action, status)


@pytest.mark.parametrize("path", [
    "/api/v1/me", "/api/v1/editions", "/api/v1/editions/2024", "/api/v1/editions/2024/questionnaire",
    "/api/v1/editions/2024/indicators", "/api/v1/editions/2024/figures", "/api/v1/editions/2024/publications",
])
def test_national_reads_are_open_to_every_role_and_closed_without_a_token(world, clients, path):
    for role in ROLES:
        assert clients[role].get(path).status_code == 200, role
    assert Client().get(path).status_code == 401
