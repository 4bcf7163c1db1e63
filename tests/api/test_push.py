"""Writing through the API: pushes of values (dry run, all or nothing, every problem at once,
stale versions), the absent-field rule, the audit trail, and the workflow actions."""

import pytest
from django.test import Client

from reporting.models import Answer, AuditEvent, ReturnStatus, ReviewComment, SurveyReturn
from tests.api.conftest import bearer, token_for
from tests.reporting import entry_support
from tests.reporting.entry_support import answers_store, clean_values

open_edition, world = entry_support.open_edition, entry_support.world

# The app also runs on SQLite (make run): the API works there too.
pytestmark = pytest.mark.sqlite


def api(user, scope="write"):
    client = Client()
    client.defaults.update(bearer(token_for(user, scope)))
    return client


def push(client, *returns, dry_run=False, year=2024):
    return client.post(f"/api/v1/editions/{year}/values", {"dry_run": dry_run, "returns": list(returns)},
                       content_type="application/json")


def snapshot():
    """Everything a push could write."""
    return (
        sorted(Answer.objects.values_list("survey_return_id", "item_id", "int_value", "bool_value", "text_value")),
        sorted(SurveyReturn.objects.values_list("id", "version", "status")),
        AuditEvent.objects.exclude(kind=AuditEvent.Kind.TOKEN).count(),
    )


def answers(survey_return) -> dict:
    from reporting.services.returns import return_values

    return return_values(SurveyReturn.objects.get(pk=survey_return.pk))


def test_reporter_push_writes_values_audited_as_api_with_the_token_owner(world):
    ret = world["return"]
    answers_store(ret, {"pet_exam_tumor": 1, "svc_pet": True})
    response = push(api(world["reporter"]), {
        "institution": world["beijing"].code, "version": 1,
        "values": {"pet_exam_tumor": "1,200", "svc_in_vitro": "是", "ownership": "公立"},
    })
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["written"] and not body["dry_run"]
    [result] = body["returns"]
    assert result["version"] == 1 and result["new_version"] == 2 and result["return_id"] == ret.pk
    assert {c["item"]: (c["old"], c["new"]) for c in result["changes"]} == {
        "pet_exam_tumor": (1, 1200), "svc_in_vitro": (None, True), "ownership": (None, "public")}
    assert answers(ret) == {"pet_exam_tumor": 1200, "svc_pet": True, "svc_in_vitro": True, "ownership": "public"}
    events = AuditEvent.objects.filter(survey_return=ret, kind="value")
    assert {(e.item_code, e.source, e.actor_id, e.return_version) for e in events} == {
        ("pet_exam_tumor", "api", world["reporter"].pk, 2), ("svc_in_vitro", "api", world["reporter"].pk, 2),
        ("ownership", "api", world["reporter"].pk, 2)}


def test_absent_items_are_left_null_clears_and_items_that_stop_applying_are_cleared(world):
    ret = world["return"]
    answers_store(ret, {"pet_exam_tumor": 4, "svc_in_vitro": True, "iv_samples": 30, "ownership": "public"})
    response = push(api(world["reporter"]), {
        "institution": world["beijing"].code, "version": 1, "values": {"ownership": None, "svc_in_vitro": False},
    })
    assert response.status_code == 200, response.content
    assert answers(ret) == {"pet_exam_tumor": 4, "svc_in_vitro": False}
    assert response.json()["returns"][0]["not_applicable"] == ["iv_samples"]
    # Nothing sent: nothing changes, the version stays.
    assert push(api(world["reporter"]), {"institution": world["beijing"].code, "version": 2, "values": {}}).json()[
        "returns"][0]["new_version"] == 2
    assert SurveyReturn.objects.get(pk=ret.pk).version == 2


def test_dry_run_reports_the_changes_and_warnings_and_writes_nothing(world):
    answers_store(world["return"], {"pet_exam_tumor": 1})
    before = snapshot()
    response = push(api(world["admin"]), {
        "institution": world["beijing"].code, "version": 1,
        "values": {"pet_exam_tumor": 5, "svc_in_vitro": "no", "iv_samples": 40},
    }, {"institution": world["shanghai"].code, "version": 1, "values": {"sp_exam_skeletal": 2}}, dry_run=True)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] and not body["written"]
    first, second = body["returns"]
    assert first["new_version"] == 2 and {c["item"] for c in first["changes"]} == {"pet_exam_tumor", "svc_in_vitro"}
    assert [w["rule"] for w in first["warnings"] if w["item"] == "iv_samples"] == ["applies_if"]
    assert second["institution"] == world["shanghai"].code
    assert snapshot() == before


def test_one_bad_value_writes_nothing_and_every_problem_is_listed(world):
    answers_store(world["return"], {"pet_exam_tumor": 1})
    before = snapshot()
    response = push(api(world["admin"]), {
        "institution": world["beijing"].code, "version": 1, "values": {"pet_exam_tumor": 3},  # fine on its own
    }, {
        "institution": world["shanghai"].code, "version": 1,
        "values": {"sp_exam_skeletal": "四", "svc_pet": "maybe", "nonsense": 1, "ownership": "public"},
    }, {
        "institution": "NOPE", "values": {},
    }, {
        "institution": world["beijing_other"].code, "version": 1,
        "values": {"staff_physician": 5, "title_senior": 1},  # personnel sums disagree: a rule error
    })
    assert response.status_code == 422, response.content
    body = response.json()
    problems = {(p["institution"], p["item"], p["rule"]) for p in body["problems"]}
    shanghai, other = world["shanghai"].code, world["beijing_other"].code
    assert {(shanghai, "sp_exam_skeletal", "value"), (shanghai, "svc_pet", "value"), (shanghai, "nonsense", "unknown_item"),
            ("NOPE", None, "unknown_institution")} <= problems
    assert any(i == other and rule == "personnel_title_sum" for i, _item, rule in problems)
    assert all(p["message"] for p in body["problems"]) and body["conflicts"] == []
    assert snapshot() == before
    # A dry run of the same push lists the same problems.
    dry = push(api(world["admin"]), *[{"institution": "NOPE", "values": {}}], dry_run=True)
    assert dry.status_code == 422 and dry.json()["dry_run"] is True


def test_stale_version_is_409_with_what_changed_and_writes_nothing(world):
    ret = world["return"]
    client = api(world["reporter"])
    assert push(client, {"institution": world["beijing"].code, "version": 1, "values": {"pet_exam_tumor": 2}}).status_code == 200
    before = snapshot()
    response = push(client, {"institution": world["beijing"].code, "version": 1, "values": {"pet_exam_tumor": 9}},
                    {"institution": world["beijing"].code + "x", "values": {}})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "stale_version"
    [conflict] = body["conflicts"]
    assert conflict["return_id"] == ret.pk and conflict["expected_version"] == 1 and conflict["current_version"] == 2
    assert [(c["item"], c["old"], c["new"], c["actor"]) for c in conflict["changes"]] == [
        ("pet_exam_tumor", "", "2", world["reporter"].username)]
    assert body["problems"][0]["rule"] == "unknown_institution"  # the other problems are listed too
    assert snapshot() == before
    missing = push(client, {"institution": world["beijing"].code, "values": {"pet_exam_tumor": 9}})
    assert missing.status_code == 422 and missing.json()["problems"][0]["rule"] == "version_required"


def test_a_push_starts_a_missing_return_as_a_draft(world):
    SurveyReturn.objects.filter(pk=world["return"].pk).delete()
    response = push(api(world["reporter"]), {"institution": world["beijing"].code, "values": {"pet_exam_tumor": 1}})
    assert response.status_code == 200, response.content
    [result] = response.json()["returns"]
    assert result["created"] and result["new_version"] == 2
    created = SurveyReturn.objects.get(pk=result["return_id"])
    assert created.status == ReturnStatus.DRAFT and created.version == 2
    assert AuditEvent.objects.filter(survey_return=created, kind="status", source="api").exists()


def test_a_push_respects_who_may_edit(world):
    before = snapshot()
    # Another institution of the same province, another province: as if they did not exist.
    for target in ("beijing_other", "shanghai"):
        body = push(api(world["reporter"]), {"institution": world[target].code, "version": 1, "values": {}}).json()
        assert body["problems"][0]["rule"] == "unknown_institution"
    # A liaison sees the province's returns but edits none.
    body = push(api(world["liaison"]), {"institution": world["beijing"].code, "version": 1, "values": {"pet_exam_tumor": 1}}).json()
    assert body["problems"][0]["rule"] == "not_editable"
    # A submitted return is not the reporter's to edit any more.
    SurveyReturn.objects.filter(pk=world["return"].pk).update(status=ReturnStatus.SUBMITTED)
    body = push(api(world["reporter"]), {"institution": world["beijing"].code, "version": 1, "values": {"pet_exam_tumor": 1}}).json()
    assert body["problems"][0]["rule"] == "not_editable"
    assert snapshot()[0] == before[0]


def test_push_body_is_validated(world):
    client = api(world["admin"])
    assert push(client).status_code == 422  # no returns
    too_many = [{"institution": f"I{n}", "values": {}} for n in range(501)]
    assert push(client, *too_many).status_code == 422
    bad = client.post("/api/v1/editions/2024/values", {"returns": [{"institution": "a\x00b", "values": {}}]},
                      content_type="application/json")
    assert bad.status_code == 422
    assert client.post("/api/v1/editions/2024/values", "not json", content_type="application/json").status_code in (400, 422)
    assert push(client, {"institution": "X", "values": {}}, year=2031).status_code == 404
    huge = '{"returns": [{"institution": "x", "values": {"op_suggestions": "' + "x" * (21 * 1024 * 1024) + '"}}]}'
    too_large = client.post("/api/v1/editions/2024/values", huge, content_type="application/json")
    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large"


# --- workflow ---------------------------------------------------------------------------------------


def post(client, path, data):
    return client.post(path, data, content_type="application/json")


def test_submit_review_send_back_approve_through_the_api(world, open_edition):
    ret = world["return"]
    answers_store(ret, clean_values(open_edition))
    reporter, liaison, admin = api(world["reporter"]), api(world["liaison"]), api(world["admin"])
    response = post(reporter, f"/api/v1/returns/{ret.pk}/submit", {"version": 1})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted" and response.json()["version"] == 2
    response = post(liaison, f"/api/v1/returns/{ret.pk}/send-back",
                    {"version": 2, "comment": "Check PET", "item_comments": {"eq_pet_ct": "really 1?"}})
    assert response.status_code == 200 and response.json()["status"] == "sent_back"
    assert ReviewComment.objects.filter(survey_return=ret, item__code="eq_pet_ct").exists()
    assert post(reporter, f"/api/v1/returns/{ret.pk}/submit", {"version": 3}).json()["status"] == "submitted"
    assert post(liaison, f"/api/v1/returns/{ret.pk}/review", {"version": 4}).json()["status"] == "reviewed"
    assert post(liaison, f"/api/v1/returns/{ret.pk}/approve", {"version": 5}).status_code == 403
    assert post(admin, f"/api/v1/returns/{ret.pk}/approve", {"version": 5, "comment": "ok"}).json()["status"] == "approved"
    statuses = list(AuditEvent.objects.filter(survey_return=ret, kind="status").order_by("id")
                    .values_list("new_value", "source", "actor_id"))
    assert statuses == [
        ("submitted", "api", world["reporter"].pk), ("sent_back", "api", world["liaison"].pk),
        ("submitted", "api", world["reporter"].pk), ("reviewed", "api", world["liaison"].pk),
        ("approved", "api", world["admin"].pk),
    ]


def test_submission_blocked_by_errors_lists_them(world):
    answers_store(world["return"], {"staff_physician": 5, "title_senior": 1})
    response = post(api(world["reporter"]), f"/api/v1/returns/{world['return'].pk}/submit", {"version": 1})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "not_submittable"
    assert "personnel_title_sum" in {p["rule"] for p in body["problems"]}
    assert SurveyReturn.objects.get(pk=world["return"].pk).status == ReturnStatus.DRAFT


def test_workflow_stale_version_wrong_state_and_wrong_role(world, open_edition):
    ret = world["return"]
    answers_store(ret, clean_values(open_edition))
    reporter = api(world["reporter"])
    stale = post(reporter, f"/api/v1/returns/{ret.pk}/submit", {"version": 7})
    assert stale.status_code == 409 and stale.json()["conflicts"][0]["current_version"] == 1
    # A draft cannot be reviewed: the liaison may review, the state does not allow it.
    assert post(api(world["liaison"]), f"/api/v1/returns/{ret.pk}/review", {"version": 1}).status_code == 409
    # The reporter of another institution does not see this return.
    assert post(api(world["reporter_other"]), f"/api/v1/returns/{ret.pk}/submit", {"version": 1}).status_code == 404
    # The liaison sees it but may not submit it.
    assert post(api(world["liaison"]), f"/api/v1/returns/{ret.pk}/submit", {"version": 1}).status_code == 403
    assert post(api(world["liaison"]), f"/api/v1/returns/{ret.pk}/send-back", {"version": 1, "comment": ""}).status_code == 422
    assert SurveyReturn.objects.get(pk=ret.pk).version == 1


@pytest.mark.parametrize("scope", ["read"])
def test_workflow_needs_a_read_write_token(world, scope):
    response = post(api(world["reporter"], scope), f"/api/v1/returns/{world['return'].pk}/submit", {"version": 1})
    assert response.status_code == 403 and response.json()["code"] == "read_only_token"
