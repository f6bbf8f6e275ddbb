"""The automatic check of test results is validated and version-locked (QC-11): the validation table below
is the evidence for version QC-JUDGE-1 (rounding by GB/T 8170 at each limit, inclusive and exclusive limits,
internal action limits, text results), and every judged result carries the version that judged it."""

from __future__ import annotations

from typing import Any

import pytest

from records.judgement import CHECK_VERSION, SpecItem, judge
from tests.test_qc_records import _entry, _record, _setup

PH = SpecItem("pH", method="ChP 0631", unit="pH", low="6.4", high="7.4", rounding="DECIMALS", precision=1)
ENDOTOXIN = SpecItem("Endotoxin", method="ChP 1143", unit="EU/mL", high="0.5", high_inclusive=False,
                     rounding="INTERVAL", interval="0.01")
PROTEIN = SpecItem("Protein", method="ChP 0731", unit="g/L", low="190", high="210", action_low="195",
                   action_high="205", rounding="DECIMALS", precision=0)
POTENCY = SpecItem("Potency", method="SOP-QC-050", unit="IU", low="0.80", high="1.25", rounding="SIGNIFICANT",
                   precision=3)
HBSAG = SpecItem("HBsAg", method="SOP-QC-101", expected="negative")

# (item, raw, reported, verdict): the expected answers of version QC-JUDGE-1.
TABLE = [
    (PH, "7.44", "7.4", "PASS"),  # 4 rounds down onto the limit: inside
    (PH, "7.45", "7.4", "PASS"),  # 5 with nothing after, 4 before is even: stays 7.4
    (PH, "7.451", "7.5", "FAIL"),  # 5 followed by a digit: up, outside
    (PH, "7.46", "7.5", "FAIL"),
    (PH, "6.35", "6.4", "PASS"),  # 5 with 3 before (odd): up onto the low limit
    (PH, "6.34", "6.3", "FAIL"),
    (ENDOTOXIN, "0.494", "0.49", "PASS"),
    (ENDOTOXIN, "0.4951", "0.50", "FAIL"),  # the exclusive limit itself fails
    (PROTEIN, "200.4", "200", "PASS"),
    (PROTEIN, "205.6", "206", "ACTION"),  # inside the specification, beyond the action limit
    (PROTEIN, "194.5", "194", "ACTION"),  # 194.5: 4 before the 5 is even, stays 194
    (PROTEIN, "210.5", "210", "ACTION"),  # rounds onto the limit: inside, beyond the action limit
    (PROTEIN, "210.51", "211", "FAIL"),
    (POTENCY, "1.2549", "1.25", "PASS"),
    (POTENCY, "1.2551", "1.26", "FAIL"),
    (HBSAG, "Negative", "Negative", "PASS"),
    (HBSAG, "reactive", "reactive", "FAIL"),
]


@pytest.mark.req("QC-11")
@pytest.mark.parametrize(("item", "raw", "reported", "verdict"), TABLE,
                         ids=[f"{t[0].name}-{t[1]}" for t in TABLE])
def test_the_validation_table_of_the_automatic_check(item: SpecItem, raw: str, reported: str, verdict: str) -> None:
    got = judge(item, raw)
    assert (got.reported, got.verdict.value) == (reported, verdict)


@pytest.mark.req("QC-11")
async def test_every_judged_result_carries_the_check_version(env: Any) -> None:
    gql, signers, _ = await _setup(env)
    body = await _record(gql, signers, _entry("pH", "7.45"))
    line = body["data"]["recordTestResult"]["results"][0]
    assert (line["reported"], line["verdict"]) == ("7.4", "PASS")
    me = await gql.sign_in("qc.sig")
    got = await me("query($id: Int!) { testRecord(id: $id) { results { checkVersion rounding } } }",
                   {"id": body["data"]["recordTestResult"]["id"]})
    assert CHECK_VERSION == "QC-JUDGE-1"
    assert got["data"]["testRecord"]["results"] == [{"checkVersion": "QC-JUDGE-1",
                                                     "rounding": "GB/T 8170-2008 DECIMALS 1"}]
