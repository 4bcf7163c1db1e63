"""Role scoping: what each role's selectors return, from the inside."""

import pytest
from django.db import IntegrityError

from institutions.models import Membership, Role
from institutions.selectors import institution_list_visible_to
from reporting.selectors import return_list_visible_to
from tests import factories


@pytest.fixture
def three_institutions(db):
    return (
        factories.InstitutionFactory(code="BJ1", province_id="11"),
        factories.InstitutionFactory(code="BJ2", province_id="11"),
        factories.InstitutionFactory(code="SH1", province_id="31"),
    )


@pytest.mark.sqlite
def test_reporter_sees_only_their_institution_and_its_returns(edition, three_institutions):
    bj1, bj2, sh1 = three_institutions
    for institution in three_institutions:
        factories.survey_return(edition=edition, institution=institution)
    user = factories.reporter(institution=bj1)
    assert list(institution_list_visible_to(user=user)) == [bj1]
    assert [r.institution for r in return_list_visible_to(user=user)] == [bj1]


def test_liaison_sees_only_their_province(edition, three_institutions):
    bj1, bj2, sh1 = three_institutions
    for institution in three_institutions:
        factories.survey_return(edition=edition, institution=institution)
    user = factories.liaison(province_code="11")
    assert set(institution_list_visible_to(user=user)) == {bj1, bj2}
    assert {r.institution for r in return_list_visible_to(user=user, edition=edition)} == {bj1, bj2}


def test_admin_sees_everything(edition, three_institutions):
    for institution in three_institutions:
        factories.survey_return(edition=edition, institution=institution)
    user = factories.society_admin()
    assert institution_list_visible_to(user=user).count() == 3
    assert return_list_visible_to(user=user).count() == 3


def test_users_without_a_role_and_anonymous_users_see_nothing(edition, three_institutions):
    from django.contrib.auth.models import AnonymousUser

    for institution in three_institutions:
        factories.survey_return(edition=edition, institution=institution)
    assert not institution_list_visible_to(user=factories.UserFactory()).exists()
    assert not institution_list_visible_to(user=AnonymousUser()).exists()
    assert not return_list_visible_to(user=AnonymousUser()).exists()


def test_inactive_user_sees_nothing(edition, three_institutions):
    user = factories.reporter(institution=three_institutions[0])
    user.is_active = False
    user.save()
    assert not institution_list_visible_to(user=user).exists()


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.REPORTER, {}),  # a reporter needs an institution
        (Role.LIAISON, {}),  # a liaison needs a province
        (Role.ADMIN, {"province_id": "11"}),  # an admin is national
    ],
)
def test_membership_scope_must_match_role(db, role, scope):
    user = factories.UserFactory()
    with pytest.raises(IntegrityError):
        Membership.objects.create(user=user, role=role, **scope)
