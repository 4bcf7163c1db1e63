"""The one rule of what a write does with what was sent (reporting.services.answers)."""

import pytest

from reporting.rules.engine import questionnaire_compiled
from reporting.services.answers import answers_resolve, condition_not_met


@pytest.fixture
def questionnaire(edition):
    return questionnaire_compiled(edition)


STORED = {"eq_pet_ct": 2, "svc_in_vitro": True, "iv_samples": 10, "iv_tests": 20, "ownership": "public"}


def test_absent_items_are_left_as_they_are(questionnaire):
    resolved = answers_resolve(questionnaire=questionnaire, stored=STORED, sent={})
    assert resolved.values == STORED and resolved.changes == {}


def test_blank_clears_and_a_value_sets(questionnaire):
    resolved = answers_resolve(questionnaire=questionnaire, stored=STORED, sent={"eq_pet_ct": None, "eq_spect": 3})
    assert resolved.values == {**{k: v for k, v in STORED.items() if k != "eq_pet_ct"}, "eq_spect": 3}
    assert resolved.changes == {"eq_pet_ct": (2, None), "eq_spect": (None, 3)}
    assert resolved.blanked == ("eq_pet_ct",) and resolved.not_applicable == ()


def test_sending_the_stored_value_changes_nothing_but_zero_is_not_no(questionnaire):
    resolved = answers_resolve(questionnaire=questionnaire, stored=STORED, sent={"eq_pet_ct": 2, "ownership": "public"})
    assert resolved.changes == {}
    resolved = answers_resolve(questionnaire=questionnaire, stored={"eq_pet_ct": 0}, sent={"eq_pet_ct": 0})
    assert resolved.changes == {}


def test_items_that_no_longer_apply_are_cleared_whether_sent_or_not(questionnaire):
    resolved = answers_resolve(
        questionnaire=questionnaire, stored=STORED, sent={"svc_in_vitro": False, "iv_samples": 12},
    )
    assert resolved.values == {"eq_pet_ct": 2, "svc_in_vitro": False, "ownership": "public"}
    assert resolved.changes == {"svc_in_vitro": (True, False), "iv_samples": (10, None), "iv_tests": (20, None)}
    assert set(resolved.not_applicable) == {"iv_samples", "iv_tests"} and resolved.blanked == ()
    # The typed 12 is thrown away: say so. A 0 or a no says nothing there and is not reported.
    assert resolved.discarded == {"iv_samples": 12}
    quiet = answers_resolve(questionnaire=questionnaire, stored={}, sent={"iv_samples": 0, "iv_internal_qc": False})
    assert quiet.discarded == {} and quiet.values == {} and quiet.changes == {}


def test_an_unanswered_condition_does_not_apply(questionnaire):
    resolved = answers_resolve(questionnaire=questionnaire, stored={}, sent={"iv_samples": 5})
    assert resolved.values == {} and resolved.discarded == {"iv_samples": 5}
    assert condition_not_met(questionnaire, "iv_samples", {}) == "svc_in_vitro"
    assert condition_not_met(questionnaire, "iv_samples", {"svc_in_vitro": True}) == ""


def test_the_condition_absent_keeps_its_stored_yes(questionnaire):
    """Radio buttons with none checked send nothing: the stored yes stands and its items apply."""
    resolved = answers_resolve(questionnaire=questionnaire, stored=STORED, sent={"iv_samples": 30})
    assert resolved.values["iv_samples"] == 30 and resolved.not_applicable == ()


def test_a_blank_sent_for_an_item_that_no_longer_applies_counts_as_blanked(questionnaire):
    resolved = answers_resolve(
        questionnaire=questionnaire, stored=STORED, sent={"svc_in_vitro": False, "iv_samples": None},
    )
    assert resolved.blanked == ("iv_samples",) and resolved.not_applicable == ("iv_tests",)


def test_unknown_items_are_refused(questionnaire):
    with pytest.raises(ValueError, match="nope"):
        answers_resolve(questionnaire=questionnaire, stored={}, sent={"nope": 1})
