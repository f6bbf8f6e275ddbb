"""GB/T 8170-2008 rounding (records/rounding.py): the standard's own examples, clause by clause."""

from __future__ import annotations

from decimal import Decimal

import pytest

from records.rounding import (
    RoundingKind,
    RoundingRule,
    apply,
    text,
    to_decimals,
    to_interval,
    to_significant,
)

D = Decimal

# (raw value, rule, expected rounded value as text), each from the clause named in the comment.
CASES = [
    # §3.1 修约间隔: interval 0.1 is one decimal place, 100 is to hundreds.
    ("12.1498", RoundingRule(RoundingKind.INTERVAL, interval=D("0.1")), "12.1"),
    ("1234", RoundingRule(RoundingKind.INTERVAL, interval=D("100")), "1200"),
    # §3.2.1 拟舍弃数字的最左一位数字小于5, 则舍去.
    ("12.1498", RoundingRule(RoundingKind.DECIMALS, 1), "12.1"),
    ("12.1498", RoundingRule(RoundingKind.DECIMALS, 0), "12"),
    # §3.2.2 最左一位数字大于5, 则进一: 1268 to hundreds → 13x10².
    ("1268", RoundingRule(RoundingKind.DECIMALS, -2), "1300"),
    ("1268", RoundingRule(RoundingKind.INTERVAL, interval=D("100")), "1300"),
    # §3.2.3 最左一位是5且其后有非0数字, 则进一.
    ("10.5002", RoundingRule(RoundingKind.DECIMALS, 0), "11"),
    # §3.2.4 5 followed by nothing or zeros: odd kept digit up, even stays (奇进偶舍).
    ("1.050", RoundingRule(RoundingKind.INTERVAL, interval=D("0.1")), "1.0"),
    ("0.35", RoundingRule(RoundingKind.INTERVAL, interval=D("0.1")), "0.4"),
    ("2500", RoundingRule(RoundingKind.INTERVAL, interval=D("1000")), "2000"),
    ("3500", RoundingRule(RoundingKind.INTERVAL, interval=D("1000")), "4000"),
    # §3.2.5 负数: the absolute value is rounded, the sign kept.
    ("-355", RoundingRule(RoundingKind.INTERVAL, interval=D("10")), "-360"),
    ("-325", RoundingRule(RoundingKind.INTERVAL, interval=D("10")), "-320"),
    ("-0.0365", RoundingRule(RoundingKind.INTERVAL, interval=D("0.001")), "-0.036"),
    # §3.3.1 不允许连续修约: from the raw value at once (97.46 → 97, never 97.5 → 98; 15.4546 → 15, not 16).
    ("97.46", RoundingRule(RoundingKind.DECIMALS, 0), "97"),
    ("15.4546", RoundingRule(RoundingKind.DECIMALS, 0), "15"),
    # §3.4 0.5单位修约 (to the 0.5 unit of units): x2, round, /2.
    ("60.25", RoundingRule(RoundingKind.INTERVAL, interval=D("0.5")), "60.0"),
    ("60.38", RoundingRule(RoundingKind.INTERVAL, interval=D("0.5")), "60.5"),
    ("60.28", RoundingRule(RoundingKind.INTERVAL, interval=D("0.5")), "60.5"),
    ("-60.75", RoundingRule(RoundingKind.INTERVAL, interval=D("0.5")), "-61.0"),
    # §3.5 0.2单位修约 (to the 0.2 unit of hundreds, interval 20): x5, round, /5.
    ("830", RoundingRule(RoundingKind.INTERVAL, interval=D("20")), "840"),
    ("842", RoundingRule(RoundingKind.INTERVAL, interval=D("20")), "840"),
    ("832", RoundingRule(RoundingKind.INTERVAL, interval=D("20")), "840"),
    ("-930", RoundingRule(RoundingKind.INTERVAL, interval=D("20")), "-920"),
    # §2.2 有效位数 with the §3.2 rules: 3.2, 0.32, 0.032 have two figures; 0.0320 has three.
    ("3.2", RoundingRule(RoundingKind.SIGNIFICANT, 2), "3.2"),
    ("0.0325", RoundingRule(RoundingKind.SIGNIFICANT, 2), "0.032"),
    ("0.03205", RoundingRule(RoundingKind.SIGNIFICANT, 3), "0.0320"),
    ("12.490", RoundingRule(RoundingKind.SIGNIFICANT, 5), "12.490"),
    ("35000", RoundingRule(RoundingKind.SIGNIFICANT, 2), "35000"),
    ("35499", RoundingRule(RoundingKind.SIGNIFICANT, 2), "35000"),
]

# Beyond the standard's printed examples: the same rules on other digits.
MORE = [
    ("9.96", RoundingRule(RoundingKind.SIGNIFICANT, 2), "10"),  # carries into a new figure, stays 2 figures
    ("-9.96", RoundingRule(RoundingKind.SIGNIFICANT, 2), "-10"),
    ("0", RoundingRule(RoundingKind.SIGNIFICANT, 3), "0.00"),
    ("-0.25", RoundingRule(RoundingKind.DECIMALS, 1), "-0.2"),
    ("-0.15", RoundingRule(RoundingKind.DECIMALS, 1), "-0.2"),
    ("2.25", RoundingRule(RoundingKind.DECIMALS, 2), "2.25"),  # nothing to drop: written to the places asked
    ("7", RoundingRule(RoundingKind.DECIMALS, 2), "7.00"),
    ("0.15", RoundingRule(RoundingKind.INTERVAL, interval=D("0.2")), "0.2"),  # x5 = 0.75 → 1 → 0.2
    ("0.1", RoundingRule(RoundingKind.INTERVAL, interval=D("0.2")), "0.0"),  # x5 = 0.5 → 0 (even) → 0.0
    ("0.3", RoundingRule(RoundingKind.INTERVAL, interval=D("0.2")), "0.4"),  # x5 = 1.5 → 2 → 0.4
    ("1.25", RoundingRule(RoundingKind.INTERVAL, interval=D("0.5")), "1.0"),  # x2 = 2.50 → 2 → 1.0
    ("1.75", RoundingRule(RoundingKind.INTERVAL, interval=D("0.5")), "2.0"),  # x2 = 3.50 → 4 → 2.0
    ("1.2E+3", RoundingRule(RoundingKind.DECIMALS, 0), "1200"),
]


# Not marked QC-10: that needs stored results recomputed from their raw values and preset formulas,
# which come with the test records (tests/req_open.py).
@pytest.mark.parametrize(("raw", "rule", "expected"), CASES)
def test_gbt_8170_examples(raw: str, rule: RoundingRule, expected: str) -> None:
    """The preset rule gives the standard's value from the raw value, as text or Decimal alike."""
    assert text(apply(rule, raw)) == expected
    assert text(apply(rule, Decimal(raw))) == expected


@pytest.mark.parametrize(("raw", "rule", "expected"), MORE)
def test_more_values(raw: str, rule: RoundingRule, expected: str) -> None:
    assert text(apply(rule, raw)) == expected


def test_no_successive_rounding() -> None:
    """Rounding 15.4546 in steps would give 16; from the raw value it is 15 (§3.3.1)."""
    stepwise = "15.4546"
    for places in (3, 2, 1, 0):
        stepwise = text(to_decimals(stepwise, places))
    assert stepwise == "16"
    assert text(to_decimals("15.4546", 0)) == "15"


@pytest.mark.parametrize("bad", ["NaN", "nan", "Infinity", "-inf", "", "12,5", "abc", "1.2.3", "0x10", "1" * 61])
def test_refuses_text_that_is_not_a_number(bad: str) -> None:
    with pytest.raises(ValueError, match="not a decimal number"):
        to_decimals(bad, 1)


def test_refuses_floats_and_special_decimals() -> None:
    with pytest.raises(ValueError, match="never a float"):
        to_decimals(0.35, 1)
    with pytest.raises(ValueError, match="never a float"):
        to_significant(True, 1)
    with pytest.raises(ValueError, match="finite"):
        to_decimals(Decimal("NaN"), 1)
    with pytest.raises(ValueError, match="finite"):
        to_decimals(Decimal("-Infinity"), 1)
    with pytest.raises(ValueError, match="text or Decimal"):
        to_decimals([1], 1)
    with pytest.raises(ValueError, match="out of range"):
        to_decimals("1e999999999", 1)
    with pytest.raises(ValueError, match="out of range"):
        to_significant(Decimal("1e-99"), 2)


@pytest.mark.parametrize("interval", ["0.3", "25", "0", "-0.5", "NaN"])
def test_refuses_intervals_other_than_1_2_5(interval: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        to_interval("1.0", Decimal(interval))
    with pytest.raises(ValueError, match="interval"):
        RoundingRule(RoundingKind.INTERVAL, interval=Decimal(interval))


def test_refuses_bad_rules() -> None:
    with pytest.raises(ValueError, match="significant"):
        RoundingRule(RoundingKind.SIGNIFICANT, 0)
    with pytest.raises(ValueError, match="decimal places"):
        RoundingRule(RoundingKind.DECIMALS, 31)
