"""Audit events outside returns' values: editions, extensions, reminders; and the export."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client

from institutions.services import institution_update
from reporting.models import AuditEvent, EditionStatus
from reporting.services.editions import EditionActionRefused, edition_schedule_update
from reporting.services.reminders import reminders_send
from reporting.services.returns import extension_grant
from reporting.tasks.reminders import reminders_send_task
from tests import factories
from tests.admin_support import audit_export_rows, audited
from tests.reporting import entry_support

open_edition, world = entry_support.open_edition, entry_support.world


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_reminders_are_recorded_per_institution_with_who_asked(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        login(world["liaison"]).post("/completeness/reminders/", {"institution": [str(world["beijing"].pk)]})
    assert len(mail.outbox) == 1
    event = AuditEvent.objects.get(kind="reminder")
    assert (event.institution, event.survey_return, event.actor, event.source, event.edition) == (
        world["beijing"], world["return"], world["liaison"], "web", world["edition"])
    assert event.new_value == "nm@bj-hospital.example, reporter@bj-hospital.example"


def test_a_scheduled_reminder_is_recorded_as_sent_by_the_system(world):
    reminders_send_task(world["edition"].pk, [world["beijing"].pk])
    event = AuditEvent.objects.get(kind="reminder")
    assert (event.actor, event.source) == (None, "system")


def test_an_institution_without_addresses_is_not_recorded_as_reminded(world):
    lonely = factories.InstitutionFactory(province_id="31")  # no contact address, no reporter
    assert reminders_send(edition=world["edition"], institution_ids=[lonely.pk]) == 0
    assert not AuditEvent.objects.filter(kind="reminder").exists()


def test_extension_granted_again_records_the_old_date(world):
    edition, institution, admin = world["edition"], world["shanghai"], world["admin"]
    extension_grant(edition=edition, institution=institution, until=dt.date(2099, 1, 1), actor=admin)
    extension_grant(edition=edition, institution=institution, until=dt.date(2099, 2, 1), actor=admin, reason="再延")
    events = AuditEvent.objects.filter(kind="extension").order_by("id")
    assert [(e.old_value, e.new_value, e.institution) for e in events] == [
        ("", "2099-01-01", institution), ("2099-01-01", "2099-02-01", institution)]


def test_edition_schedule_update_changes_only_what_it_is_given_and_never_publishes(world):
    edition, admin = world["edition"], world["admin"]
    closes_on = edition.closes_on
    edition_schedule_update(edition=edition, actor=admin, changes={"opens_on": dt.date(2020, 1, 1)})
    edition.refresh_from_db()
    assert (edition.status, edition.opens_on, edition.closes_on) == ("open", dt.date(2020, 1, 1), closes_on)
    with pytest.raises(EditionActionRefused):
        edition_schedule_update(edition=edition, actor=admin, changes={"status": EditionStatus.PUBLISHED})
    with pytest.raises(EditionActionRefused):
        edition_schedule_update(edition=edition, actor=world["liaison"], changes={"status": EditionStatus.CLOSED})
    event = AuditEvent.objects.get(kind="edition")
    assert (event.source, event.new_value) == ("admin", f"open 2020-01-01..{closes_on}")


def test_export_lists_registry_events_unless_one_edition_is_asked_for(world):
    institution_update(institution=world["shanghai"], changes={"city": "浦东"}, actor=world["admin"])
    client = login(world["admin"])
    every = audit_export_rows(client)
    assert audited(every, kind="institution", item_code="city", new_value="浦东", edition="",
                   institution_code=world["shanghai"].code, subject_type="institutions.institution")
    assert not audited(audit_export_rows(client, "?edition=2024"), kind="institution")


def test_audit_export_takes_a_fixed_number_of_queries(world, django_assert_num_queries):
    for n in range(30):
        institution_update(institution=world["beijing"], changes={"city": f"城{n}"}, actor=world["admin"])
        extension_grant(edition=world["edition"], institution=world["shanghai"], until=dt.date(2099, 1, n % 28 + 1),
                        actor=world["admin"])
    client = login(world["admin"])
    audit_export_rows(client)
    with django_assert_num_queries(4):  # session, user, role, the events with what they name
        rows = audit_export_rows(client)
    assert len(rows) == 60
