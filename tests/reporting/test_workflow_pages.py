"""Review, history and audit export pages through the test client."""

import csv
import io

import pytest
from django.test import Client

from reporting.models import ReturnStatus, ReviewComment, SurveyReturn
from reporting.services import returns as services
from tests.reporting import entry_support
from tests.reporting.entry_support import clean_values

# Shared fixtures of the data-entry tests.
open_edition, world = entry_support.open_edition, entry_support.world


def login(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def submitted(world):
    ret = world["return"]
    values = {**clean_values(world["edition"]), "pmr_exam_tumor": 12}
    services.return_values_save(survey_return=ret, values=values, actor=world["reporter"], expected_version=1)
    services.return_submit(survey_return=ret, actor=world["reporter"],
                           explanations={"pmr_exams_without_unit": "合作医院扫描"})
    return ret


def test_liaison_sees_values_and_warning_explanations(world, submitted):
    html = login(world["liaison"]).get(f"/returns/{submitted.pk}/review/").content.decode()
    assert "合作医院扫描" in html and 'data-testid="warning-explanations"' in html
    assert 'data-testid="mark-reviewed"' in html and 'data-testid="send-back"' in html
    assert 'data-testid="approve"' not in html  # approval is the society's


def test_send_back_with_item_comments_then_see_changes_since(world, submitted):
    liaison = login(world["liaison"])
    response = liaison.post(f"/returns/{submitted.pk}/review/", {
        "action": "send_back", "version": submitted.version,
        "send_back-comment": "请核对人员", "item_comment__staff_nurse": "护士太少", "item_comment__eq_spect": "",
    })
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == ReturnStatus.SENT_BACK
    assert {(c.item.code if c.item else None, c.body) for c in ReviewComment.objects.filter(survey_return=submitted)} == {
        (None, "请核对人员"), ("staff_nurse", "护士太少")
    }
    services.return_values_save(
        survey_return=submitted, values={"staff_nurse": 3, "title_junior": 4, "edu_undergraduate": 7},
        actor=world["reporter"], expected_version=submitted.version,
    )
    services.return_submit(survey_return=submitted, actor=world["reporter"])
    html = liaison.get(f"/returns/{submitted.pk}/review/").content.decode()
    assert 'data-testid="changes-since"' in html
    assert '<span title="staff_nurse">人员：护士（人）</span>: 2 → 3' in html  # the label, not the code
    assert "<code>staff_nurse</code>" not in html
    html = liaison.get(f"/returns/{submitted.pk}/review/?codes=1").content.decode()
    assert "人员：护士（人）</span> <code>staff_nurse</code>: 2 → 3" in html  # codes on request


def test_review_then_admin_approves(world, submitted, django_capture_on_commit_callbacks):
    response = login(world["liaison"]).post(f"/returns/{submitted.pk}/review/", {"action": "review", "version": submitted.version})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == ReturnStatus.REVIEWED
    # The liaison cannot approve.
    login(world["liaison"]).post(f"/returns/{submitted.pk}/review/", {"action": "approve", "version": submitted.version})
    assert SurveyReturn.objects.get(pk=submitted.pk).status == ReturnStatus.REVIEWED
    with django_capture_on_commit_callbacks() as callbacks:
        login(world["admin"]).post(f"/returns/{submitted.pk}/review/", {"action": "approve", "version": submitted.version})
    assert SurveyReturn.objects.get(pk=submitted.pk).status == ReturnStatus.APPROVED
    assert callbacks  # aggregation scheduled
    response = login(world["admin"]).post(f"/returns/{submitted.pk}/review/", {
        "action": "reopen", "version": submitted.version + 1, "reopen-comment": "更正设备数",
    })
    assert response.status_code == 302
    assert SurveyReturn.objects.get(pk=submitted.pk).status == ReturnStatus.SENT_BACK


def test_stale_review_action_is_refused(world, submitted):
    response = login(world["liaison"]).post(f"/returns/{submitted.pk}/review/", {"action": "review", "version": 1})
    assert response.status_code == 302
    assert SurveyReturn.objects.get(pk=submitted.pk).status == ReturnStatus.SUBMITTED


def test_history_page_lists_value_and_status_changes(world, submitted):
    reporter = login(world["reporter"])
    html = reporter.get(f"/returns/{submitted.pk}/history/").content.decode()
    assert '<span title="staff_nurse">人员：护士（人）</span>' in html and "staff_nurse</code>" not in html
    assert "<td>已提交</td>" in html  # status changes read as statuses
    assert world["reporter"].username in html
    html = reporter.get(f"/returns/{submitted.pk}/history/?codes=1").content.decode()
    assert "人员：护士（人）</span> <code class=\"small\">staff_nurse</code>" in html


def test_admin_exports_the_audit_trail_as_csv(world, submitted):
    response = login(world["admin"]).get("/audit/export.csv?edition=2024")
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    nurse = [r for r in rows if r["item_code"] == "staff_nurse"]
    assert nurse and nurse[0]["new_value"] == "2" and nurse[0]["actor"] == world["reporter"].username
    assert nurse[0]["institution_code"] == world["beijing"].code
    assert any(r["kind"] == "status" and r["new_value"] == "submitted" for r in rows)


def test_audit_export_neutralises_formulas(world):
    services.return_values_save(survey_return=world["return"], values={"op_suggestions": "=HYPERLINK(1)"},
                                actor=world["reporter"], expected_version=1)
    response = login(world["admin"]).get("/audit/export.csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text


def test_admin_opens_and_closes_the_edition(world):
    admin = login(world["admin"])
    response = admin.post("/editions/2024/", {"action": "close"})
    assert response.status_code == 302
    world["edition"].refresh_from_db()
    assert world["edition"].status == "closed"
    response = admin.post("/editions/2024/", {"action": "open", "dates-opens_on": "2026-01-01", "dates-closes_on": "2025-01-01"})
    assert response.status_code == 200  # closing before opening is refused with the form
    response = admin.post("/editions/2024/", {"action": "open", "dates-opens_on": "2020-01-01", "dates-closes_on": "2099-12-31"})
    world["edition"].refresh_from_db()
    assert world["edition"].status == "open" and str(world["edition"].closes_on) == "2099-12-31"
    response = admin.post("/editions/2024/", {"action": "extend", "ext-institution_code": world["shanghai"].code,
                                              "ext-until": "2099-01-01", "ext-reason": "洪水"})
    assert response.status_code == 302
    assert world["edition"].extensions.get().institution == world["shanghai"]
