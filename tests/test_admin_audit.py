"""Every change made in the admin is in the audit trail (and its export).

The first test lists every model registered in the admin that a superuser can add, change or
delete: a newly registered editable model fails it until it is audited and added here with a
change made through the admin that the audit export must show.
"""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse

from institutions.models import Institution, Membership, Role
from reporting.models import AuditEvent, Edition, EntryExtension
from tests import factories
from tests.admin_support import admin_form_data, audit_export_rows, audited

User = get_user_model()


@pytest.fixture
def superuser(db):
    return factories.UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def _post_change(client, url: str, **changes):
    data = admin_form_data(client.get(url))
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    return response


def change_edition(client, superuser):
    edition = Edition.objects.get(year=2024)
    _post_change(client, reverse("admin:reporting_edition_change", args=[edition.pk]),
                 status="closed", opens_on="2025-03-01", closes_on="2025-04-30")
    rows = audit_export_rows(client)
    old = f"{edition.status} {edition.opens_on or ''}..{edition.closes_on or ''}"
    assert audited(rows, kind="edition", source="admin", actor="root", edition=2024, subject_type="reporting.edition",
                   old_value=old, new_value="closed 2025-03-01..2025-04-30")


def change_entry_extension(client, superuser):
    edition = Edition.objects.get(year=2024)
    institution = factories.InstitutionFactory(code="EXT1")
    _post_change(client, reverse("admin:reporting_entryextension_add"),
                 edition=str(edition.pk), institution=str(institution.pk), until="2099-01-31", reason="洪水")
    extension = EntryExtension.objects.get(edition=edition, institution=institution)
    assert extension.granted_by == superuser  # granted through extension_grant, not left empty
    _post_change(client, reverse("admin:reporting_entryextension_change", args=[extension.pk]), until="2099-02-28")
    rows = audit_export_rows(client, "?edition=2024")
    common = {"kind": "extension", "source": "admin", "actor": "root", "institution_code": "EXT1",
              "subject_type": "reporting.entryextension", "subject_id": extension.pk}
    assert audited(rows, **common, old_value="", new_value="2099-01-31", comment="洪水")
    assert audited(rows, **common, old_value="2099-01-31", new_value="2099-02-28")


def change_institution(client, superuser):
    institution = factories.InstitutionFactory(code="H777", name="旧名医院", province_id="11")
    _post_change(client, reverse("admin:institutions_institution_change", args=[institution.pk]),
                 name="新名医院", province="31")
    _post_change(client, reverse("admin:institutions_institution_add"),
                 code="H778", name="新建医院", province="44", ownership="public", active="on")
    rows = audit_export_rows(client)
    common = {"kind": "institution", "source": "admin", "actor": "root", "edition": "",
              "subject_type": "institutions.institution", "subject_id": institution.pk}
    assert audited(rows, **common, item_code="name", old_value="旧名医院", new_value="新名医院", institution_code="H777")
    assert audited(rows, **common, item_code="province", old_value="11", new_value="31")
    assert not audited(rows, **common, item_code="city")  # unchanged fields are not events
    created = audited(rows, kind="institution", institution_code="H778", old_value="")
    assert {(row["item_code"], row["new_value"]) for row in created} >= {("code", "H778"), ("name", "新建医院"), ("province", "44")}


def change_membership(client, superuser):
    person = factories.UserFactory(username="liaison_x")
    institution = factories.InstitutionFactory(code="M001")
    _post_change(client, reverse("admin:institutions_membership_add"), user=str(person.pk), role="liaison", province="11")
    membership = Membership.objects.get(user=person)
    _post_change(client, reverse("admin:institutions_membership_change", args=[membership.pk]),
                 role="reporter", province="", institution=str(institution.pk))
    response = client.post(reverse("admin:institutions_membership_delete", args=[membership.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Membership.objects.filter(user=person).exists()
    rows = audited(audit_export_rows(client), kind="membership", source="admin", actor="root",
                   subject_type="auth.user", subject_id=person.pk, subject="liaison_x")
    changes = [(row["item_code"], row["old_value"], row["new_value"]) for row in rows]
    assert changes == [
        ("role", "", "liaison"), ("province", "", "11"),
        ("role", "liaison", "reporter"), ("institution", "", "M001"), ("province", "11", ""),
        ("role", "reporter", ""), ("institution", "M001", ""),
    ]
    assert [row["institution_code"] for row in rows][-2:] == ["M001", "M001"]


def change_user(client, superuser):
    person = factories.UserFactory(username="person", email="old@example.org")
    url = reverse("admin:auth_user_change", args=[person.pk])
    # The account and its role (the inline) on one page.
    _post_change(client, url, email="new@example.org", **{
        "membership-TOTAL_FORMS": "1", "membership-0-role": "admin", "membership-0-user": str(person.pk),
    })
    assert Membership.objects.get(user=person).role == Role.ADMIN
    _post_change(client, url, **{"membership-0-DELETE": "on"})
    assert not Membership.objects.filter(user=person).exists()
    response = client.post(reverse("admin:auth_user_password_change", args=[person.pk]), {
        "usable_password": "true", "password1": "a-new-Secret-42", "password2": "a-new-Secret-42",
    })
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password("a-new-Secret-42")
    _post_change(client, reverse("admin:auth_user_add"), username="newcomer", usable_password="true",
                 password1="a-new-Secret-42", password2="a-new-Secret-42")
    rows = audit_export_rows(client)
    common = {"source": "admin", "actor": "root", "subject_type": "auth.user", "subject_id": person.pk}
    assert audited(rows, **common, kind="account", item_code="email", old_value="old@example.org", new_value="new@example.org")
    assert audited(rows, **common, kind="membership", item_code="role", old_value="", new_value="admin")
    assert audited(rows, **common, kind="membership", item_code="role", old_value="admin", new_value="")
    assert audited(rows, **common, kind="account", item_code="password", old_value="set", new_value="changed")
    assert "a-new-Secret-42" not in str(rows)
    newcomer = User.objects.get(username="newcomer")
    assert audited(rows, kind="account", subject_id=newcomer.pk, item_code="username", new_value="newcomer")
    assert audited(rows, kind="account", subject_id=newcomer.pk, item_code="password", new_value="set")


# One change through the admin per editable model; the test below checks the list is complete.
ADMIN_CHANGES = {
    Edition: change_edition,
    EntryExtension: change_entry_extension,
    Institution: change_institution,
    Membership: change_membership,
    User: change_user,
}


def _superuser_request(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    return request


def test_every_model_a_superuser_can_change_in_the_admin_is_audited(superuser):
    request = _superuser_request(superuser)
    editable = {
        model for model, model_admin in admin.site._registry.items()
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
        or model_admin.has_delete_permission(request)
    }
    assert editable == set(ADMIN_CHANGES), "audit the admin changes of a newly editable model and list it here"


def test_models_not_listed_are_read_only_in_the_admin(superuser):
    request = _superuser_request(superuser)
    read_only = [model for model in admin.site._registry if model not in ADMIN_CHANGES]
    assert read_only  # the questionnaire, returns, figures, the audit trail...
    for model in read_only:
        model_admin = admin.site._registry[model]
        assert model_admin.has_view_permission(request), model
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model


@pytest.mark.parametrize("model", list(ADMIN_CHANGES), ids=lambda model: model._meta.label)
def test_an_admin_change_appears_in_the_audit_export(model, edition, client, superuser):
    ADMIN_CHANGES[model](client, superuser)


def test_deleting_an_account_keeps_its_trail(client, superuser):
    person = factories.reporter(username="leaver")
    response = client.post(reverse("admin:auth_user_delete", args=[person.pk]), {"post": "yes"})
    assert response.status_code == 302 and not User.objects.filter(username="leaver").exists()
    rows = audited(audit_export_rows(client), subject="leaver", actor="root", new_value="")
    assert {(row["kind"], row["item_code"], row["old_value"]) for row in rows} >= {
        ("membership", "role", "reporter"), ("account", "username", "leaver"),
    }


def test_history_button_shows_the_objects_audit_trail(edition, client):
    institution = factories.InstitutionFactory(code="H900")
    _post_change(client, reverse("admin:institutions_institution_change", args=[institution.pk]), name="改名")
    response = client.get(reverse("admin:institutions_institution_history", args=[institution.pk]), follow=True)
    page = response.content.decode()
    assert response.status_code == 200 and "改名" in page
    assert response.context["cl"].result_count == AuditEvent.objects.filter(subject_id=str(institution.pk),
                                                                            kind="institution").count()


def test_edition_history_lists_the_editions_own_events(edition, client):
    _post_change(client, reverse("admin:reporting_edition_change", args=[edition.pk]), status="closed")
    AuditEvent.objects.create(edition=edition, survey_return=factories.survey_return(edition=edition),
                              kind="status", new_value="draft")
    response = client.get(reverse("admin:reporting_edition_history", args=[edition.pk]), follow=True)
    assert [event.kind for event in response.context["cl"].result_list] == ["edition"]


def test_role_that_does_not_fit_is_refused_with_the_field_named(client):
    person = factories.UserFactory()
    url = reverse("admin:institutions_membership_add")
    data = admin_form_data(client.get(url))
    data.update(user=str(person.pk), role="reporter")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "institution" in response.context["adminform"].form.errors
    assert not Membership.objects.filter(user=person).exists()
    assert not AuditEvent.objects.filter(kind="membership").exists()


def test_edition_cannot_be_published_or_given_reversed_dates_in_the_admin(edition, client):
    url = reverse("admin:reporting_edition_change", args=[edition.pk])
    data = admin_form_data(client.get(url))
    response = client.post(url, {**data, "status": "published"})
    assert response.status_code == 200 and "status" in response.context["adminform"].form.errors
    response = client.post(url, {**data, "opens_on": "2025-05-01", "closes_on": "2025-04-01"})
    assert response.status_code == 200 and "closes_on" in response.context["adminform"].form.errors
    assert not AuditEvent.objects.filter(kind="edition").exists()
    assert Edition.objects.get(pk=edition.pk).status == edition.status


def test_unchanged_admin_save_writes_no_event(edition, client):
    institution = factories.InstitutionFactory()
    _post_change(client, reverse("admin:institutions_institution_change", args=[institution.pk]))
    _post_change(client, reverse("admin:reporting_edition_change", args=[edition.pk]))
    assert not AuditEvent.objects.exists()


def test_extension_admin_cannot_change_whose_extension_it_is(edition, client, superuser):
    institution, other = factories.InstitutionFactory(), factories.InstitutionFactory()
    _post_change(client, reverse("admin:reporting_entryextension_add"),
                 edition=str(edition.pk), institution=str(institution.pk), until=str(dt.date(2099, 1, 1)))
    extension = EntryExtension.objects.get()
    _post_change(client, reverse("admin:reporting_entryextension_change", args=[extension.pk]),
                 institution=str(other.pk), until="2099-01-02")
    extension.refresh_from_db()
    assert (extension.institution, str(extension.until)) == (institution, "2099-01-02")


def test_every_admin_list_and_add_page_opens(edition, client, superuser):
    request = _superuser_request(superuser)
    for model, model_admin in admin.site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        assert client.get(reverse(f"{name}_changelist")).status_code == 200, model
        if model_admin.has_add_permission(request):
            assert client.get(reverse(f"{name}_add")).status_code == 200, model
