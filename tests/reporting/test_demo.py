"""The national demo dataset reproduces the published report, and its open edition gives every
role something to do straight away."""

import datetime as dt
import io
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from institutions.models import Institution
from reporting.demo.generator import (
    count_window,
    distribute,
    quotas_from_pcts,
    rounds_to,
    split_rows,
)
from reporting.demo.open_edition import (
    LARGE_CHANGE_ITEMS,
    OPEN_EDITION_YEAR,
    REPORTER_INSTITUTION_CODE,
    REPORTER_SECTIONS_LEFT,
    DemoEditionConflict,
    entry_window,
    open_edition_load,
)
from reporting.models import (
    Answer,
    AuditEvent,
    AuditSource,
    Edition,
    FigureValue,
    Item,
    PublishedFigure,
    ReturnStatus,
    ReviewComment,
    SurveyReturn,
    WarningConfirmation,
)
from reporting.rules.engine import return_values_check
from reporting.selectors import edition_current, edition_for_report
from reporting.services import returns as return_services
from reporting.services.returns import return_check, return_values
from reporting.values import answer_value
from tests import factories
from tests.reporting.entry_support import clean_values, form_data

# The module loads the demo once (the `demo` fixture): one worker runs all of it (scripts/test.sh).
pytestmark = pytest.mark.xdist_group("demo")
PLACES = {"int": 0, "pct0": 0, "pct1": 1, "pct2": 2}
LIAISON_PROVINCE = "11"  # the province of DEMO0001, the demo reporter's institution


@pytest.mark.sqlite
def test_rounding_windows_and_splits_are_exact():
    assert count_window(Decimal("53.3"), 1237) == (659, 659)
    assert rounds_to(566, 659, Decimal("85.9"))
    quotas = quotas_from_pcts(15677, {"a": "43.0", "b": "28.5", "c": "28.5"})
    assert sum(quotas.values()) == 15677
    assert all(rounds_to(quotas[k], 15677, Decimal(p)) for k, p in {"a": "43.0", "b": "28.5", "c": "28.5"}.items())
    assert distribute(10, [1, 1, 1], minimum=2) == [4, 3, 3]
    table = split_rows([3, 0, 7, 5], {"x": 9, "y": 4, "z": 2})
    assert [sum(row.values()) for row in table] == [3, 0, 7, 5]
    assert {k: sum(row[k] for row in table) for k in "xyz"} == {"x": 9, "y": 4, "z": 2}
    assert all(v >= 0 for row in table for v in row.values())


@pytest.mark.sqlite
def test_the_entry_window_moves_only_when_today_is_outside_it():
    today = dt.date(2026, 11, 29)
    assert entry_window(edition=None, today=today) == (dt.date(2026, 10, 30), dt.date(2027, 1, 28))
    kept = Edition(opens_on=dt.date(2026, 11, 1), closes_on=dt.date(2026, 11, 29))
    assert entry_window(edition=kept, today=today) == (dt.date(2026, 11, 1), dt.date(2026, 11, 29))
    past = Edition(opens_on=dt.date(2026, 9, 1), closes_on=dt.date(2026, 11, 28))
    assert entry_window(edition=past, today=today) == (dt.date(2026, 10, 30), dt.date(2027, 1, 28))


def test_a_real_edition_of_the_demo_year_is_never_touched(edition):
    # (The module's loaded demo may be there already, in whatever order the tests run.)
    Edition.objects.update_or_create(
        year=OPEN_EDITION_YEAR,
        defaults={"data_year": OPEN_EDITION_YEAR - 1, "title_en": "real", "title_zh": "real",
                  "definition_version": f"{OPEN_EDITION_YEAR}.1"},
    )
    with pytest.raises(DemoEditionConflict):
        open_edition_load(dataset=[])
    assert Edition.objects.get(year=OPEN_EDITION_YEAR).title_en == "real"


@pytest.fixture
def submitted(edition):
    """A clean return of a Beijing institution, submitted while entry is open."""
    today = timezone.localdate()
    edition.opens_on, edition.closes_on = today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    edition.save()
    survey_return = factories.survey_return(edition=edition, values=clean_values(edition))
    return_services.return_submit(survey_return=survey_return, actor=None, source=AuditSource.DEMO)
    return survey_return


def test_only_the_demo_source_acts_without_a_user(submitted):
    """The workflow's checks of the acting user are skipped for the demo loader only."""
    reporter = factories.reporter(submitted.institution)
    for source in (AuditSource.WEB, AuditSource.ADMIN, AuditSource.IMPORT, AuditSource.SYSTEM):
        with pytest.raises(return_services.ReturnActionRefused):
            return_services.return_review(survey_return=submitted, actor=reporter, source=source)
        with pytest.raises(return_services.ReturnActionRefused):
            return_services.return_send_back(survey_return=submitted, actor=None, comment="x", source=source)
    return_services.return_review(survey_return=submitted, actor=None, source=AuditSource.DEMO)
    assert submitted.status == ReturnStatus.REVIEWED
    assert AuditEvent.objects.filter(survey_return=submitted, new_value=ReturnStatus.REVIEWED,
                                     source=AuditSource.DEMO, actor=None).exists()


def test_the_demo_source_still_needs_open_entry(edition):
    survey_return = factories.survey_return(edition=edition, values=clean_values(edition))  # 2024: closed
    with pytest.raises(return_services.ReturnNotEditable):
        return_services.return_submit(survey_return=survey_return, actor=None, source=AuditSource.DEMO)


# --- the loaded demo: once for the module, rolled back at its end ---------------------------


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """`load_demo` and `create_demo_accounts` as `make run` runs them. Each test runs in a
    savepoint inside this module's transaction, which is rolled back after the last test."""
    with django_db_blocker.unblock(), transaction.atomic():
        loaded, accounts = io.StringIO(), io.StringIO()
        call_command("load_demo", stdout=loaded)
        call_command("create_demo_accounts", stdout=accounts)
        yield {"output": loaded.getvalue(), "accounts": accounts.getvalue()}
        transaction.set_rollback(True)


@pytest.fixture
def editions(demo, db):
    return Edition.objects.get(year=2024), Edition.objects.select_related("previous").get(year=OPEN_EDITION_YEAR)


def _rounded(value: Decimal, fmt: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-PLACES[fmt]), rounding=ROUND_HALF_UP)


@pytest.mark.slow
def test_load_demo_reproduces_every_published_figure(demo, editions):
    edition, _ = editions
    assert "1237 institutions created" in demo["output"]
    assert Institution.objects.filter(code__startswith="DEMO", is_synthetic=True).count() == 1237
    assert Institution.objects.filter(is_synthetic=True).values("province_id").distinct().count() == 31
    assert all(name.endswith("（示例）") for name in Institution.objects.filter(is_synthetic=True).values_list("name", flat=True))
    assert SurveyReturn.objects.filter(edition=edition).count() == 1237
    assert SurveyReturn.objects.filter(edition=edition, status=ReturnStatus.APPROVED).count() == 1237

    call_command("aggregate", "--edition", "2024", stdout=io.StringIO())
    national = {f.key: f.value for f in FigureValue.objects.filter(edition=edition, breakdown="national")}
    mismatches = {}
    for published in PublishedFigure.objects.filter(edition=edition):
        computed = _rounded(national[published.key], published.format)
        if computed != _rounded(published.value, published.format):
            mismatches[published.key] = (published.value, computed)
    # The one figure the report got wrong: 570,840 against 525,480 is +8.6%, not 8.0%.
    assert mismatches == {"tx_growth": (Decimal("8.0000"), Decimal("8.6"))}
    assert PublishedFigure.objects.filter(edition=edition).count() == 163

    # Every return passes every error rule (warnings are the report's own inconsistencies).
    items = {i.pk: i for i in Item.objects.filter(edition=edition)}
    values: dict[int, dict] = {}
    for answer in Answer.objects.filter(survey_return__edition=edition):
        item = items[answer.item_id]
        values.setdefault(answer.survey_return_id, {})[item.code] = answer_value(answer, item)
    findings = Counter()
    for return_values_ in values.values():
        for finding in return_values_check(edition=edition, values=return_values_, for_submission=True):
            findings[(finding.severity, finding.rule_code)] += 1
    assert not [key for key in findings if key[0] == "error"], findings
    assert findings[("warning", "therapy_performed_vs_offered")] == 801 - 763
    assert findings[("warning", "pet_service_without_unit")] == 663 - 659


@pytest.mark.slow
def test_the_open_edition_uses_the_2024_questionnaire_and_is_open_today(demo, editions):
    edition_2024, edition = editions
    today = timezone.localdate()
    assert edition.previous == edition_2024
    assert edition.opens_on <= today <= edition.closes_on and edition.status_shown.code == "open"
    assert edition.title_zh.endswith("（演示）")
    assert list(Item.objects.filter(edition=edition).values_list("code", "type")) == list(
        Item.objects.filter(edition=edition_2024).values_list("code", "type"))
    assert edition.rules.count() == edition_2024.rules.count()
    assert edition.indicators.count() == edition_2024.indicators.count()
    assert not edition.published_figures.exists()  # nobody printed a 2026 report
    # The 2024 edition shows as closed; the pages work on the open one; the report stays on 2024.
    assert edition_2024.status_shown.code == "closed"
    assert edition_current() == edition
    assert edition_for_report() == edition_2024
    assert not FigureValue.objects.filter(edition=edition).exists()


@pytest.mark.slow
def test_every_state_of_the_workflow_is_there(demo, editions):
    _, edition = editions
    returns = SurveyReturn.objects.filter(edition=edition).select_related("institution")
    mine = returns.get(institution__code=REPORTER_INSTITUTION_CODE)
    assert mine.status == ReturnStatus.DRAFT
    sections_filled = set(Answer.objects.filter(survey_return=mine).values_list("item__section__code", flat=True))
    assert sections_filled and not sections_filled & set(REPORTER_SECTIONS_LEFT)

    province = Counter(r.status for r in returns if r.institution.province_id == LIAISON_PROVINCE)
    in_province = Institution.objects.filter(province_id=LIAISON_PROVINCE).count()
    assert province[ReturnStatus.SUBMITTED] >= 3  # the liaison has returns to review
    assert province[ReturnStatus.SENT_BACK] == 1
    assert province[ReturnStatus.REVIEWED] >= 3 and province[ReturnStatus.DRAFT] >= 2
    assert ReturnStatus.APPROVED not in province
    assert in_province - sum(province.values()) >= in_province // 2  # many have not started

    nationally = Counter(r.status for r in returns)
    assert nationally[ReturnStatus.REVIEWED] >= 60  # the admin has returns to approve
    provinces_started = {r.institution.province_id for r in returns}
    assert len(provinces_started) == 31
    assert returns.count() < Institution.objects.count() * 0.3  # completeness and reminders show gaps

    sent_back = returns.get(institution__province_id=LIAISON_PROVINCE, status=ReturnStatus.SENT_BACK)
    comments = list(ReviewComment.objects.filter(survey_return=sent_back).select_related("item"))
    assert any(c.item is None and c.body for c in comments)
    assert any(c.item is not None and c.item.code in LARGE_CHANGE_ITEMS for c in comments)


@pytest.mark.slow
def test_values_are_near_2024_and_some_trip_the_previous_edition_warning(demo, editions):
    edition_2024, edition = editions
    previous = {
        r.institution_id: r for r in SurveyReturn.objects.filter(edition=edition_2024).select_related("edition")
    }
    tripped = Counter()
    for survey_return in SurveyReturn.objects.filter(edition=edition).select_related("edition__previous", "institution"):
        values = return_values(survey_return)
        old = return_values(previous[survey_return.institution_id])
        large = [code for code, value in values.items()
                 if isinstance(value, int) and not isinstance(value, bool) and isinstance(old.get(code), int)
                 and abs(value - old[code]) > max(20, old[code] // 2)]
        assert set(large) <= set(LARGE_CHANGE_ITEMS), (survey_return.institution.code, large)
        assert len(large) <= 1
        findings = return_check(survey_return, for_submission=survey_return.status != ReturnStatus.DRAFT, values=values)
        assert not [f for f in findings if f.severity == "error"], (survey_return.institution.code, findings)
        changes = [f for f in findings if f.rule_code.startswith("change_since_previous:")]
        assert [f.rule_code.split(":")[1] for f in changes] == large
        if changes:
            tripped[(survey_return.institution.province_id, survey_return.status)] += 1
        if survey_return.status != ReturnStatus.DRAFT:
            # Submitted once: every warning has its reporter's explanation.
            explained = set(WarningConfirmation.objects.filter(survey_return=survey_return).values_list("rule_code", flat=True))
            assert {f.rule_code for f in findings if f.severity == "warning"} <= explained
    assert tripped[(LIAISON_PROVINCE, ReturnStatus.SUBMITTED)] >= 2  # for the liaison to review
    assert tripped[(LIAISON_PROVINCE, ReturnStatus.SENT_BACK)] == 1
    assert tripped[(LIAISON_PROVINCE, ReturnStatus.DRAFT)] == 1  # the demo reporter's own draft


@pytest.mark.slow
def test_every_write_is_in_the_audit_trail_as_demo_data(demo, editions):
    _, edition = editions
    events = AuditEvent.objects.filter(edition=edition)
    assert set(events.values_list("source", flat=True)) == {AuditSource.DEMO}
    assert not events.filter(actor__isnull=False).exists()
    returns = SurveyReturn.objects.filter(edition=edition)
    for survey_return in returns.filter(status=ReturnStatus.REVIEWED)[:5]:
        statuses = list(events.filter(survey_return=survey_return, kind="status").order_by("id").values_list("new_value", flat=True))
        assert statuses == [ReturnStatus.DRAFT, ReturnStatus.SUBMITTED, ReturnStatus.REVIEWED]
        assert events.filter(survey_return=survey_return, kind="value").count() == Answer.objects.filter(survey_return=survey_return).count()


@pytest.mark.slow
def test_loading_again_changes_nothing(demo, editions):
    _, edition = editions
    before = (
        SurveyReturn.objects.count(), Answer.objects.count(), AuditEvent.objects.count(),
        list(SurveyReturn.objects.filter(edition=edition).order_by("pk").values_list("pk", "status", "version")),
    )
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "0 institutions created, 0 updated; 0 returns created, 0 rewritten" in out.getvalue()
    assert f"Demo edition {OPEN_EDITION_YEAR} open for entry" in out.getvalue() and "(unchanged): 0 of" in out.getvalue()
    assert (
        SurveyReturn.objects.count(), Answer.objects.count(), AuditEvent.objects.count(),
        list(SurveyReturn.objects.filter(edition=edition).order_by("pk").values_list("pk", "status", "version")),
    ) == before
    refreshed = Edition.objects.get(pk=edition.pk)
    assert (refreshed.opens_on, refreshed.closes_on, refreshed.updated_at) == (edition.opens_on, edition.closes_on, edition.updated_at)


@pytest.mark.slow
def test_the_accounts_printed_say_what_each_role_can_do_first(demo, editions):
    _, edition = editions
    printed = demo["accounts"]
    for username in ("reporter", "liaison", "admin"):
        assert f"  {username} " in printed
    submitted = SurveyReturn.objects.filter(edition=edition, status=ReturnStatus.SUBMITTED,
                                            institution__province_id=LIAISON_PROVINCE).count()
    reviewed = SurveyReturn.objects.filter(edition=edition, status=ReturnStatus.REVIEWED).count()
    assert "“继续填报” (Continue the return)" in printed and "education, opinions" in printed
    assert f"“{submitted} 份报表待审核” ({submitted} returns await review)" in printed
    assert f"“{reviewed} 份报表待批准” ({reviewed} returns await approval)" in printed
    assert "(National report): the 2024 figures" in printed


@pytest.mark.slow
def test_each_role_can_act_straight_away(demo, editions):
    """The first steps, through the test client (the browser test does them in Chromium)."""
    _, edition = editions
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["reporter", "liaison", "admin"])}

    # The reporter completes the draft, explains the warnings and submits.
    reporter = Client()
    reporter.force_login(users["reporter"])
    home = reporter.get("/").content.decode()
    assert "继续填报" in home and 'data-status="open"' in home
    mine = SurveyReturn.objects.get(edition=edition, institution__code=REPORTER_INSTITUTION_CODE)
    values = return_values(mine)
    values.update({"sup_doctoral": 0, "sup_masters": 1, "stu_doctoral": 0, "stu_masters": 2,
                   "op_lack_specialists": True, "op_regional_economy": False})
    warnings = [f for f in return_check(mine, for_submission=True, values=values) if f.severity == "warning"]
    assert any(f.rule_code.startswith("change_since_previous:") for f in warnings)
    explanations = {f"explain__{f.rule_code}": "新病房开张，治疗量增加。" for f in warnings}
    response = reporter.post(f"/returns/{mine.pk}/", form_data(values, version=mine.version, action="submit", **explanations))
    assert response.status_code == 302, response.content.decode()[:2000]
    mine.refresh_from_db()
    assert mine.status == ReturnStatus.SUBMITTED

    # The liaison sees what waits in their province and marks one reviewed.
    liaison = Client()
    liaison.force_login(users["liaison"])
    listed = liaison.get("/returns/?status=submitted").content.decode()
    to_review = SurveyReturn.objects.filter(edition=edition, status=ReturnStatus.SUBMITTED, institution__province_id=LIAISON_PROVINCE)
    assert all(f"/returns/{r.pk}/review/" in listed for r in to_review)
    other = SurveyReturn.objects.filter(edition=edition, status=ReturnStatus.SUBMITTED).exclude(institution__province_id=LIAISON_PROVINCE).first()
    assert f"/returns/{other.pk}/review/" not in listed
    response = liaison.post(f"/returns/{mine.pk}/review/", {"action": "review", "version": mine.version})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == ReturnStatus.REVIEWED

    # The admin approves a reviewed return from another province.
    admin = Client()
    admin.force_login(users["admin"])
    reviewed = SurveyReturn.objects.filter(edition=edition, status=ReturnStatus.REVIEWED).exclude(pk=mine.pk).first()
    response = admin.post(f"/returns/{reviewed.pk}/review/", {"action": "approve", "version": reviewed.version})
    assert response.status_code == 302
    reviewed.refresh_from_db()
    assert reviewed.status == ReturnStatus.APPROVED
    assert admin.get("/completeness/").status_code == 200
