"""Peer outliers: modified z-scores in the database, the reviewers' list, marks and their audit."""

import pytest
from django.urls import reverse

from analysis.models import OutlierMark
from analysis.selectors import modified_z_scores, outlier_scores
from institutions.models import Province
from reporting.models import AuditEvent, ReturnStatus
from tests.factories import (
    InstitutionFactory,
    complete_values,
    liaison,
    reporter,
    society_admin,
    survey_return,
)


@pytest.fixture
def peers(edition):
    """Treatments per therapy bed (tx_per_bed; one bed each):
    - tertiary A, 8 returns: 10, 11, 12, 13, 14, 15, 16 and 100 (Shanghai's) — median 13.5, MAD 2;
    - secondary, 8 returns: seven 5s and a 9 (Beijing's) — MAD 0, mean absolute deviation 0.5;
    - other tertiary, 3 returns: too few to score, however far apart;
    - a return without beds has no value; a draft never counts."""
    shanghai, beijing = Province.objects.get(code="31"), Province.objects.get(code="11")
    returns = {}
    rows = [("tertiary_a", t, beijing) for t in (10, 11, 12, 13, 14, 15, 16)] + [("tertiary_a", 100, shanghai)]
    rows += [("secondary", 5, shanghai)] * 7 + [("secondary", 9, beijing)]
    rows += [("tertiary_other", t, beijing) for t in (1, 50, 900)]
    for number, (level, treatments, province) in enumerate(rows):
        ret = survey_return(edition=edition, institution=InstitutionFactory(code=f"O{number}", province=province),
                            status=ReturnStatus.SUBMITTED if number % 2 else ReturnStatus.APPROVED,
                            values=complete_values(edition, hospital_level=level, rpt_beds=1, tx_i131_graves=treatments))
        returns[level, treatments, province.code] = ret
    survey_return(edition=edition, institution=InstitutionFactory(code="O98"), status=ReturnStatus.APPROVED,
                  values=complete_values(edition, rpt_beds=0, tx_i131_graves=5000))
    survey_return(edition=edition, institution=InstitutionFactory(code="O99"), status=ReturnStatus.DRAFT,
                  values=complete_values(edition, rpt_beds=1, tx_i131_graves=5000))
    return returns


@pytest.mark.sqlite
def test_modified_z_scores_by_hand():
    # median 13.5; |deviations| 3.5 2.5 1.5 0.5 0.5 1.5 2.5 86.5 → MAD 2; 0.6745 × 86.5 / 2 = 29.172125
    scores = modified_z_scores([10, 11, 12, 13, 14, 15, 16, 100], min_peers=8)
    assert scores[-1] == pytest.approx(29.172125) and scores[0] == pytest.approx(-1.180375)
    # MAD 0: (9 - 5) / (1.253314 × 0.5) = 6.383077
    assert modified_z_scores([5] * 7 + [9], min_peers=8)[-1] == pytest.approx(6.383077, abs=1e-6)
    assert modified_z_scores([5] * 8, min_peers=8) == [None] * 8  # all equal: nobody is unusual
    assert modified_z_scores([1, 50, 900], min_peers=8) == [None] * 3  # too few peers


@pytest.mark.sqlite
def test_the_database_scores_match_the_hand_computation(edition, peers):
    scores = {(s.return_id, s.key): s for s in outlier_scores(edition=edition, flagged_only=False)}
    far = scores[peers["tertiary_a", 100, "31"].pk, "tx_per_bed"]
    assert far.median == 13.5 and far.peers == 8 and far.flagged
    assert far.score == pytest.approx(29.172125)
    near = scores[peers["tertiary_a", 16, "11"].pk, "tx_per_bed"]
    assert near.score == pytest.approx(0.843125) and not near.flagged
    mad_zero = scores[peers["secondary", 9, "11"].pk, "tx_per_bed"]
    assert mad_zero.score == pytest.approx(6.383077, abs=1e-6) and mad_zero.flagged
    small = scores[peers["tertiary_other", 900, "11"].pk, "tx_per_bed"]
    assert small.score is None and not small.flagged and small.peers == 3
    flagged = [(s.return_id, s.key) for s in outlier_scores(edition=edition)]
    # Most unusual first; only those two, whatever the other ratios (all zero: no score).
    assert flagged == [(peers["tertiary_a", 100, "31"].pk, "tx_per_bed"), (peers["secondary", 9, "11"].pk, "tx_per_bed")]


def test_a_liaison_sees_only_their_province(client, edition, peers):
    client.force_login(liaison("11"))
    page = client.get(reverse("analysis:outliers", args=[2024]) + "?province=31").content.decode()
    assert f'data-return="{peers["secondary", 9, "11"].pk}"' in page
    assert f'data-return="{peers["tertiary_a", 100, "31"].pk}"' not in page  # ?province= is ignored
    client.force_login(society_admin())
    page = client.get(reverse("analysis:outliers", args=[2024])).content.decode()
    assert f'data-return="{peers["tertiary_a", 100, "31"].pk}"' in page
    assert f'data-return="{peers["secondary", 9, "11"].pk}"' in page
    filtered = client.get(reverse("analysis:outliers", args=[2024]) + "?level=secondary").content.decode()
    assert f'data-return="{peers["tertiary_a", 100, "31"].pk}"' not in filtered
    assert reverse("entry:review", args=[peers["secondary", 9, "11"].pk]) in filtered


def test_reporters_may_not_see_the_list_or_mark(client, edition, peers):
    target = peers["secondary", 9, "11"]
    client.force_login(reporter(institution=target.institution))
    assert client.get(reverse("analysis:outliers", args=[2024])).status_code == 403
    response = client.post(reverse("analysis:mark", args=[target.pk]),
                           {"key": "tx_per_bed", "status": "explained", "note": "x"})
    assert response.status_code == 403
    client.force_login(liaison("31"))  # another province's liaison
    response = client.post(reverse("analysis:mark", args=[target.pk]),
                           {"key": "tx_per_bed", "status": "explained", "note": "x"})
    assert response.status_code == 403
    assert not OutlierMark.objects.exists()


def test_a_follow_up_is_audited_and_shown_to_the_reporter(client, edition, peers):
    target = peers["secondary", 9, "11"]
    reviewer = liaison("11")
    client.force_login(reviewer)
    response = client.post(reverse("analysis:mark", args=[target.pk]),
                           {"key": "tx_per_bed", "status": "follow_up", "note": "Nine per bed: please check."})
    assert response.status_code == 302
    mark = OutlierMark.objects.get(survey_return=target, key="tx_per_bed")
    assert mark.status == "follow_up" and mark.marked_by == reviewer
    event = AuditEvent.objects.get(survey_return=target, kind="outlier")
    assert event.actor == reviewer and event.item_code == "tx_per_bed"
    assert event.old_value == "" and event.new_value == "follow_up: Nine per bed: please check."
    # The reporter sees the question next to the treatments field.
    client.force_login(reporter(institution=target.institution))
    page = client.get(reverse("entry:return", args=[target.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Treatments per therapy bed: Nine per bed: please check." in page
    # Explained: a second mark replaces the first, and the trail keeps both.
    client.force_login(reviewer)
    client.post(reverse("analysis:mark", args=[target.pk]), {"key": "tx_per_bed", "status": "explained",
                                                              "note": "A new ward opened."})
    assert OutlierMark.objects.get(survey_return=target).status == "explained"
    assert AuditEvent.objects.filter(survey_return=target, kind="outlier").count() == 2
    # A follow-up without a question is refused, and nothing changes.
    client.post(reverse("analysis:mark", args=[target.pk]), {"key": "tx_per_bed", "status": "follow_up", "note": " "})
    assert OutlierMark.objects.get(survey_return=target).status == "explained"


def test_reviewers_find_the_list_from_the_menu(client, edition, peers):
    client.force_login(liaison("11"))
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("analysis:outliers_index") in home
    response = client.get(reverse("analysis:outliers_index"))
    assert response["Location"] == reverse("analysis:outliers", args=[2024])
    chinese = client.get(reverse("analysis:outliers", args=[2024]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "同级医院离群值" in chinese and "每张核素治疗床位治疗例次" in chinese


def test_the_review_page_shows_the_flags_next_to_the_fields(client, edition, peers):
    target = peers["secondary", 9, "11"]
    client.force_login(liaison("11"))
    page = client.get(reverse("entry:review", args=[target.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="outlier-flags"' in page
    assert "Treatments per therapy bed</strong>: 9.00" in page
    assert page.count('data-outlier="tx_per_bed"') == 1  # next to the first treatment item
    ordinary = client.get(reverse("entry:review", args=[peers["tertiary_a", 12, "11"].pk])).content.decode()
    assert 'data-testid="outlier-flags"' not in ordinary


@pytest.mark.sqlite
def test_an_edition_loaded_from_another_folder_uses_its_ratios():
    from analysis.definitions import edition_outlier_ratios
    from reporting.models import Edition

    demo = Edition(year=2026, definition_version="2024.2+demo")  # the demo's open edition
    assert [r.key for r in edition_outlier_ratios(demo)][:3] == ["pet_exams_per_pet_ct", "sp_exams_per_sp_unit",
                                                                  "tx_per_bed"]
    assert edition_outlier_ratios(Edition(year=2019, definition_version="2019.1")) == []
