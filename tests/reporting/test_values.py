"""Parsing typed values: one definition of yes/no, whole numbers and choices for every path."""

import pytest

from reporting.models import MAX_INTEGER_VALUE, Item
from reporting.values import ValueInvalid, value_display, value_parse


@pytest.fixture
def items(edition):
    return {i.code: i for i in Item.objects.filter(edition=edition, code__in=["eq_pet_ct", "svc_pet", "ownership", "op_suggestions"])}


@pytest.mark.sqlite
@pytest.mark.parametrize("raw", ["yes", "YES", "true", "1", 1, True, "是", " y "])
def test_yes_words(items, raw):
    assert value_parse(items["svc_pet"], raw) is True


@pytest.mark.parametrize("raw", ["no", "false", "0", 0, False, "否"])
def test_no_words(items, raw):
    assert value_parse(items["svc_pet"], raw) is False


@pytest.mark.parametrize("raw", ["", "  ", None])
def test_blank_is_unanswered(items, raw):
    assert value_parse(items["eq_pet_ct"], raw) is None
    assert value_parse(items["svc_pet"], raw) is None


@pytest.mark.parametrize(("raw", "value"), [("12", 12), (12, 12), (12.0, 12), ("1,234", 1234), ("0", 0), ("１２", 12), (str(MAX_INTEGER_VALUE), MAX_INTEGER_VALUE)])
def test_whole_numbers(items, raw, value):
    assert value_parse(items["eq_pet_ct"], raw) == value


@pytest.mark.parametrize(("raw", "fragment"), [("-1", "negative"), ("1.5", "not a whole number"), (1.5, "not a whole number"), ("abc", "not a whole number"), ("²", "not a whole number"), (str(MAX_INTEGER_VALUE + 1), "larger than"), (True, "not a whole number")])
def test_bad_numbers(items, raw, fragment):
    with pytest.raises(ValueInvalid, match=fragment):
        value_parse(items["eq_pet_ct"], raw)


def test_choices_by_code_or_label(items):
    assert value_parse(items["ownership"], "public") == "public"
    assert value_parse(items["ownership"], "非公立") == "nonpublic"
    with pytest.raises(ValueInvalid, match="not one of public, nonpublic"):
        value_parse(items["ownership"], "private")


def test_yes_no_rejects_other_words(items):
    with pytest.raises(ValueInvalid, match="not yes or no"):
        value_parse(items["svc_pet"], "maybe")


def test_display():
    assert [value_display(v) for v in (None, True, False, 0, "x")] == ["", "yes", "no", "0", "x"]
