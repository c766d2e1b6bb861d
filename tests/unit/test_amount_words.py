"""Amounts in Chinese upper case (人民币大写) for letters and contracts: documents.amount_in_words against
hand-written expectations (the rules of the People's Bank for filling in amounts: 整 after 元, 零 for
zeros in the middle, no 整 needed after 分)."""
from decimal import Decimal

import pytest

from app.services.documents import _amount_words_filter, amount_in_words, cn_date, money, percent

CASES = [
    # integers
    (Decimal("1000000"), "壹佰万元整"),
    (Decimal("1000000.00"), "壹佰万元整"),
    (Decimal("1"), "壹元整"),
    (Decimal("10"), "壹拾元整"),
    (Decimal("1100000"), "壹佰壹拾万元整"),
    (Decimal("50000000"), "伍仟万元整"),
    # jiao and fen
    (Decimal("12345.67"), "壹万贰仟叁佰肆拾伍元陆角柒分"),
    (Decimal("15.10"), "壹拾伍元壹角"),
    (Decimal("1234567.80"), "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角"),
    (Decimal("0.50"), "伍角"),
    (Decimal("0.05"), "伍分"),
    # zeros in the middle
    (Decimal("1005"), "壹仟零伍元整"),
    (Decimal("10010.01"), "壹万零壹拾元零壹分"),
    (Decimal("100001"), "壹拾万零壹元整"),
    (Decimal("20300.40"), "贰万零叁佰元肆角"),
    (Decimal("1000.05"), "壹仟元零伍分"),
    (Decimal("1000010"), "壹佰万零壹拾元整"),
    # large amounts
    (Decimal("100000000"), "壹亿元整"),
    (Decimal("123456789012.34"), "壹仟贰佰叁拾肆亿伍仟陆佰柒拾捌万玖仟零壹拾贰元叁角肆分"),
    # zero
    (Decimal("0"), "零元整"),
]


@pytest.mark.parametrize("amount,words", CASES)
def test_amount_in_words(amount, words):
    assert amount_in_words(amount) == words


def test_rounds_half_up_to_the_fen():
    assert amount_in_words(Decimal("0.005")) == "壹分"
    assert amount_in_words(Decimal("99.994")) == "玖拾玖元玖角玖分"
    assert amount_in_words(Decimal("99.995")) == "壹佰元整"


def test_accepts_figures_as_the_documents_write_them():
    assert amount_in_words("1,000,000.00") == "壹佰万元整"
    assert amount_in_words(12345) == "壹万贰仟叁佰肆拾伍元整"
    assert amount_in_words(0.1) == "壹角"  # a float goes through its text, not binary arithmetic


def test_refuses_what_is_not_an_amount():
    for bad in ("abc", "", None, "NaN", "Infinity"):
        with pytest.raises(ValueError):
            amount_in_words(bad)


def test_filter_leaves_missing_amounts_blank():
    assert _amount_words_filter("1,000,000.00") == "壹佰万元整"
    assert _amount_words_filter(None) == ""
    assert _amount_words_filter("") == ""
    assert _amount_words_filter("n/a") == ""


def test_formatting_helpers():
    from datetime import date

    assert money(Decimal("1000000")) == "1,000,000.00"
    assert money(Decimal("0.005")) == "0.01"
    assert cn_date(date(2026, 11, 28)) == "2026年11月28日"
    assert cn_date(date(2027, 1, 5)) == "2027年1月5日"
    assert percent(Decimal("0.015")) == "1.50%"
    assert percent(Decimal("0.02")) == "2.00%"
    assert percent(None) == ""
