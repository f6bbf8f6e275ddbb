"""Signed-mutation cases: the QC laboratory's test records (issue 13)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from demo import ca as demo_ca
from policies import pki
from records.audit import AuditContext
from records.plant import Room, Sensor
from records.plasma import Batch
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


async def _report(w: World) -> dict[str, Any]:
    """Batch B-TR-2's record reviewed, its report prepared by QA (organisation key configured as
    tests/test_test_reports.py does) and the report's bytes signed with QA's key."""
    record = await _recorded(w)
    await w.call("qcr.sig", "reviewTestRecord", {"recordId": record["id"], "comment": "checked"}, "REVIEWED")
    org = demo_ca.write_pki(w.signers.directory, [("organisation", "Demo Biologics (synthetic)", "ES256")])[
        "organisation"]
    services = w.gql.client.app_services  # type: ignore[attr-defined]
    services.org_key, services.org_cert = org.key_pem, org.cert_pem
    qa = await w.gql.sign_in("qa.sig")
    body = await qa("mutation($r: Int!) { prepareTestReport(recordId: $r) { documentId algorithm toSign } }",
                    {"r": record["id"]})
    assert "errors" not in body, body
    prepared = body["data"]["prepareTestReport"]
    cms = pki.sign_bytes(w.signers.keys["qa.sig"].key_pem, prepared["algorithm"],
                         base64.b64decode(prepared["toSign"]))
    return {"documentId": prepared["documentId"], "cmsSignature": base64.b64encode(cms).decode()}


async def _audit_review(_: World) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"context": "PERIODIC", "periodFrom": (now - timedelta(hours=1)).isoformat(), "periodTo": now.isoformat(),
            "department": "QA", "conclusion": "NO_ISSUE"}


async def _alarm_rule(w: World) -> dict[str, Any]:
    async with w.db.write(AuditContext("system", reason="layout")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        s.add(Sensor(tag="R1-CASE-TT", name="Room temperature", kind="temperature", unit="C", room_id=room.id,
                     low_limit=18.0, high_limit=24.0))
    return {"tag": "R1-CASE-TT", "lowLimit": 18.0, "highLimit": 23.0, "reason": "tighter"}


async def _expired_batch(w: World) -> dict[str, Any]:
    """A batch that expired three years ago, with nothing pointing to it: its retention has ended."""
    async with w.db.write(AuditContext("system", reason="history")) as s:
        old = Batch(batch_number="B-EXPIRED", product="Human Albumin 20%", status="RELEASED",
                    expiry_date=(datetime.now(UTC) - timedelta(days=3 * 366)).date())
        s.add(old)
        await s.flush()
        return {"table": "batch", "ids": [old.id], "reason": "retention ended"}


CASES: dict[str, Case] = {
    "recordTestResult": Case("qc.sig", _result),
    "correctTestResult": Case("qc.sig", _correction),
    "reviewTestRecord": Case("qcr.sig", _review, "REVIEWED"),
    "completeTestReport": Case("qa.sig", _report, "APPROVED"),
    "concludeAuditReview": Case("qa.sig", _audit_review, "REVIEWED"),
    "changeAlarmRule": Case("sup.rsa", _alarm_rule, second=("qa.sig", "APPROVED")),
    "destroyRecords": Case("qa.sig", _expired_batch, second=("qp.sig", "APPROVED")),
}
SECOND_ARG = {"changeAlarmRule": "approval", "destroyRecords": "approval"}
