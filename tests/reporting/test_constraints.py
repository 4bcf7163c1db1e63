"""Invariants held by the database itself."""

import pytest
from django.db import IntegrityError, transaction

from reporting.models import MAX_INTEGER_VALUE, Answer, Item, SurveyReturn
from tests import factories


@pytest.mark.sqlite
def test_one_return_per_institution_per_edition(edition):
    institution = factories.InstitutionFactory()
    SurveyReturn.objects.create(edition=edition, institution=institution)
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyReturn.objects.create(edition=edition, institution=institution)
    assert SurveyReturn.objects.filter(institution=institution).count() == 1


def test_same_institution_may_file_in_another_edition(edition, edition_2019):
    institution = factories.InstitutionFactory()
    SurveyReturn.objects.create(edition=edition, institution=institution)
    SurveyReturn.objects.create(edition=edition_2019, institution=institution)
    assert SurveyReturn.objects.filter(institution=institution).count() == 2


def test_one_answer_per_item_and_integer_range(edition):
    ret = factories.survey_return(edition=edition, values={"eq_pet_ct": 2})
    item = Item.objects.get(edition=edition, code="eq_pet_ct")
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(survey_return=ret, item=item, int_value=3)
    other = Item.objects.get(edition=edition, code="eq_pet_mr")
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(survey_return=ret, item=other, int_value=MAX_INTEGER_VALUE + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(survey_return=ret, item=other, int_value=-1)
    Answer.objects.create(survey_return=ret, item=other, int_value=MAX_INTEGER_VALUE)
