"""Shared pieces of the data-entry tests: a complete, rule-clean return and people around it."""

from reporting.models import Item, ItemType

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
    values = {}
    for code, kind in Item.objects.filter(edition=edition).values_list("code", "type"):
        if kind == ItemType.INTEGER:
            values[code] = 0
        elif kind == ItemType.BOOLEAN:
            values[code] = False
    values.update(CLEAN_OVERRIDES)
    return values
