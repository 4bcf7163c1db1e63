"""Factories that keep related rows consistent (a reporter's institution exists, etc.)."""

import factory
from django.contrib.auth import get_user_model

from institutions.models import Institution, Membership, Province, Role
from reporting.models import Answer, Edition, Item, ReturnStatus, SurveyReturn

User = get_user_model()
PASSWORD = "correct-horse-battery"


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n:05d}")
    name = factory.Sequence(lambda n: f"测试医院{n}")
    name_en = factory.Sequence(lambda n: f"Test Hospital {n}")
    province = factory.LazyFunction(lambda: Province.objects.get(code="11"))
    city = "北京"
    ownership = "public"
    hospital_level = "tertiary_a"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def reporter(institution=None, **kwargs):
    institution = institution or InstitutionFactory()
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, role=Role.REPORTER, institution=institution)
    return user


def liaison(province_code="11", **kwargs):
    user = UserFactory(**kwargs)
    Membership.objects.create(
        user=user, role=Role.LIAISON, province=Province.objects.get(code=province_code)
    )
    return user


def society_admin(**kwargs):
    user = UserFactory(is_staff=True, **kwargs)
    Membership.objects.create(user=user, role=Role.ADMIN)
    return user


def survey_return(*, edition: Edition, institution=None, status=ReturnStatus.DRAFT, values=None):
    """A return with `values` ({item code: typed value}) stored as answers."""
    institution = institution or InstitutionFactory()
    ret = SurveyReturn.objects.create(edition=edition, institution=institution, status=status)
    if values:
        items = {i.code: i for i in Item.objects.filter(edition=edition, code__in=values)}
        answers = []
        for code, value in values.items():
            item = items[code]
            answer = Answer(survey_return=ret, item=item)
            if item.type == "integer":
                answer.int_value = value
            elif item.type == "boolean":
                answer.bool_value = value
            else:
                answer.text_value = value
            answers.append(answer)
        Answer.objects.bulk_create(answers)
    return ret


def zero_values(edition) -> dict:
    """Every integer item of the edition answered 0 and every yes/no item no (in item order);
    choice and text items unanswered."""
    values = {}
    for code, kind in Item.objects.filter(edition=edition).values_list("code", "type"):
        if kind in ("integer", "boolean"):
            values[code] = 0 if kind == "integer" else False
    return values


def complete_values(edition, **overrides) -> dict:
    """`zero_values` with the four choices a return needs (public, tertiary A, independent,
    licence II); `overrides` on top."""
    values = zero_values(edition)
    values.update({"ownership": "public", "hospital_level": "tertiary_a", "dept_affiliation": "independent",
                   "licence_class": "II"})
    return values | overrides


def approved_pair(edition) -> None:
    """Two approved returns whose figures the exports and the API are checked against: E1 in
    Beijing (2 PET/CT, 3 physicians, 1 nurse, PET service) and E2, non-public, in Xinjiang (65)."""
    survey_return(edition=edition, institution=InstitutionFactory(code="E1"), status=ReturnStatus.APPROVED,
                  values=complete_values(edition, eq_pet_ct=2, staff_physician=3, staff_nurse=1, svc_pet=True))
    survey_return(edition=edition, institution=InstitutionFactory(code="E2", province=Province.objects.get(code="65")),
                  status=ReturnStatus.APPROVED, values=complete_values(edition, ownership="nonpublic", co_exam_tumor=5))
