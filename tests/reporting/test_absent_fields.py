"""An absent field is not a blank one: what every writer does with what a request did not send.

The rule (reporting.services.answers, docs/data-entry.md): an item absent from the request is
left as it is; an item sent blank is cleared; an item that does not apply after the save (its
applies_if item is not yes) is cleared whether it was sent or not. Tested from the outside:
the data-entry page (test client), ``manage.py import_returns`` and the upload pages.
"""

import re
import tempfile
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporting.models import AuditEvent, Item, ReturnStatus, SurveyReturn
from reporting.services import returns as services
from tests.factories import PASSWORD, InstitutionFactory
from tests.reporting import entry_support
from tests.reporting.entry_support import answers_store as store
from tests.reporting.entry_support import clean_values, sent_text
from tests.reporting.spreadsheet_support import csv_bytes

open_edition, world = entry_support.open_edition, entry_support.world

PROPERTY = settings(
    max_examples=25, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def reporter_client(world):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world["reporter"])
    return client


def url(world):
    return f"/returns/{world['return'].pk}/"


def stored(survey_return) -> dict:
    return services.return_values(survey_return)


def applies(code: str, values: dict, applies_if: dict) -> bool:
    """The documented condition, written out independently of the code under test."""
    parent = applies_if.get(code)
    while parent:
        if values.get(parent) is not True:
            return False
        parent = applies_if.get(parent)
    return True


def expected_after(before: dict, sent: dict, applies_if: dict) -> dict:
    """The documented rule: absent left, blank cleared, value set, not applicable cleared."""
    after = dict(before)
    for code, value in sent.items():
        if value is None:
            after.pop(code, None)
        else:
            after[code] = value
    return {code: value for code, value in after.items() if applies(code, after, applies_if)}


def assert_only_the_rule_changed(survey_return, before: dict, sent: dict, removed: set, applies_if: dict) -> None:
    after = stored(survey_return)
    assert after == expected_after(before, sent, applies_if)
    # Spelled out: nothing removed from what was sent changed unless its question stopped applying.
    for code in removed:
        if after.get(code) != before.get(code):
            assert not applies(code, after, applies_if)


@pytest.fixture
def applies_if(edition) -> dict:
    return dict(
        Item.objects.filter(edition=edition, applies_if__isnull=False).values_list("code", "applies_if__code")
    )


# --- the data-entry page ------------------------------------------------------------------


def test_a_post_with_only_the_version_and_action_clears_nothing(world, reporter_client):
    """Issue 9, item 1: this POST used to answer "Draft saved." and delete every answer."""
    ret = world["return"]
    store(ret, clean_values(world["edition"]))
    before = stored(ret)
    assert len(before) > 100
    response = reporter_client.post(url(world), {"version": "1", "action": "save"})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Draft saved."]
    assert stored(ret) == before
    ret.refresh_from_db()
    assert ret.version == 1  # nothing was written, so no new version
    assert not AuditEvent.objects.filter(survey_return=ret).exists()


def test_a_blank_field_clears_its_answer(world, reporter_client):
    ret = world["return"]
    store(ret, {"eq_pet_ct": 2, "staff_nurse": 3})
    assert reporter_client.post(url(world), {"version": "1", "action": "save", "eq_pet_ct": ""}).status_code == 302
    assert stored(ret) == {"staff_nurse": 3}
    event = AuditEvent.objects.get(survey_return=ret, kind="value")
    assert (event.item_code, event.old_value, event.new_value) == ("eq_pet_ct", "2", "")


def test_radio_buttons_with_none_checked_leave_the_answer(world, reporter_client):
    ret = world["return"]
    store(ret, {"svc_pet": True, "op_lack_specialists": False})
    # Nothing checked sends nothing; a blank "svc_pet" sent on purpose does clear it.
    reporter_client.post(url(world), {"version": "1", "action": "save", "eq_pet_ct": "1"})
    assert stored(ret) == {"svc_pet": True, "op_lack_specialists": False, "eq_pet_ct": 1}
    reporter_client.post(url(world), {"version": "2", "action": "save", "svc_pet": ""})
    assert stored(ret) == {"op_lack_specialists": False, "eq_pet_ct": 1}


def test_items_that_no_longer_apply_are_cleared_and_a_typed_value_is_reported(world, reporter_client):
    ret = world["return"]
    store(ret, {"svc_in_vitro": True, "iv_samples": 10, "iv_tests": 20})
    # The page disables the in-vitro items when "no" is chosen, so the browser sends none of them.
    response = reporter_client.post(url(world), {"version": "1", "action": "save", "svc_in_vitro": "no"})
    assert response.status_code == 302
    assert stored(ret) == {"svc_in_vitro": False}
    assert {e.item_code for e in AuditEvent.objects.filter(survey_return=ret, new_value="")} == {"iv_samples", "iv_tests"}
    # Without JavaScript the value is sent anyway: it is not kept, and the page says so.
    response = reporter_client.post(url(world), {"version": "2", "action": "save", "svc_in_vitro": "no", "iv_samples": "50"})
    assert stored(ret) == {"svc_in_vitro": False}
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert notes[-2:] == [
        "Draft saved.",
        "Not kept, because the question they depend on is not answered yes: “In vitro analysis: samples tested”.",
    ]
    # Saying yes again brings the items back as asked, unanswered.
    reporter_client.post(url(world), {"version": "2", "action": "save", "svc_in_vitro": "yes", "iv_samples": "60"})
    assert stored(ret) == {"svc_in_vitro": True, "iv_samples": 60}


def test_a_refused_save_shows_the_stored_answers_of_fields_it_did_not_send(world, reporter_client):
    """Re-showing an absent field as blank would make the next save clear it."""
    ret = world["return"]
    store(ret, {"staff_nurse": 2, "svc_pet": True})
    response = reporter_client.post(url(world), {"version": "1", "action": "save", "staff_physician": "四"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'name="staff_physician" value="四"' in html
    assert re.search(r'name="staff_nurse" value="2"', html)
    assert re.search(r'name="svc_pet" value="yes" id="id_svc_pet_0" checked', html)
    assert stored(ret) == {"staff_nurse": 2, "svc_pet": True}


def test_submit_is_judged_on_the_stored_and_the_sent_values(world, reporter_client):
    ret = world["return"]
    values = clean_values(world["edition"])
    store(ret, {code: value for code, value in values.items() if code != "eq_thyroid_analyzer"})
    response = reporter_client.post(url(world), {"version": "1", "action": "submit"})
    assert response.status_code == 400
    assert 'data-rule="required:eq_thyroid_analyzer"' in response.content.decode()
    response = reporter_client.post(url(world), {"version": "1", "action": "submit", "eq_thyroid_analyzer": "4"})
    assert response.status_code == 302
    ret.refresh_from_db()
    assert ret.status == ReturnStatus.SUBMITTED
    assert stored(ret) == {**values, "eq_thyroid_analyzer": 4}


# Changes over the clean return, sent by the page and in a file: some values changed, some
# blanked, the in-vitro question answered no (its items sent anyway, as without JavaScript).
CHANGES = {
    "eq_thyroid_analyzer": 4,
    "eq_bone_densitometer": None,
    "ownership": "nonpublic",
    "op_suggestions": "多培训",
    "sup_doctoral": 3,
    "stu_masters": None,
    "svc_probe_lab": True,
    "svc_in_vitro": False,
    "iv_samples": 1200,
    "iv_tests": None,
    "rp_f18": False,
}
# On the page two yes/no questions are also left with no radio button checked (absent, see
# _page_post); the file answers one of them (CSV_CHANGES below).
PAGE_CHANGES = CHANGES | {"staff_nurse": 2}


def _page_post(values: dict) -> dict:
    data = {"version": "1", "action": "save"}
    for code, value in values.items():
        if code in ("op_lack_specialists", "op_regional_economy"):
            continue  # radio buttons left unchecked: the browser sends nothing
        data[code] = sent_text(value)
    return data


@PROPERTY
@given(data=st.data())
def test_removing_fields_from_a_post_changes_only_what_the_rule_says(world, applies_if, data):
    ret = world["return"]
    client = Client()
    client.force_login(world["reporter"])
    before = clean_values(world["edition"])
    page = _page_post({**before, **PAGE_CHANGES})
    item_fields = sorted(code for code in page if code not in ("version", "action"))
    removed = data.draw(st.sets(st.sampled_from(item_fields)), label="removed")
    store(ret, before)
    post = {key: value for key, value in page.items() if key not in removed}
    assert client.post(url(world), post).status_code == 302
    sent = {code: PAGE_CHANGES.get(code, before.get(code)) for code in item_fields if code not in removed}
    assert_only_the_rule_changed(ret, before, sent, removed, applies_if)


# --- spreadsheets: the import command and the upload pages -----------------------------------


def _csv(institution, values: dict) -> bytes:
    return csv_bytes([["institution_code", *values], [institution.code, *map(sent_text, values.values())]])


def _import(content: bytes, **options) -> tuple[str, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "returns.csv"
        path.write_bytes(content)
        call_command("import_returns", str(path), "--edition", "2024", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_command_leaves_items_without_a_column_and_clears_blank_cells(world):
    ret = world["return"]
    store(ret, {"eq_thyroid_analyzer": 2, "eq_bone_densitometer": 1, "sup_doctoral": 3})
    _import(_csv(world["beijing"], {"eq_thyroid_analyzer": 5, "eq_bone_densitometer": None}))
    assert stored(ret) == {"eq_thyroid_analyzer": 5, "sup_doctoral": 3}


def test_command_clears_items_that_no_longer_apply_and_warns_about_typed_values(world):
    ret = world["return"]
    store(ret, {"svc_in_vitro": True, "iv_samples": 10, "iv_tests": 20})
    out, err = _import(_csv(world["beijing"], {"svc_in_vitro": False, "iv_samples": 30, "iv_internal_qc": False}))
    assert stored(ret) == {"svc_in_vitro": False}
    assert "iv_samples" in err and "not imported" in err
    assert "iv_internal_qc" not in err  # a "no" there says nothing: no warning
    assert "3 values changed" in out


CSV_CHANGES = CHANGES | {"op_lack_specialists": True}


@PROPERTY
@given(data=st.data())
def test_removing_columns_from_a_file_changes_only_what_the_rule_says(world, applies_if, data):
    ret = world["return"]
    before = clean_values(world["edition"])
    columns = sorted(CSV_CHANGES) + ["staff_nurse", "eq_pet_ct"]  # two columns that change nothing
    full = {code: CSV_CHANGES.get(code, before.get(code)) for code in columns}
    removed = data.draw(st.sets(st.sampled_from(columns), max_size=len(columns) - 1), label="removed")
    store(ret, before)
    sent = {code: value for code, value in full.items() if code not in removed}
    _import(_csv(world["beijing"], sent))
    assert_only_the_rule_changed(ret, before, sent, removed, applies_if)


@pytest.fixture
def upload_pages(django_capture_on_commit_callbacks):
    """Upload a file and confirm its preview, running the queued (eager) Celery tasks."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def post(client, path, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data or {})

    def upload(client, path, content):
        return post(client, path, {"file": SimpleUploadedFile("mine.csv", content)})

    return upload, post


def test_reporter_upload_previews_then_applies_the_rule(world, upload_pages):
    upload, post = upload_pages
    ret = world["return"]
    store(ret, {"svc_in_vitro": True, "iv_samples": 10, "iv_tests": 20, "eq_thyroid_analyzer": 1, "sup_doctoral": 3})
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=world["reporter"].username, password=PASSWORD)
    content = _csv(world["beijing"], {"svc_in_vitro": False, "iv_samples": 30, "eq_thyroid_analyzer": None})
    response = upload(client, reverse("spreadsheets:return_upload", kwargs={"return_id": ret.pk}), content)
    job_url = response["Location"]
    preview = client.get(job_url).content.decode()
    assert 'id="job-removals"' in preview and "1 existing answer would be removed because its cell is blank" in preview
    assert 'id="job-not-applicable"' in preview and "2 existing answers would be removed" in preview
    assert "its value 30 is not imported" in preview
    assert stored(ret)["iv_samples"] == 10  # a preview writes nothing
    post(client, job_url + "confirm/")
    assert 'id="job-done"' in client.get(job_url).content.decode()
    assert stored(ret) == {"svc_in_vitro": False, "sup_doctoral": 3}


def test_admin_bulk_upload_leaves_items_without_a_column(world, upload_pages):
    upload, post = upload_pages
    ret = world["return"]
    other = InstitutionFactory(province_id="31")
    store(ret, {"eq_thyroid_analyzer": 2, "sup_doctoral": 3})
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=world["admin"].username, password=PASSWORD)
    content = csv_bytes([["institution_code", "eq_thyroid_analyzer"], [world["beijing"].code, "4"], [other.code, "1"]])
    job_url = upload(client, reverse("spreadsheets:edition_import", kwargs={"year": 2024}), content)["Location"]
    post(client, job_url + "confirm/")
    assert stored(ret) == {"eq_thyroid_analyzer": 4, "sup_doctoral": 3}
    assert stored(SurveyReturn.objects.get(institution=other, edition=world["edition"])) == {"eq_thyroid_analyzer": 1}
