"""Who reaches survey data in the admin: the society admin role, never Django permissions alone.

Imports and exports need their own permission (import_<model>, export_<model>), which the
role gives: a staff account without it gets 403, whatever else it was given.
"""

import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from institutions.models import Institution
from reporting.models import AuditEvent
from tests import factories

IMPORT_URL = "/admin/institutions/institution/import/"
PROCESS_IMPORT_URL = "/admin/institutions/institution/process_import/"
EXPORT_URL = "/admin/institutions/institution/export/"
HEADER = "code,name,province,city,ownership,hospital_level\n"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def spreadsheet_urls(edition) -> list[str]:
    return [
        reverse(f"admin:reporting_edition_{name}", args=[edition.pk])
        for name in ("import_returns", "template", "export_csv", "export_xlsx")
    ]


def survey_admin_urls(edition) -> list[str]:
    return [
        "/admin/institutions/institution/", "/admin/institutions/membership/", "/admin/institutions/province/",
        "/admin/reporting/edition/", f"/admin/reporting/edition/{edition.pk}/change/",
        "/admin/reporting/surveyreturn/", "/admin/reporting/auditevent/", "/admin/reporting/entryextension/",
    ]


@pytest.fixture
def staff(db):
    """Staff, no survey role, and no permissions."""
    return factories.UserFactory(is_staff=True)


@pytest.fixture
def staff_with_django_permissions(db):
    """Staff without a survey role, given every Django permission of the survey apps."""
    user = factories.UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["institutions", "reporting"]))
    return user


@pytest.fixture(params=["staff", "staff_with_django_permissions", "staff_reporter", "staff_liaison"])
def staff_without_role(request, db):
    if request.param == "staff_reporter":
        return factories.reporter(is_staff=True)
    if request.param == "staff_liaison":
        return factories.liaison(is_staff=True)
    return request.getfixturevalue(request.param)


def _upload(text: str, name: str = "registry.csv"):
    upload = io.BytesIO(text.encode())
    upload.name = name
    return upload


def test_staff_without_the_society_admin_role_gets_403_on_import_export_and_spreadsheets(staff_without_role, edition):
    client = login(staff_without_role)
    institution = factories.InstitutionFactory(code="H001", name="原名")
    assert client.get(IMPORT_URL).status_code == 403
    assert client.get(EXPORT_URL).status_code == 403
    assert client.post(EXPORT_URL, {"format": "0", "resource": "0"}).status_code == 403
    renaming = _upload(HEADER + "H001,改名,11,北京,public,tertiary_a\n")
    assert client.post(IMPORT_URL, {"import_file": renaming, "format": "0", "resource": "0"}).status_code == 403
    assert client.post(PROCESS_IMPORT_URL, {"import_file_name": "x", "original_file_name": "registry.csv",
                                            "format": "0", "resource": "0"}).status_code == 403
    for url in spreadsheet_urls(edition):
        assert client.get(url).status_code == 403, url
    for url in survey_admin_urls(edition):
        assert client.get(url).status_code == 403, url
    assert Institution.objects.get(pk=institution.pk).name == "原名"


def test_admin_index_lists_no_survey_data_without_the_role(staff_with_django_permissions):
    page = login(staff_with_django_permissions).get("/admin/").content.decode()
    assert "/admin/institutions/" not in page and "/admin/reporting/" not in page


def test_society_admin_role_gives_the_survey_admin_pages(edition):
    client = login(factories.society_admin())  # staff with the role; not a superuser
    for url in survey_admin_urls(edition):
        assert client.get(url).status_code == 200, url
    page = client.get("/admin/").content.decode()
    assert "/admin/institutions/institution/" in page and "/admin/reporting/edition/" in page
    assert "/admin/auth/user/" in client.get("/admin/institutions/membership/add/").content.decode()  # user lookup


def test_society_admin_imports_through_the_admin_and_the_import_is_audited(edition):
    admin_user = factories.society_admin(username="society")
    client = login(admin_user)
    factories.InstitutionFactory(code="H001", name="原名", province_id="11", city="北京")
    preview = client.post(IMPORT_URL, {
        "import_file": _upload(HEADER + "H001,改名,11,北京,public,tertiary_a\nH002,乙医院,31,上海,public,secondary\n"),
        "format": "0", "resource": "0",
    })
    assert preview.status_code == 200 and "confirm_form" in preview.context
    assert Institution.objects.get(code="H001").name == "原名"  # the preview writes nothing
    confirm = preview.context["confirm_form"]
    response = client.post(PROCESS_IMPORT_URL, {name: confirm[name].value() for name in confirm.fields})
    assert response.status_code == 302
    assert Institution.objects.get(code="H001").name == "改名"
    renamed = AuditEvent.objects.get(kind="institution", item_code="name", institution__code="H001")
    assert (renamed.old_value, renamed.new_value, renamed.source, renamed.actor) == ("原名", "改名", "admin", admin_user)
    assert renamed.comment == "admin import registry.csv"
    created = AuditEvent.objects.filter(kind="institution", institution__code="H002")
    assert {e.item_code for e in created} >= {"code", "name", "province"} and {e.old_value for e in created} == {""}


def test_a_file_rejected_at_confirmation_writes_nothing(edition):
    client = login(factories.society_admin())
    factories.InstitutionFactory(code="H001", name="原名")
    # A code twice passes the row-by-row preview; the registry service refuses the file whole.
    text = HEADER + "H001,改名,11,北京,public,tertiary_a\nH002,乙,31,上海,public,secondary\nH002,丙,31,上海,public,secondary\n"
    preview = client.post(IMPORT_URL, {"import_file": _upload(text), "format": "0", "resource": "0"})
    confirm = preview.context["confirm_form"]
    response = client.post(PROCESS_IMPORT_URL, {name: confirm[name].value() for name in confirm.fields}, follow=True)
    page = response.content.decode()
    assert "duplicate code &#x27;H002&#x27; (also on row 3)" in page
    assert Institution.objects.get(code="H001").name == "原名"
    assert not Institution.objects.filter(code="H002").exists()
    assert not AuditEvent.objects.exists()


def test_society_admin_exports_the_registry_and_edition_spreadsheets(edition):
    client = login(factories.society_admin())
    factories.InstitutionFactory(code="H001", name="甲医院")
    form_page = client.get(EXPORT_URL)
    assert form_page.status_code == 200
    data = admin_form_data_export(form_page)
    response = client.post(EXPORT_URL, data)
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert "H001" in response.content.decode("utf-8-sig")
    for url in spreadsheet_urls(edition):
        assert client.get(url).status_code == 200, url


def admin_form_data_export(response) -> dict:
    form = response.context["form"]
    data = {"format": "0", "resource": "0"}
    for name, field in form.fields.items():
        if field.initial is True:
            data[name] = "on"
    return data


def test_superuser_keeps_every_admin_page(admin_client, edition):
    assert admin_client.get(IMPORT_URL).status_code == 200
    assert admin_client.get(EXPORT_URL).status_code == 200
    assert admin_client.get(spreadsheet_urls(edition)[1]).status_code == 200


def test_staff_without_role_cannot_assign_roles_or_institutions(staff_with_django_permissions, edition):
    client = login(staff_with_django_permissions)
    person = factories.UserFactory()
    assert client.post("/admin/institutions/membership/add/", {"user": person.pk, "role": "admin"}).status_code == 403
    assert client.post("/admin/institutions/institution/add/", {"code": "X", "name": "X", "province": "11"}).status_code == 403
    assert not Institution.objects.filter(code="X").exists()

