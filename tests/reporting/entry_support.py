"""Shared pieces of the data-entry tests: a complete, rule-clean return and people around it."""

import datetime as dt

import pytest
from django.utils import timezone

from reporting.models import Answer, AuditEvent, Item, ItemType, ReturnStatus, SurveyReturn
from tests import factories

# Values that satisfy every rule of the 2024 edition (no errors, no warnings).
CLEAN_OVERRIDES = {
    "ownership": "public",
    "hospital_level": "tertiary_a",
    "dept_affiliation": "independent",
    "svc_single_photon": True,
    "svc_rpt": True,
    "svc_rpt_outpatient": True,
    "svc_pet": True,
    "svc_in_vitro": True,
    "eq_pet_ct": 1,
    "eq_spect_ct": 2,
    "eq_holder_nm": 3,
    "pet_exam_tumor": 3000,
    "sp_exam_skeletal": 5000,
    "licence_class": "II",
    "rp_single_photon": True,
    "rp_positron": True,
    "rp_f18": True,
    "rpt_performs": True,
    "rpt_beds": 10,
    "rpt_i131": True,
    "tx_i131_graves": 120,
    "iv_samples": 1000,
    "iv_tests": 2500,
    "staff_physician": 5,
    "staff_technician": 3,
    "staff_nurse": 2,
    "title_senior": 3,
    "title_intermediate": 4,
    "title_junior": 3,
    "edu_postgraduate": 4,
    "edu_undergraduate": 6,
}


def clean_values(edition) -> dict:
    """Every non-text item answered (0 / no unless overridden), consistent with all rules."""
    return factories.zero_values(edition) | CLEAN_OVERRIDES


@pytest.fixture
def open_edition(edition):
    """The 2024 edition, open for entry today."""
    today = timezone.localdate()
    edition.status = "open"
    edition.opens_on = today - dt.timedelta(days=10)
    edition.closes_on = today + dt.timedelta(days=10)
    edition.save()
    return edition


@pytest.fixture
def world(open_edition):
    """Two institutions in Beijing (11) and one in Shanghai (31), with their people and returns."""
    beijing = factories.InstitutionFactory(province_id="11", contact_email="nm@bj-hospital.example")
    beijing_other = factories.InstitutionFactory(province_id="11")
    shanghai = factories.InstitutionFactory(province_id="31")
    return {
        "edition": open_edition,
        "beijing": beijing,
        "beijing_other": beijing_other,
        "shanghai": shanghai,
        "reporter": factories.reporter(beijing, email="reporter@bj-hospital.example"),
        "reporter_other": factories.reporter(beijing_other),
        "reporter_shanghai": factories.reporter(shanghai),
        "liaison": factories.liaison("11"),
        "liaison_shanghai": factories.liaison("31"),
        "admin": factories.society_admin(),
        "return": factories.survey_return(edition=open_edition, institution=beijing),
        "return_other": factories.survey_return(edition=open_edition, institution=beijing_other),
        "return_shanghai": factories.survey_return(edition=open_edition, institution=shanghai),
    }


def sent_text(value) -> str:
    """A typed value as the entry form sends it and a person types it in a file: blank, yes/no
    or the text (written out here rather than taken from the code under test)."""
    if value is None:
        return ""
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def form_data(values: dict, *, version: int, action: str = "save", **extra) -> dict:
    """POST data of the entry form for typed `values` (booleans as yes/no)."""
    data = {"version": str(version), "action": action}
    for code, value in values.items():
        if value is None:
            continue
        data[code] = sent_text(value)
    data.update(extra)
    return data


def answers_store(survey_return, values: dict) -> None:
    """Reset a return to exactly `values`, as a draft at version 1 with no audit trail.

    Test set-up written straight to the tables, so it never goes through a writer under test.
    """
    Answer.objects.filter(survey_return=survey_return).delete()
    AuditEvent.objects.filter(survey_return=survey_return).delete()
    items = {item.code: item for item in Item.objects.filter(edition=survey_return.edition_id)}
    answers = []
    for code, value in values.items():
        item = items[code]
        answers.append(Answer(
            survey_return=survey_return, item=item,
            int_value=value if item.type == ItemType.INTEGER else None,
            bool_value=value if item.type == ItemType.BOOLEAN else None,
            text_value=value if item.type in (ItemType.CHOICE, ItemType.TEXT) else None,
        ))
    Answer.objects.bulk_create(answers)
    SurveyReturn.objects.filter(pk=survey_return.pk).update(version=1, status=ReturnStatus.DRAFT)
