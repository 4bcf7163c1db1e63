"""Registry, role and account writes go through institutions.services and are audited."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from institutions.models import Institution, Membership, Province, Role
from institutions.services import (
    RegistryChangeRefused,
    account_update,
    institution_update,
    membership_set,
)
from reporting.models import AuditEvent
from tests import factories

HEADER = "code,name,province,city,ownership,hospital_level\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def changes(**filters) -> list[tuple[str, str, str]]:
    return [(e.item_code, e.old_value, e.new_value) for e in AuditEvent.objects.filter(**filters).order_by("id")]


def test_command_import_records_each_changed_field_with_the_user(db, tmp_path):
    admin = factories.society_admin(username="registrar")
    call_command("import_institutions", str(write(tmp_path, "a.csv", HEADER + "H001,甲医院,11,北京,public,tertiary_a\n")))
    created = AuditEvent.objects.filter(kind="institution", institution__code="H001")
    assert {(e.source, e.actor, e.comment, e.old_value) for e in created} == {("import", None, "import_institutions a.csv", "")}
    assert ("province", "", "11") in changes(kind="institution")
    AuditEvent.objects.all().delete()
    call_command("import_institutions", str(write(tmp_path, "b.csv", HEADER + "H001,甲医院,11,北京,public,secondary\n")),
                 "--user", "registrar")
    assert changes(kind="institution") == [("hospital_level", "tertiary_a", "secondary")]
    assert AuditEvent.objects.get().actor == admin


def test_command_import_refuses_a_user_who_is_not_a_society_admin(db, tmp_path):
    factories.liaison(username="liaison1")
    path = write(tmp_path, "a.csv", HEADER + "H001,甲医院,11,北京,public,tertiary_a\n")
    with pytest.raises(CommandError, match="not a society admin; nothing was written"):
        call_command("import_institutions", str(path), "--user", "liaison1")
    assert not Institution.objects.exists() and not AuditEvent.objects.exists()


def test_rejected_import_writes_no_event(db, tmp_path):
    Institution.objects.create(code="H001", name="原名", province_id="11")
    path = write(tmp_path, "bad.csv", HEADER + "H001,改名,11,北京,public,tertiary_a\nH002,乙,99,某地,public,secondary\n")
    with pytest.raises(CommandError):
        call_command("import_institutions", str(path))
    assert not AuditEvent.objects.exists()


def test_update_changes_only_the_fields_it_is_given(db):
    admin = factories.society_admin()
    institution = factories.InstitutionFactory(name="甲医院", city="北京")
    stale = Institution.objects.get(pk=institution.pk)
    Institution.objects.filter(pk=institution.pk).update(city="通州")  # someone else, meanwhile
    institution_update(institution=stale, changes={"name": "乙医院"}, actor=admin)
    institution.refresh_from_db()
    assert (institution.name, institution.city) == ("乙医院", "通州")
    assert changes(kind="institution") == [("name", "甲医院", "乙医院")]


def test_update_refuses_bad_values_and_people_without_the_role(db):
    institution = factories.InstitutionFactory(name="甲医院")
    with pytest.raises(ValidationError) as caught:
        institution_update(institution=institution, changes={"name": ""}, actor=factories.society_admin())
    assert "name" in caught.value.message_dict
    with pytest.raises(RegistryChangeRefused):
        institution_update(institution=institution, changes={"name": "乙"}, actor=factories.liaison())
    assert Institution.objects.get(pk=institution.pk).name == "甲医院" and not AuditEvent.objects.exists()


def test_role_scope_errors_name_the_field(db):
    admin, person = factories.society_admin(), factories.UserFactory()
    with pytest.raises(ValidationError) as caught:
        membership_set(user=person, role=Role.LIAISON, institution=factories.InstitutionFactory(), actor=admin)
    assert set(caught.value.message_dict) == {"province", "institution"}
    assert not Membership.objects.filter(user=person).exists() and not AuditEvent.objects.exists()


def test_role_change_is_recorded_old_to_new(db):
    admin, person = factories.society_admin(), factories.liaison("11", username="lia")
    membership_set(user=person, role=Role.LIAISON, province=Province.objects.get(code="31"), actor=admin)
    event = AuditEvent.objects.get()
    assert (event.kind, event.item_code, event.old_value, event.new_value, event.subject_label, event.actor) == (
        "membership", "province", "11", "31", "lia", admin)
    membership_set(user=person, role=Role.LIAISON, province=Province.objects.get(code="31"), actor=admin)
    assert AuditEvent.objects.count() == 1  # nothing changed, nothing recorded


def test_account_change_is_recorded_and_needs_the_account_permission(db):
    person = factories.UserFactory(is_staff=False)
    with pytest.raises(Exception, match="accounts"):
        account_update(user=person, changes={"is_staff": True}, actor=factories.society_admin())
    root = factories.UserFactory(is_superuser=True, is_staff=True)
    account_update(user=person, changes={"is_staff": True}, actor=root)
    assert changes(kind="account") == [("is_staff", "no", "yes")]


def test_demo_accounts_roles_are_recorded(db):
    from institutions.services import demo_accounts_create

    factories.InstitutionFactory()
    demo_accounts_create()
    assert set(AuditEvent.objects.filter(kind="membership", item_code="role").values_list("subject_label", "new_value")) == {
        ("reporter", "reporter"), ("liaison", "liaison"), ("admin", "admin"),
    }
