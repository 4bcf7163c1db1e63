"""Saving values and moving a return through the workflow (services, PostgreSQL)."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from reporting.models import (
    Answer,
    AuditEvent,
    AuditSource,
    EntryExtension,
    ReturnStatus,
    ReviewComment,
    SurveyReturn,
    WarningConfirmation,
)
from reporting.services import returns as services
from reporting.services.editions import edition_close, edition_open
from tests import factories
from tests.reporting import entry_support
from tests.reporting.entry_support import clean_values

open_edition = entry_support.open_edition


@pytest.fixture
def people(open_edition):
    institution = factories.InstitutionFactory(province_id="11")
    return {
        "institution": institution,
        "reporter": factories.reporter(institution),
        "liaison": factories.liaison("11"),
        "other_liaison": factories.liaison("31"),
        "admin": factories.society_admin(),
        "return": factories.survey_return(edition=open_edition, institution=institution),
    }


def save(people, values, who="reporter", **kwargs):
    """Save through the service; the return as saved (the service updates it in place)."""
    ret = SurveyReturn.objects.get(pk=people["return"].pk)
    services.return_values_save(
        survey_return=ret, values=values, actor=people[who], expected_version=ret.version, **kwargs
    )
    return ret


def test_save_writes_only_changes_and_audits_them(people):
    ret = save(people, {"eq_pet_ct": 2, "svc_pet": True, "ownership": "public"})
    assert ret.version == 2
    assert services.return_values(ret) == {"eq_pet_ct": 2, "svc_pet": True, "ownership": "public"}
    ret = save(people, {"eq_pet_ct": 3, "svc_pet": True, "ownership": None})
    assert services.return_values(ret) == {"eq_pet_ct": 3, "svc_pet": True}
    events = AuditEvent.objects.filter(survey_return=ret, kind="value").order_by("id")
    assert [(e.item_code, e.old_value, e.new_value, e.return_version) for e in events] == [
        ("eq_pet_ct", "", "2", 2), ("ownership", "", "public", 2), ("svc_pet", "", "yes", 2),
        ("eq_pet_ct", "2", "3", 3), ("ownership", "public", "", 3),
    ]
    assert all(e.actor == people["reporter"] and e.source == AuditSource.WEB for e in events)


def test_items_not_named_stay_as_they_are(people):
    save(people, {"eq_pet_ct": 2, "eq_spect": 1})
    ret = save(people, {"eq_spect": 4}, who="admin", source=AuditSource.IMPORT)
    assert services.return_values(ret) == {"eq_pet_ct": 2, "eq_spect": 4}
    assert AuditEvent.objects.get(survey_return=ret, item_code="eq_spect", new_value="4").source == "import"


def test_stale_version_is_a_conflict_showing_the_other_change(people):
    ret = people["return"]
    stale_version = ret.version
    save(people, {"staff_nurse": 7}, who="admin")
    with pytest.raises(services.ReturnConflict) as caught:
        services.return_values_save(
            survey_return=SurveyReturn.objects.get(pk=ret.pk), values={"staff_nurse": 9},
            actor=people["reporter"], expected_version=stale_version,
        )
    conflict = caught.value
    assert conflict.current_version == stale_version + 1
    assert [(c.item_code, c.old_value, c.new_value, c.actor) for c in conflict.changes] == [
        ("staff_nurse", "", "7", people["admin"].username)
    ]
    assert services.return_values(ret) == {"staff_nurse": 7}


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_in_two_transactions_one_wins(edition):
    today = timezone.localdate()
    edition.status, edition.opens_on, edition.closes_on = "open", today, today
    edition.save()
    institution = factories.InstitutionFactory(province_id="11")
    first, second = factories.reporter(institution), factories.reporter(institution)
    ret = factories.survey_return(edition=edition, institution=institution)
    barrier = threading.Barrier(2)
    outcomes = {}

    def edit(user, value, hold):
        try:
            with transaction.atomic():
                loaded = SurveyReturn.objects.select_related("edition").get(pk=ret.pk)
                barrier.wait(timeout=10)  # both have read version 1
                if not hold:
                    # Let the other transaction update (and lock) the row first.
                    import time
                    time.sleep(0.3)
                services.return_values_save(
                    survey_return=loaded, values={"staff_nurse": value}, actor=user, expected_version=1
                )
                if hold:
                    import time
                    time.sleep(0.6)  # the second UPDATE waits on the row lock meanwhile
            outcomes[user.username] = "saved"
        except services.ReturnConflict as conflict:
            outcomes[user.username] = conflict
        finally:
            connection.close()

    threads = [
        threading.Thread(target=edit, args=(first, 5, True)),
        threading.Thread(target=edit, args=(second, 6, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes[first.username] == "saved"
    conflict = outcomes[second.username]
    assert isinstance(conflict, services.ReturnConflict)
    assert [(c.item_code, c.new_value) for c in conflict.changes] == [("staff_nurse", "5")]
    assert Answer.objects.get(survey_return=ret).int_value == 5
    assert SurveyReturn.objects.get(pk=ret.pk).version == 2


def test_wrong_types_and_unknown_codes_are_refused(people):
    with pytest.raises(ValueError, match="nope"):
        save(people, {"nope": 1})
    with pytest.raises(ValueError, match="eq_pet_ct"):
        save(people, {"eq_pet_ct": "3"})
    assert SurveyReturn.objects.get(pk=people["return"].pk).version == 1


def test_full_workflow(people, edition, django_capture_on_commit_callbacks):
    save(people, clean_values(edition))
    ret = SurveyReturn.objects.get(pk=people["return"].pk)
    services.return_submit(survey_return=ret, actor=people["reporter"])
    assert ret.status == ReturnStatus.SUBMITTED and ret.submitted_at
    with pytest.raises(services.ReturnActionRefused):
        services.return_review(survey_return=ret, actor=people["other_liaison"])
    services.return_send_back(
        survey_return=ret, actor=people["liaison"], comment="Check nurses",
        item_comments={"staff_nurse": "Really 2?"},
    )
    assert ret.status == ReturnStatus.SENT_BACK
    comments = ReviewComment.objects.filter(survey_return=ret)
    assert {(c.item.code if c.item else None, c.body) for c in comments} == {(None, "Check nurses"), ("staff_nurse", "Really 2?")}
    sent_back_version = ret.version
    values = {**clean_values(edition), "staff_nurse": 3, "title_junior": 4, "edu_undergraduate": 7}
    save(people, values)
    ret.refresh_from_db()
    version, changes = services.return_changes_since_sent_back(ret)
    assert version == sent_back_version
    assert {(e.item_code, e.old_value, e.new_value) for e in changes} == {
        ("staff_nurse", "2", "3"), ("title_junior", "3", "4"), ("edu_undergraduate", "6", "7")
    }
    services.return_submit(survey_return=ret, actor=people["reporter"])
    services.return_review(survey_return=ret, actor=people["liaison"])
    with pytest.raises(services.ReturnActionRefused):
        services.return_approve(survey_return=ret, actor=people["liaison"])
    with django_capture_on_commit_callbacks() as callbacks:
        services.return_approve(survey_return=ret, actor=people["admin"])
    assert len(callbacks) == 1  # the recomputation of the national figures
    assert ret.status == ReturnStatus.APPROVED
    assert not services.return_can_edit(user=people["reporter"], survey_return=ret)
    with pytest.raises(services.ReturnNotEditable):
        save(people, {"staff_nurse": 4})
    connection.run_on_commit.clear()  # the approval's job is queued once per transaction
    services.return_reopen(survey_return=ret, actor=people["admin"], comment="Correction")
    assert [getattr(job[1], "edition_recompute_id", None) for job in connection.run_on_commit] == [edition.pk]
    assert ret.status == ReturnStatus.SENT_BACK
    statuses = list(AuditEvent.objects.filter(survey_return=ret, kind="status").values_list("new_value", flat=True))
    assert statuses == ["submitted", "sent_back", "submitted", "reviewed", "approved", "sent_back"]


def test_submit_blocked_by_errors_and_unexplained_warnings(people, edition):
    save(people, {**clean_values(edition), "title_senior": 9})
    ret = SurveyReturn.objects.get(pk=people["return"].pk)
    with pytest.raises(services.ReturnNotSubmittable) as caught:
        services.return_submit(survey_return=ret, actor=people["reporter"])
    assert [f.rule_code for f in caught.value.findings] == ["personnel_title_sum"]
    save(people, {"title_senior": 3, "pmr_exam_tumor": 12})
    ret = SurveyReturn.objects.get(pk=people["return"].pk)
    with pytest.raises(services.ReturnNotSubmittable) as caught:
        services.return_submit(survey_return=ret, actor=people["reporter"])
    assert [f.rule_code for f in caught.value.findings] == ["pmr_exams_without_unit"]
    services.return_submit(
        survey_return=ret, actor=people["reporter"],
        explanations={"pmr_exams_without_unit": "Scanned on a partner hospital's PET/MR"},
    )
    assert ret.status == ReturnStatus.SUBMITTED
    assert WarningConfirmation.objects.get(survey_return=ret).explanation.startswith("Scanned")


def test_entry_dates_gate_reporters_except_an_extension(people, open_edition):
    ret = people["return"]
    admin = people["admin"]
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    edition_open(edition=open_edition, actor=admin, opens_on=yesterday - dt.timedelta(days=30), closes_on=yesterday)
    with pytest.raises(services.ReturnNotEditable):
        save(people, {"eq_pet_ct": 1})
    services.extension_grant(
        edition=open_edition, institution=people["institution"],
        until=timezone.localdate() + dt.timedelta(days=3), actor=admin, reason="Flood",
    )
    save(people, {"eq_pet_ct": 1})
    edition_close(edition=open_edition, actor=admin)
    save(people, {"eq_pet_ct": 2})  # the extension outlives closing
    EntryExtension.objects.all().delete()
    with pytest.raises(services.ReturnNotEditable):
        save(people, {"eq_pet_ct": 3})
    assert services.return_values(ret) == {"eq_pet_ct": 2}
    assert AuditEvent.objects.filter(kind="edition").count() == 2
    assert AuditEvent.objects.filter(kind="extension", comment="Flood").exists()


def test_only_admins_open_editions_and_grant_extensions(people, open_edition):
    from reporting.services.editions import EditionActionRefused

    with pytest.raises(EditionActionRefused):
        edition_close(edition=open_edition, actor=people["liaison"])
    with pytest.raises(services.ReturnActionRefused):
        services.extension_grant(edition=open_edition, institution=people["institution"],
                                 until=timezone.localdate(), actor=people["liaison"])


def test_an_edition_without_returns_is_not_compared(people, edition_2019):
    SurveyReturn.objects.create(edition=edition_2019, institution=people["institution"])
    assert services.return_previous(people["return"]) is None  # 2019 has published totals only


def test_previous_values_come_from_the_previous_edition(people, open_edition, tmp_path):
    """A 2025 edition loaded from a copy of the 2024 files compares with the 2024 return."""
    import shutil

    from django.utils import translation

    from reporting.services.questionnaire import DEFINITIONS_DIR, edition_definition_load

    folder = tmp_path / "2025"
    shutil.copytree(DEFINITIONS_DIR / "2024", folder)
    toml = (folder / "edition.toml").read_text(encoding="utf-8")
    toml = toml.replace("year = 2024", "year = 2025").replace("data_year = 2023", "data_year = 2024")
    toml = toml.replace("previous = 2019", "previous = 2024")
    (folder / "edition.toml").write_text(toml, encoding="utf-8")
    edition_2025, _changed = edition_definition_load(path=folder)
    save(people, {"staff_nurse": 40, "eq_pet_ct": 1})
    new_return = SurveyReturn.objects.create(edition=edition_2025, institution=people["institution"])
    assert services.return_previous(new_return) == people["return"]
    assert services.return_previous_values(new_return) == {"staff_nurse": 40, "eq_pet_ct": 1}
    with translation.override("en"):
        findings = services.return_check(new_return, for_submission=False, values={"staff_nurse": 4, "eq_pet_ct": 1})
    changes = [f for f in findings if f.rule_code.startswith("change_since_previous")]
    assert [f.rule_code for f in changes] == ["change_since_previous:staff_nurse"]
    assert "(40 → 4)" in changes[0].message
