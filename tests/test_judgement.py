"""Automatic judgement (QC-04): the raw result is rounded by the item's GB/T 8170 rule and the rounded value is
judged against the limits, PASS / FAIL / ACTION; text items compare their words."""

from __future__ import annotations

import pytest

from records.judgement import SpecItem, Verdict, check_item, judge

PH = SpecItem("pH", "ChP 0631", "pH", low="6.4", high="7.4", rounding="DECIMALS", precision=1)
PROTEIN = SpecItem("Protein", "ChP 0731", "g/L", low="190", high="210", action_low="195", action_high="205",
                   rounding="DECIMALS", precision=0)
ENDOTOXIN = SpecItem("Endotoxin", "ChP 1143", "EU/mL", high="0.5", high_inclusive=False, rounding="INTERVAL",
                     interval="0.01")
MONOMER = SpecItem("Monomer", "SEC", "%", low="95", low_inclusive=False, rounding="SIGNIFICANT", precision=3)
OSMOLALITY = SpecItem("Osmolality", "ChP 0632", "mOsmol/kg", low="240", rounding="INTERVAL", interval="5")
HBSAG = SpecItem("HBsAg", "SOP-QC-101", expected="non-reactive")

CASES = [
    (PH, "7.44", "7.4", Verdict.PASS),  # rounds onto the high limit: passes
    (PH, "7.45", "7.4", Verdict.PASS),  # exactly 5 after: to even, onto the limit
    (PH, "7.450001", "7.5", Verdict.FAIL),  # 5 then a non-zero digit: up, past the limit
    (PH, "7.46", "7.5", Verdict.FAIL),
    (PH, "6.35", "6.4", Verdict.PASS),  # 3 is odd: up onto the low limit
    (PH, "6.349", "6.3", Verdict.FAIL),
    (PH, "7", "7.0", Verdict.PASS),
    (PROTEIN, "205.4", "205", Verdict.PASS),  # onto the action limit is not beyond it
    (PROTEIN, "205.5", "206", Verdict.ACTION),
    (PROTEIN, "194.5", "194", Verdict.ACTION),  # 4 is even: stays 194, below the action limit 195
    (PROTEIN, "210.5", "210", Verdict.ACTION),  # to even: 210, inside the limit, beyond the action limit
    (PROTEIN, "210.51", "211", Verdict.FAIL),
    (PROTEIN, "189.5", "190", Verdict.ACTION),
    (PROTEIN, "200", "200", Verdict.PASS),
    (ENDOTOXIN, "0.494", "0.49", Verdict.PASS),
    (ENDOTOXIN, "0.495", "0.50", Verdict.FAIL),  # the exclusive limit: 0.50 is not below 0.5
    (MONOMER, "95.04", "95.0", Verdict.FAIL),  # exclusive low limit: 95.0 is not above 95
    (MONOMER, "95.05", "95.0", Verdict.FAIL),
    (MONOMER, "95.06", "95.1", Verdict.PASS),
    (OSMOLALITY, "237.5", "240", Verdict.PASS),  # 0.5 unit of tens: x2 = 475.0 -> 480 -> 240
    (OSMOLALITY, "237.4", "235", Verdict.FAIL),
]


@pytest.mark.req("QC-04")
@pytest.mark.parametrize(("item", "raw", "reported", "verdict"), CASES,
                         ids=[f"{c[0].name}-{c[1]}" for c in CASES])
def test_the_rounded_value_is_judged(item: SpecItem, raw: str, reported: str, verdict: Verdict) -> None:
    got = judge(item, raw)
    assert (got.reported, got.verdict) == (reported, verdict)
    assert reported in got.reason


@pytest.mark.req("QC-04")
@pytest.mark.parametrize(("raw", "verdict"), [("non-reactive", Verdict.PASS), ("Non Reactive", Verdict.PASS),
                                              (" NON_REACTIVE ", Verdict.PASS), ("reactive", Verdict.FAIL),
                                              ("nonreactive?", Verdict.FAIL), ("positive", Verdict.FAIL)])
def test_text_items_compare_their_words(raw: str, verdict: Verdict) -> None:
    assert judge(HBSAG, raw).verdict is verdict


@pytest.mark.req("QC-04")
@pytest.mark.parametrize("raw", ["", "seven", "NaN", "7,4", "1e999999999"])
def test_a_result_that_is_not_a_number_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        judge(PH, raw)
    if not raw:
        with pytest.raises(ValueError):
            judge(HBSAG, raw)


def test_an_item_without_limits_or_rule_cannot_judge() -> None:
    with pytest.raises(ValueError, match="limits are missing"):
        judge(SpecItem("Appearance", "visual", "-", rounding="DECIMALS", precision=0), "1")
    with pytest.raises(ValueError, match="rounding rule is missing"):
        judge(SpecItem("pH", "m", "pH", low="6"), "7")


def test_draft_checks_and_completeness() -> None:
    check_item(SpecItem("pH", low="6.4"), complete=False)  # a draft may be incomplete
    with pytest.raises(ValueError, match="method is missing"):
        check_item(SpecItem("pH", low="6.4"), complete=True)
    with pytest.raises(ValueError, match="actionLow must lie inside"):
        check_item(SpecItem("pH", low="6.4", high="7.4", action_low="6.4", low_inclusive=False), complete=False)
    with pytest.raises(ValueError, match="rounding is one of"):
        check_item(SpecItem("pH", low="6.4", rounding="HALF_UP"), complete=False)
