"""Signed test reports (QM-02, IT-24): a reviewed test record issued as a PDF sealed by the organisation and
signed PAdES by its approver; a corrected result flags the issued version, and the next version names and
supersedes it while the old one stays readable and valid."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import select

from demo import ca as demo_ca
from policies import pki
from records.audit import AuditEvent
from records.qc_record import TestRecord
from records.signature import ESignature
from records.test_report import TestReport
from resolvers.test_reports import batch_qc
from tests.test_qc_records import CORRECT, REVIEW, _entry, _record, _send, _setup
from tests.test_release import PREPARE as RELEASE_PREPARE
from tests.test_release import _release, rel  # noqa: F401 - a batch ready for release

PREPARE = "mutation($r: Int!) { prepareTestReport(recordId: $r) { documentId version algorithm toSign } }"
REPORT = ("documentId recordId version status conclusion issuedBy supersedes reissueReason flaggedAt pdf "
          "signatures { signer intact valid trusted }")
COMPLETE = f"""mutation($input: CompleteTestReportInput!, $sig: SignatureInput!) {{
  completeTestReport(input: $input, signature: $sig) {{ {REPORT} }} }}"""
REPORTS = f"query($r: Int!) {{ testReports(recordId: $r) {{ {REPORT} }} }}"


def _code(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    return str(body["errors"][0]["extensions"]["code"])


async def _reviewed(env: Any, pki_dir: Any) -> tuple[Any, Any, Any, int]:
    """Batch B-QC-1's finished product tested (two results) and reviewed; the organisation key configured."""
    gql, signers, db = await _setup(env)
    org = demo_ca.write_pki(pki_dir, [("organisation", "Demo Biologics (synthetic)", "ES256")])["organisation"]
    services = gql.client.app_services
    services.org_key, services.org_cert = org.key_pem, org.cert_pem
    first = (await _record(gql, signers, _entry("pH", "7.04")))["data"]["recordTestResult"]
    await _record(gql, signers, _entry("Protein", "200.4"))
    assert "errors" not in await _review(gql, signers, first["id"])
    return gql, signers, db, first["id"]


async def _review(gql: Any, signers: Any, record_id: int) -> Any:
    return await _send(gql, signers, "qcr.sig", REVIEW, "reviewTestRecord",
                       {"recordId": record_id, "comment": "checked against the raw data"}, "REVIEWED")


async def _issue(gql: Any, signers: Any, record_id: int, user: str = "qa.sig", tamper: bool = False) -> Any:
    me = await gql.sign_in(user)
    body = await me(PREPARE, {"r": record_id})
    if "errors" in body:
        return body
    prepared = body["data"]["prepareTestReport"]
    to_sign = base64.b64decode(prepared["toSign"]) + (b"x" if tamper else b"")
    cms = base64.b64encode(pki.sign_bytes(signers.keys[user].key_pem, prepared["algorithm"], to_sign)).decode()
    inp = {"documentId": prepared["documentId"], "cmsSignature": cms}
    return await me(COMPLETE, {"input": inp, "sig": signers.sign(user, "completeTestReport", inp, "APPROVED")})


@pytest.mark.req("QM-02")
async def test_a_reviewed_record_is_issued_as_a_report_signed_by_its_approver(env: Any, pki_dir: Any) -> None:
    gql, signers, db, record_id = await _reviewed(env, pki_dir)
    body = await _issue(gql, signers, record_id)
    assert "errors" not in body, body
    report = body["data"]["completeTestReport"]
    assert (report["version"], report["status"], report["conclusion"], report["issuedBy"]) == (
        1, "ISSUED", "COMPLIES", "qa.sig")
    # Two PAdES signatures, the organisation's and the approver's, both intact and chaining to the anchors.
    assert len(report["signatures"]) == 2
    assert all(s["intact"] and s["valid"] and s["trusted"] for s in report["signatures"])
    pdf = base64.b64decode(report["pdf"])
    # The printout shows who signed what and when: the analyst's and reviewer's e-signatures, the approver.
    for text in (b"PERFORMED", b"REVIEWED", b"APPROVED", b"Complies with specification SPEC-ALB20 version 1",
                 b"pH", b"7.0", report["documentId"].encode()):
        assert text in pdf, text
    async with db.read() as s:
        sig = (await s.execute(select(ESignature).where(ESignature.entity == "test_report"))).scalar_one()
        actions = list((await s.execute(select(AuditEvent.action).where(AuditEvent.entity == "test_report")
                                        .order_by(AuditEvent.id))).scalars())
    assert (sig.meaning, sig.signer, sig.operation) == ("APPROVED", "qa.sig", "completeTestReport")
    assert actions[0] == "CREATE" and "UPDATE" in actions
    # Issued once: nothing changed, so there is nothing to reissue.
    assert _code(await _issue(gql, signers, record_id)) == "CONFLICT"


async def test_who_may_issue_and_what_is_refused_leaves_nothing_issued(env: Any, pki_dir: Any) -> None:
    gql, signers, db = await _setup(env)
    org = demo_ca.write_pki(pki_dir, [("organisation", "Demo Biologics (synthetic)", "ES256")])["organisation"]
    gql.client.app_services.org_key, gql.client.app_services.org_cert = org.key_pem, org.cert_pem
    record_id = (await _record(gql, signers, _entry("pH", "7.04")))["data"]["recordTestResult"]["id"]
    # Not reviewed yet: no report.
    assert _code(await _issue(gql, signers, record_id)) == "CONFLICT"
    assert "errors" not in await _review(gql, signers, record_id)
    # An analyst cannot issue; an operator cannot even read reports.
    assert _code(await _issue(gql, signers, record_id, user="qc.sig")) == "FORBIDDEN"
    op = await gql.sign_in("op.one")
    assert _code(await op(REPORTS, {"r": record_id})) == "FORBIDDEN"
    # A signature over other bytes is refused and audited; the version stays waiting, nothing issued.
    assert _code(await _issue(gql, signers, record_id, tamper=True)) == "SIGNATURE_INVALID"
    async with db.read() as s:
        rows = (await s.execute(select(TestReport))).scalars().all()
        rejected = (await s.execute(select(AuditEvent).where(AuditEvent.action == "SIGNATURE_REJECTED",
                                                             AuditEvent.entity == "test_report"))).scalars().all()
    assert [r.status for r in rows] == ["PREPARED"] and len(rejected) == 1
    # Prepared again: the stale preparation is discarded, the new one issues version 1.
    body = await _issue(gql, signers, record_id)
    assert body["data"]["completeTestReport"]["version"] == 1
    qp = await gql.sign_in("qp.sig")
    listed = (await qp(REPORTS, {"r": record_id}))["data"]["testReports"]
    assert [(r["version"], r["status"]) for r in listed] == [(1, "ISSUED")]


@pytest.mark.req("IT-24")
async def test_a_corrected_result_flags_the_report_and_the_new_version_supersedes_it(env: Any, pki_dir: Any) -> None:
    gql, signers, db, record_id = await _reviewed(env, pki_dir)
    v1 = (await _issue(gql, signers, record_id))["data"]["completeTestReport"]
    me = await gql.sign_in("qc.sig")
    lines = (await me("query($r: Int!) { testRecord(id: $r) { results { id item } } }", {"r": record_id}))
    ph = next(r["id"] for r in lines["data"]["testRecord"]["results"] if r["item"] == "pH")
    fix = {"resultId": ph, "value": "6.94", "reason": "transcription error"}
    assert "errors" not in await _send(gql, signers, "qc.sig", CORRECT, "correctTestResult", fix)

    qa = await gql.sign_in("qa.sig")
    listed = (await qa(REPORTS, {"r": record_id}))["data"]["testReports"]
    assert [(r["version"], r["status"]) for r in listed] == [(1, "REISSUE_REQUIRED")] and listed[0]["flaggedAt"]
    async with db.read() as s:
        flagged = (await s.execute(select(AuditEvent).where(AuditEvent.action == "REPORT_REISSUE_REQUIRED"))
                   ).scalar_one()
    assert flagged.reason == "transcription error"
    # The record went back to review: no new version until it is reviewed again.
    assert _code(await _issue(gql, signers, record_id)) == "CONFLICT"
    assert "errors" not in await _review(gql, signers, record_id)
    v2 = (await _issue(gql, signers, record_id))["data"]["completeTestReport"]
    assert (v2["version"], v2["status"], v2["supersedes"]) == (2, "ISSUED", v1["documentId"])
    assert v1["documentId"] in v2["reissueReason"] and "pH corrected (transcription error)" in v2["reissueReason"]
    assert b"6.9" in base64.b64decode(v2["pdf"]) and b"Reissued: replaces version 1" in base64.b64decode(v2["pdf"])
    # Both versions stay readable; the old one is superseded, its file unchanged and still valid.
    listed = (await qa(REPORTS, {"r": record_id}))["data"]["testReports"]
    assert [(r["version"], r["status"]) for r in listed] == [(2, "ISSUED"), (1, "SUPERSEDED")]
    assert listed[1]["pdf"] == v1["pdf"]
    assert all(s["intact"] and s["valid"] for s in listed[1]["signatures"])


async def test_a_report_prepared_before_a_correction_cannot_be_issued(env: Any, pki_dir: Any) -> None:
    gql, signers, db, record_id = await _reviewed(env, pki_dir)
    qa = await gql.sign_in("qa.sig")
    prepared = (await qa(PREPARE, {"r": record_id}))["data"]["prepareTestReport"]
    me = await gql.sign_in("qc.sig")
    lines = await me("query($r: Int!) { testRecord(id: $r) { results { id } } }", {"r": record_id})
    fix = {"resultId": lines["data"]["testRecord"]["results"][0]["id"], "value": "6.94", "reason": "typo"}
    assert "errors" not in await _send(gql, signers, "qc.sig", CORRECT, "correctTestResult", fix)
    cms = pki.sign_bytes(signers.keys["qa.sig"].key_pem, prepared["algorithm"], base64.b64decode(prepared["toSign"]))
    inp = {"documentId": prepared["documentId"], "cmsSignature": base64.b64encode(cms).decode()}
    body = await qa(COMPLETE, {"input": inp, "sig": signers.sign("qa.sig", "completeTestReport", inp, "APPROVED")})
    assert _code(body) == "CONFLICT"
    async with db.read() as s:
        assert [r.status for r in (await s.execute(select(TestReport))).scalars()] == ["PREPARED"]


async def test_release_waits_for_reviewed_records_with_a_current_complying_report(env: Any, pki_dir: Any) -> None:
    gql, signers, db, record_id = await _reviewed(env, pki_dir)
    async with db.read() as s:
        batch_id = (await s.execute(select(TestRecord.batch_id).where(TestRecord.id == record_id))).scalar_one()
        lines, blockers = await batch_qc(s, batch_id)
    assert lines == ["FINAL ALB-20: reviewed, no report"]
    assert blockers == [f"test record {record_id} (FINAL ALB-20) has no issued test report"]
    v1 = (await _issue(gql, signers, record_id))["data"]["completeTestReport"]
    async with db.read() as s:
        assert await batch_qc(s, batch_id) == ([f"FINAL ALB-20: report {v1['documentId']} v1 COMPLIES"], [])
    me = await gql.sign_in("qc.sig")
    lines_ = await me("query($r: Int!) { testRecord(id: $r) { results { id } } }", {"r": record_id})
    fix = {"resultId": lines_["data"]["testRecord"]["results"][0]["id"], "value": "6.94", "reason": "typo"}
    assert "errors" not in await _send(gql, signers, "qc.sig", CORRECT, "correctTestResult", fix)
    async with db.read() as s:
        _, blockers = await batch_qc(s, batch_id)
    assert blockers == [f"test report {v1['documentId']} (FINAL ALB-20) waits for reissue after a correction"]


@pytest.mark.req("GP-11")
async def test_the_exported_batch_record_holds_production_qc_testing_and_release(rel: dict[str, Any],  # noqa: F811
                                                                                 ) -> None:
    gql, signers, db = rel["gql"], rel["signers"], rel["db"]
    await _setup((gql, signers, db))
    entry = _entry("pH", "7.04") | {"batchNumber": rel["batch"]}
    record_id = (await _record(gql, signers, entry))["data"]["recordTestResult"]["id"]
    # Released only once its test record is reviewed and reported.
    qp = await gql.sign_in("qp.sig")
    blocked = await qp(RELEASE_PREPARE, {"b": rel["batch"]})
    assert blocked["errors"][0]["extensions"]["code"] == "CONFLICT" and "no issued test report" in str(blocked)
    assert "errors" not in await _review(gql, signers, record_id)
    report = (await _issue(gql, signers, record_id))["data"]["completeTestReport"]
    _, released = await _release(rel)
    assert released["data"]["completeRelease"]["status"] == "RELEASED"

    qa = await gql.sign_in("qa.sig")
    body = await qa('query($b: String!) { exportBatchRecord(batchNumber: $b, format: JSON) { data } }',
                    {"b": rel["batch"]})
    record = json.loads(body["data"]["exportBatchRecord"]["data"])
    assert record["sections"]["B.6"] is not None and record["review"]["by"] == "qa.sig"  # production, review
    assert [(x["item"], x["reported"], x["verdict"], x["record"]) for x in record["qcTesting"]] == [
        ("pH", "7.0", "PASS", "REVIEWED")]
    assert [(t["document"], t["status"]) for t in record["testReports"]] == [(report["documentId"], "ISSUED")]
    assert record["release"]["status"] == "RELEASED" and record["oos"] == []
    assert "exceptions" in record and record["signatures"]
