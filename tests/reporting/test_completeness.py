"""Completeness per province and institution, and reminder e-mails."""

import pytest
from django.core import mail
from django.test import Client

from reporting.models import ReturnStatus
from reporting.selectors_entry import NOT_STARTED, completeness_by_province, institution_status_list
from reporting.services.reminders import reminders_send
from tests import factories
from tests.reporting import entry_support

# Shared fixtures of the data-entry tests.
open_edition, world = entry_support.open_edition, entry_support.world


@pytest.fixture
def statuses(world):
    """Beijing: one draft, one submitted, one not started; Shanghai: one approved, one sent back."""
    world["return_other"].status = ReturnStatus.SUBMITTED
    world["return_other"].save()
    world["return_shanghai"].status = ReturnStatus.APPROVED
    world["return_shanghai"].save()
    world["beijing_new"] = factories.InstitutionFactory(province_id="11", contact_email="new@example.org")
    world["shanghai_back"] = factories.InstitutionFactory(province_id="31")
    factories.survey_return(edition=world["edition"], institution=world["shanghai_back"], status=ReturnStatus.SENT_BACK)
    factories.InstitutionFactory(province_id="11", active=False)  # closed departments do not count
    return world


def test_counts_per_province_in_one_query(statuses, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = {r.province_code: r for r in completeness_by_province(user=statuses["admin"], edition=statuses["edition"])}
    beijing, shanghai = rows["11"], rows["31"]
    assert beijing.institutions == 3
    assert beijing.counts == {
        NOT_STARTED: 1, ReturnStatus.DRAFT: 1, ReturnStatus.SUBMITTED: 1,
        ReturnStatus.SENT_BACK: 0, ReturnStatus.REVIEWED: 0, ReturnStatus.APPROVED: 0,
    }
    assert beijing.submitted_percent == pytest.approx(100 / 3)
    assert shanghai.counts[ReturnStatus.APPROVED] == 1 and shanghai.counts[ReturnStatus.SENT_BACK] == 1
    assert shanghai.approved_percent == 50.0


def test_liaison_sees_only_their_province(statuses):
    rows = completeness_by_province(user=statuses["liaison"], edition=statuses["edition"])
    assert [r.province_code for r in rows] == ["11"]
    names = {i.name for i in institution_status_list(user=statuses["liaison"], edition=statuses["edition"])}
    assert statuses["shanghai"].name not in names and statuses["beijing_new"].name in names


def test_institution_list_filters_by_status(statuses, django_assert_num_queries):
    with django_assert_num_queries(1):
        not_submitted = list(institution_status_list(user=statuses["admin"], edition=statuses["edition"], status="not_submitted"))
    assert {i.name for i in not_submitted} == {statuses["beijing"].name, statuses["beijing_new"].name, statuses["shanghai_back"].name}
    started = institution_status_list(user=statuses["admin"], edition=statuses["edition"], status=NOT_STARTED)
    assert [i.name for i in started] == [statuses["beijing_new"].name]


def test_completeness_page(statuses):
    client = Client()
    client.force_login(statuses["liaison"])
    html = client.get("/completeness/").content.decode()
    assert "北京市" in html and "上海市" not in html
    assert "33.3%" in html
    assert "未开始" in html or "Not started" in html
    html = client.get("/completeness/?status=submitted").content.decode()
    assert statuses["beijing_other"].name in html and statuses["beijing"].name not in html.split('data-testid="completeness-institutions"')[1]


def test_reminders_go_to_institutions_that_have_not_submitted(statuses, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(statuses["liaison"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/completeness/reminders/", {"province": "11"})
    assert response.status_code == 302
    recipients = sorted(address for message in mail.outbox for address in message.to)
    # The draft (contact and reporter addresses) and the not-started one; not the submitted one,
    # nor Shanghai (another province).
    assert recipients == ["new@example.org", "nm@bj-hospital.example", "reporter@bj-hospital.example"]
    assert all("提醒" in message.subject for message in mail.outbox)
    assert "Please complete and submit" in mail.outbox[0].body


def test_reminder_task_skips_institutions_that_submitted_meanwhile(statuses):
    sent = reminders_send(edition=statuses["edition"], institution_ids=[statuses["beijing_other"].pk])
    assert sent == 0 and mail.outbox == []


def test_liaison_cannot_remind_another_province(statuses, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(statuses["liaison"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/completeness/reminders/", {"institution": [str(statuses["shanghai_back"].pk)]})
    assert mail.outbox == []


def test_return_list_query_count_does_not_grow(statuses, django_assert_num_queries):
    client = Client()
    client.force_login(statuses["admin"])
    client.get("/returns/")
    # Session, user, membership, current edition, provinces (the filter), count, page.
    with django_assert_num_queries(7):
        client.get("/returns/")
    for _ in range(5):
        factories.survey_return(edition=statuses["edition"], institution=factories.InstitutionFactory(province_id="44"))
    with django_assert_num_queries(7):
        html = client.get("/returns/").content.decode()
    assert html.count('data-testid="return-list"') == 1 and html.count("status-badge") >= 9
