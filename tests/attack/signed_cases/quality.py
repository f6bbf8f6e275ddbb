"""Signed-mutation cases: the QC laboratory's test records (issue 13)."""

from __future__ import annotations

from typing import Any

from tests.attack.signed_cases.base import Case, World
from tests.attack.signed_cases.core import SPECIFICATION
from tests.attack.signed_cases.floor import _batch


async def _effective_spec(w: World, batch: str) -> None:
    await w.call("qc.sig", "createSpecification", SPECIFICATION)
    await w.call("qa.sig", "approveSpecification", {"code": "CASE-SPEC", "version": 1, "comment": "approved"},
                 "APPROVED")
    await _batch(w, batch)


def _entry(batch: str, value: str) -> dict[str, Any]:
    return {"batchNumber": batch, "stage": "FINAL", "subjectCode": "ALB-20", "item": "Protein", "value": value}


async def _result(w: World) -> dict[str, Any]:
    await _effective_spec(w, "B-TR-1")
    return _entry("B-TR-1", "200.4")


async def _recorded(w: World) -> dict[str, Any]:
    """The test record of batch B-TR-2 with one result: its id and its result's id."""
    await _effective_spec(w, "B-TR-2")
    await w.call("qc.sig", "recordTestResult", _entry("B-TR-2", "200.4"))
    me = await w.gql.sign_in("qc.sig")
    got = await me('{ batchTests(batchNumber: "B-TR-2") { id results { id } } }')
    record: dict[str, Any] = got["data"]["batchTests"][0]
    return record


async def _correction(w: World) -> dict[str, Any]:
    record = await _recorded(w)
    return {"resultId": record["results"][0]["id"], "value": "201", "reason": "transcription error"}


async def _review(w: World) -> dict[str, Any]:
    return {"recordId": (await _recorded(w))["id"], "comment": "checked against the raw data"}


CASES: dict[str, Case] = {
    "recordTestResult": Case("qc.sig", _result),
    "correctTestResult": Case("qc.sig", _correction),
    "reviewTestRecord": Case("qcr.sig", _review, "REVIEWED"),
}
