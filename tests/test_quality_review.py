"""Product quality review (QM-11): a product's year assembled from the records created through the API:
its batches, deviations, OOS and the trend of each numeric test item over the batches, with its limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from records.audit import AuditContext
from records.plasma import Batch
from tests.attack.signed_cases.base import World
from tests.test_qc_records import _entry, _record, _setup

REVIEW = """query($p: String!, $y: Int!) { productQualityReview(product: $p, year: $y) {
  product year batches { batchNumber status } batchesByStatus { status count }
  deviations { number status batchNumber } oos { number status title batchNumber }
  trends { specificationCode stage item unit low high mean sd minimum maximum outsideLimits cpk
           points { batchNumber value reported } } } }"""


@pytest.mark.req("QM-11")
async def test_a_products_year_is_assembled_from_its_records(env: Any) -> None:
    gql, signers, db = await _setup(env)
    async with db.write(AuditContext("system", reason="test batches")) as s:
        for i, (day, status) in enumerate([(3, "RELEASED"), (5, "RELEASED"), (9, "IN_PROGRESS")]):
            s.add(Batch(batch_number=f"B-PQR-{i}", product="Human Albumin 20%", status=status,
                        started_at=datetime(2026, day, 1, tzinfo=UTC)))
        s.add(Batch(batch_number="B-PQR-OLD", product="Human Albumin 20%", status="RELEASED",
                    started_at=datetime(2025, 12, 30, tzinfo=UTC)))
    for i, ph in enumerate(["6.9", "7.0", "7.2"]):
        assert "errors" not in await _record(gql, signers, _entry("pH", ph) | {"batchNumber": f"B-PQR-{i}"})
    assert "errors" not in await _record(gql, signers, _entry("pH", "9.0") | {"batchNumber": "B-PQR-OLD"})
    # A failing protein result of the third batch opens an OOS; a deviation is raised on the first.
    assert "errors" not in await _record(gql, signers, _entry("Protein", "230") | {"batchNumber": "B-PQR-2"})
    await World(gql, signers, db).call("op.one", "raiseDeviation", {
        "title": "Filter integrity retest", "description": "first test inconclusive", "batchNumber": "B-PQR-0"})

    qa = await gql.sign_in("qa.sig")
    got = (await qa(REVIEW, {"p": "Human Albumin 20%", "y": 2026}))["data"]["productQualityReview"]
    assert [b["batchNumber"] for b in got["batches"]] == ["B-PQR-0", "B-PQR-1", "B-PQR-2"]  # not last year's
    assert got["batchesByStatus"] == [{"status": "IN_PROGRESS", "count": 1}, {"status": "RELEASED", "count": 2}]
    assert [(d["status"], d["batchNumber"]) for d in got["deviations"]] == [("OPEN", "B-PQR-0")]
    assert [(o["title"], o["batchNumber"]) for o in got["oos"]] == [("Protein 230", "B-PQR-2")]
    ph = next(t for t in got["trends"] if t["item"] == "pH")
    assert [p["batchNumber"] for p in ph["points"]] == ["B-PQR-0", "B-PQR-1", "B-PQR-2"]
    assert (ph["low"], ph["high"], ph["minimum"], ph["maximum"], ph["outsideLimits"]) == (6.4, 7.4, 6.9, 7.2, 0)
    assert ph["mean"] == pytest.approx(7.0333, abs=1e-3) and ph["sd"] == pytest.approx(0.1528, abs=1e-3)
    assert ph["cpk"] == pytest.approx((7.4 - 7.0333) / (3 * 0.1528), abs=1e-2)
    protein = next(t for t in got["trends"] if t["item"] == "Protein")
    assert protein["outsideLimits"] == 1 and protein["sd"] is None and protein["cpk"] is None

    # QA and the QP read it; an analyst or an operator does not.
    for user in ("qc.sig", "op.one"):
        me = await gql.sign_in(user)
        body = await me(REVIEW, {"p": "Human Albumin 20%", "y": 2026})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await qa(REVIEW, {"p": "Human Albumin 20%", "y": 1999})
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
