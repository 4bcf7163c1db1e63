"""The expression toolkit both definition languages (rules, indicators) are built on."""

from decimal import Decimal

import pytest

from reporting.expressions import Binary, ItemRef, Number
from reporting.indicators import Compare, Count, IndicatorSyntaxError, indicator_parse
from reporting.rules import RuleSyntaxError, rule_expression_parse


@pytest.mark.sqlite
def test_both_languages_build_the_same_shared_nodes():
    shared = Binary("+", ItemRef("eq_pet_ct"), Number(1))
    assert rule_expression_parse("eq_pet_ct + 1") == shared
    assert indicator_parse("count(eq_pet_ct + 1 > 0)") == Count(Compare(">", shared, Number(Decimal(0))))


@pytest.mark.sqlite
def test_each_language_keeps_its_own_messages_and_positions():
    # Rules name the character where it is; indicators name the text from where the last token ended.
    with pytest.raises(RuleSyntaxError, match=r"unexpected character '\$' at position 3"):
        rule_expression_parse("a $ b")
    with pytest.raises(IndicatorSyntaxError, match=r"unexpected '\$ b' at character 2"):
        indicator_parse("N $ b")
    # Each language reads only its own operators: no division in the rules.
    with pytest.raises(RuleSyntaxError, match="unexpected character '/'"):
        rule_expression_parse("a / 2")
