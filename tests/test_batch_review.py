"""A batch record from phases to the QP's decision: every exception found (phases outside limits,
alarms, deviations, manual entries, data changes), reviewed by QA with signed conclusions, the review
concluded with QA's opinion, and the release refused to anyone who signed a phase of it. Reject is a
decision too."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from demo import ca as demo_ca
from policies import pki
from records.audit import AuditContext
from records.execution import PhaseRun
from records.plasma import Batch
from records.quality import Deviation
from tests.attack.signed_cases.base import World
from tests.test_phases import _batch, _complete, _readings, _start

REVIEW = """query($b: String!, $k: [ReviewKind!], $u: Boolean!, $s: ReviewSort!) {
  batchReview(batchNumber: $b, kinds: $k, unreviewedOnly: $u, sort: $s) { status total unreviewed blockers
    items { key kind phaseCode summary entity entityId open reviewed conclusion reviewedBy }
    conclusion { opinion items concludedBy } } }"""
PREPARE = "mutation($b:String!){prepareRelease(batchNumber:$b){documentId algorithm toSign}}"
COMPLETE = """mutation($input: CompleteReleaseInput!, $sig: SignatureInput!){
  completeRelease(input:$input, signature:$sig){ status } }"""


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _review(w: World, kinds: list[str] | None = None, unreviewed: bool = False, sort: str = "OLDEST",
                  who: str = "qa.sig") -> dict[str, Any]:
    me = await w.gql.sign_in(who)
    body = await me(REVIEW, {"b": "EX-1", "k": kinds, "u": unreviewed, "s": sort})
    assert "errors" not in body, body
    return dict(body["data"]["batchReview"])


async def _send(w: World, who: str, op: str, inp: dict[str, Any], meaning: str) -> Any:
    return await w.send(who, op, inp, meaning)


async def _produced(w: World) -> None:
    """EX-1 through both phases: MIX in range; FILL's volume entered by hand out of limits and verified by
    qp.qa (a QA officer who is also a QP)."""
    await _batch(w)
    assert "errors" not in await _start(w, "MIX", "EQ-1")
    await _readings(w, 5.0)
    assert "errors" not in await _complete(w, {"phaseCode": "MIX", "controls": [{"name": "pH", "value": 7.0}],
                                               "output": 96, "losses": 2})
    assert "errors" not in await _start(w, "FILL", "EQ-3")
    fill = {"phaseCode": "FILL", "manual": [{"name": "Fill volume", "value": 11.0, "reason": "scale link down"}]}
    assert "errors" not in await _complete(w, fill, verifier="qp.qa")


def _org_key(w: World) -> None:
    org = demo_ca.write_pki(w.signers.directory, [("organisation", "Demo Biologics (synthetic)", "ES256")])[
        "organisation"]
    services = w.gql.client.app_services  # type: ignore[attr-defined]
    services.org_key, services.org_cert = org.key_pem, org.cert_pem


@pytest.mark.req("PR-70", "PR-71", "PR-72")
async def test_every_exception_is_reviewed_and_concluded_before_a_qp_who_signed_no_phase_releases(
        env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _produced(w)
    async with db.write(AuditContext("adm.sig", reason="pre-check corrected after the fact")) as s:
        run = (await s.execute(select(PhaseRun).where(PhaseRun.phase_code == "MIX"))).scalar_one()
        run.pre_check = {**run.pre_check, "checked twice": True}  # a recorded value changed afterwards

    review = await _review(w)
    kinds = [(i["kind"], i["phaseCode"]) for i in review["items"]]
    assert sorted(kinds, key=str) == sorted([("MANUAL_ENTRY", "FILL"), ("PHASE_EXCEPTION", "FILL"),
                                             ("ALARM", "FILL"), ("DEVIATION", None), ("DATA_CHANGE", None)], key=str)
    by_kind = {i["kind"]: i for i in review["items"]}
    assert by_kind["MANUAL_ENTRY"]["summary"] == "Fill volume 11 mL entered by op.one: scale link down"
    assert by_kind["DATA_CHANGE"]["summary"].startswith("update of phase_run") and "pre_check" in \
        by_kind["DATA_CHANGE"]["summary"] and "by adm.sig" in by_kind["DATA_CHANGE"]["summary"]
    assert by_kind["PHASE_EXCEPTION"]["summary"] == "phase FILL outside its limits: Fill volume"
    assert by_kind["DEVIATION"]["open"] and by_kind["ALARM"]["open"]
    assert (review["status"], review["total"], review["unreviewed"]) == ("COMPLETED", 5, 5)
    assert [i["kind"] for i in (await _review(w, kinds=["ALARM", "DEVIATION"], sort="KIND"))["items"]] == [
        "ALARM", "DEVIATION"]
    newest = await _review(w, sort="NEWEST")
    assert [i["key"] for i in newest["items"]] == [i["key"] for i in review["items"]][::-1]

    conclude = {"batchNumber": "EX-1", "opinion": "record complete"}
    body = await _send(w, "qa.sig", "concludeBatchReview", conclude, "REVIEWED")
    assert _code(body) == "CONFLICT" and "not reviewed" in str(body) and "not closed" in str(body), body
    keys = [i["key"] for i in review["items"]]
    answer = {"batchNumber": "EX-1", "keys": keys[:2], "conclusion": "checked against the log sheet"}
    assert _code(await _send(w, "qp.sig", "reviewBatchItems", answer, "REVIEWED")) == "FORBIDDEN"
    body = await _send(w, "qp.qa", "reviewBatchItems", answer, "REVIEWED")  # qp.qa verified FILL
    assert _code(body) == "SOD_VIOLATION", body
    for bad, code in (({**answer, "keys": ["alarm:999"]}, "NOT_FOUND"), ({**answer, "conclusion": " "},
                                                                         "VALIDATION_FAILED")):
        assert _code(await _send(w, "qa.sig", "reviewBatchItems", bad, "REVIEWED")) == code
    assert "errors" not in await _send(w, "qa.sig", "reviewBatchItems", answer, "REVIEWED")
    assert _code(await _send(w, "qa.sig", "reviewBatchItems", answer, "REVIEWED")) == "CONFLICT"  # twice
    rest = {**answer, "keys": keys[2:], "conclusion": "volume re-measured at 10.1 mL; alarm explained"}
    assert "errors" not in await _send(w, "qa.sig", "reviewBatchItems", rest, "REVIEWED")
    assert (await _review(w, unreviewed=True))["items"] == []

    _org_key(w)
    qp = await gql.sign_in("qp.sig")
    body = await qp(PREPARE, {"b": "EX-1"})
    assert _code(body) == "CONFLICT" and "EX-1 is COMPLETED" in str(body), body
    body = await _send(w, "qa.sig", "concludeBatchReview", conclude, "REVIEWED")
    assert _code(body) == "CONFLICT" and "DEV-" in str(body) and "not closed" in str(body), body
    async with db.read() as s:
        number = (await s.execute(select(Deviation.number))).scalar_one()
    await w.call("qa.sig", "approveDeviationClosure", {"number": number}, "APPROVED")
    assert "errors" not in await _send(w, "qa.sig", "concludeBatchReview", conclude, "REVIEWED")
    done = await _review(w)
    assert done["status"] == "UNDER_REVIEW" and done["blockers"] == []
    assert done["conclusion"] == {"opinion": "record complete", "items": 5, "concludedBy": "qa.sig"}

    # qp.qa verified the FILL phase: a real production signature stops the release (GP-06).
    qpqa = await gql.sign_in("qp.qa")
    body = await qpqa(PREPARE, {"b": "EX-1"})
    assert _code(body) == "SOD_VIOLATION" and "signed production records" in str(body), body
    prepared = (await qp(PREPARE, {"b": "EX-1"}))["data"]["prepareRelease"]
    cms = pki.sign_bytes(signers.keys["qp.sig"].key_pem, prepared["algorithm"], base64.b64decode(prepared["toSign"]))
    inp = {"documentId": prepared["documentId"], "cmsSignature": base64.b64encode(cms).decode()}
    body = await qp(COMPLETE, {"input": inp, "sig": signers.sign("qp.sig", "completeRelease", inp, "RELEASED")})
    assert body["data"]["completeRelease"]["status"] == "RELEASED", body


@pytest.mark.req("PR-71")
async def test_an_exception_found_after_the_conclusion_stops_the_release(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    assert "errors" not in await _start(w, "MIX", "EQ-1")
    await _readings(w, 5.0)
    assert "errors" not in await _complete(w, {"phaseCode": "MIX", "controls": [{"name": "pH", "value": 7.0}],
                                               "output": 96, "losses": 2})
    async with db.write(AuditContext("adm.sig", reason="FILL recorded on paper; expiry set by hand")) as s:
        batch = (await s.execute(select(Batch).where(Batch.batch_number == "EX-1"))).scalar_one()
        batch.status, batch.expiry_date = "COMPLETED", date(2029, 12, 31)
    items = (await _review(w))["items"]  # the status is the batch's lifecycle; the expiry is a data change
    assert [(i["kind"], "expiry_date" in i["summary"]) for i in items] == [("DATA_CHANGE", True)], items
    await w.call("qa.sig", "reviewBatchItems", {"batchNumber": "EX-1", "keys": [items[0]["key"]],
                                                "conclusion": "paper record attached, expiry checked"}, "REVIEWED")
    await w.call("qa.sig", "concludeBatchReview", {"batchNumber": "EX-1", "opinion": "complete"}, "REVIEWED")
    await w.call("op.one", "raiseDeviation", {"title": "Label smudged", "description": "reprinted",
                                              "batchNumber": "EX-1"})
    _org_key(w)
    qp = await gql.sign_in("qp.sig")
    body = await qp(PREPARE, {"b": "EX-1"})
    assert _code(body) == "CONFLICT" and "cannot be released" in str(body) and "not reviewed" in str(body), body


@pytest.mark.req("QM-01")
async def test_the_qp_rejects_a_batch_with_a_signed_reason(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    reject = {"batchNumber": "EX-1", "reason": "pool found reactive in lookback"}
    assert _code(await _send(w, "qa.sig", "rejectBatch", reject, "REJECTED")) == "FORBIDDEN"
    assert _code(await _send(w, "qp.sig", "rejectBatch", {**reject, "reason": ""}, "REJECTED")) == "VALIDATION_FAILED"
    assert "errors" not in await _send(w, "qp.sig", "rejectBatch", reject, "REJECTED")
    body = await _send(w, "qp.sig", "rejectBatch", reject, "REJECTED")
    assert _code(body) == "CONFLICT" and "REJECTED" in str(body), body
    body = await _start(w, "MIX", "EQ-1")
    assert _code(body) == "CONFLICT" and "EX-1 is REJECTED" in str(body), body
