"""The QC laboratory's work queues: the analyst's worklist (OPEN records with the items left to enter, and the
batches whose tests can start) and the reviewer's queue (records to review and reports to issue, never one the
caller entered a result in); who may read them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from demo import ca as demo_ca
from records.audit import AuditContext
from records.genealogy import Intermediate
from records.plasma import Batch
from records.recipe import Recipe
from tests.test_qc_records import CORRECT, REVIEW, _entry, _record, _send, _setup
from tests.test_test_reports import _code, _issue

WORKLIST = """{ qcWorklist {
  records { record { id batchNumber stage subjectCode status results { item reported verdict analyst } }
            missingItems { name method unit limits textual formula inputs } }
  startable { batchNumber product batchStatus stage subjectCode specificationCode specificationVersion
              items { name formula } } } }"""
QUEUE = """{ qcReviewQueue {
  toReview { id batchNumber status results { item analyst } }
  toIssue { record { id batchNumber status reviewedBy } reportStatus reportVersion } } }"""


async def _batches(db: Any) -> None:
    """B-QC-2 made Fraction V paste (FR-V); B-QC-3 (completed) and B-QC-4 (planned) are made by recipe ALB-20."""
    now = datetime.now(UTC)
    async with db.write(AuditContext("system", reason="test batches")) as s:
        b2 = (await s.execute(select(Batch).where(Batch.batch_number == "B-QC-2"))).scalar_one()
        s.add(Intermediate(code="I-QC-2", batch_id=b2.id, kind="Fraction V paste", material_code="FR-V"))
        recipe = Recipe(code="ALB-20", version=1, product="Human Albumin 20%", name="albumin", status="APPROVED",
                        change_note="x", batch_size=1, batch_unit="L", procedure=[{"code": "MIX", "name": "Mix"}],
                        drafted_by="sup.rsa", drafted_at=now)
        s.add(recipe)
        await s.flush()
        s.add(Batch(batch_number="B-QC-3", product="Human Albumin 20%", status="COMPLETED", recipe_id=recipe.id))
        s.add(Batch(batch_number="B-QC-4", product="Human Albumin 20%", status="PLANNED", recipe_id=recipe.id))


async def _read(gql: Any, user: str, doc: str) -> Any:
    return await (await gql.sign_in(user))(doc)


async def test_the_worklist_shows_what_is_left_to_enter_and_which_tests_can_start(env: Any) -> None:
    gql, signers, db = await _setup(env)
    await _batches(db)
    assert "errors" not in await _record(gql, signers, _entry("pH", "7.04"))

    body = await _read(gql, "qc.sig", WORKLIST)
    assert "errors" not in body, body
    work = body["data"]["qcWorklist"]
    [rec] = work["records"]
    assert (rec["record"]["batchNumber"], rec["record"]["stage"], rec["record"]["status"]) == ("B-QC-1", "FINAL",
                                                                                               "OPEN")
    assert [(r["item"], r["reported"], r["verdict"]) for r in rec["record"]["results"]] == [("pH", "7.0", "PASS")]
    missing = {m["name"]: m for m in rec["missingItems"]}
    assert "pH" not in missing and {"Protein", "HBsAg", "Loss on drying"} <= set(missing)
    assert missing["Loss on drying"] | {"method": ""} == {
        "name": "Loss on drying", "method": "", "unit": "%", "limits": "<= 5.0 %", "textual": False,
        "formula": "(a - b) / a * 100", "inputs": ["a", "b"]}
    assert missing["HBsAg"]["textual"] and missing["HBsAg"]["formula"] is None

    # Batches in production or completed whose product or intermediate has an effective specification and
    # no record at that stage yet; B-QC-1's finished product is opened, B-QC-4 is only planned.
    starts = {(t["batchNumber"], t["stage"], t["subjectCode"], t["specificationCode"]) for t in work["startable"]}
    assert starts == {("B-QC-2", "INTERMEDIATE", "FR-V", "SPEC-FRV"), ("B-QC-3", "BULK", "ALB-20", "SPEC-ALB20"),
                      ("B-QC-3", "FINAL", "ALB-20", "SPEC-ALB20")}
    frv = next(t for t in work["startable"] if t["stage"] == "INTERMEDIATE")
    assert (frv["batchStatus"], frv["specificationVersion"], frv["items"]) == (
        "IN_PROGRESS", 1, [{"name": "Protein", "formula": None}])

    # A first result from the worklist opens the record: it moves from startable to records.
    inp = {"batchNumber": "B-QC-2", "stage": "INTERMEDIATE", "subjectCode": "FR-V", "item": "Protein", "value": "97"}
    assert "errors" not in await _record(gql, signers, inp)
    work = (await _read(gql, "qc.sig", WORKLIST))["data"]["qcWorklist"]
    assert [(r["record"]["batchNumber"], [m["name"] for m in r["missingItems"]]) for r in work["records"]][1] == (
        "B-QC-2", [])
    assert all(t["batchNumber"] != "B-QC-2" for t in work["startable"])

    # Only those who enter results read the worklist; the refusal is audited like every other.
    for user in ("qcr.sig", "qa.sig", "qp.sig", "op.one"):
        assert _code(await _read(gql, user, WORKLIST)) == "FORBIDDEN", user


async def test_a_reviewer_never_sees_a_record_they_entered_a_result_in(env: Any, pki_dir: Any) -> None:
    gql, signers, _db = await _setup(env)
    org = demo_ca.write_pki(pki_dir, [("organisation", "Demo Biologics (synthetic)", "ES256")])["organisation"]
    gql.client.app_services.org_key, gql.client.app_services.org_cert = org.key_pem, org.cert_pem
    one = (await _record(gql, signers, _entry("pH", "7.04")))["data"]["recordTestResult"]["id"]
    two = (await _record(gql, signers, _entry("pH", "7.10", batchNumber="B-QC-2"), user="qc.both")
           )["data"]["recordTestResult"]["id"]

    async def queue(user: str) -> tuple[list[int], list[tuple[int, Any]]]:
        body = await _read(gql, user, QUEUE)
        assert "errors" not in body, body
        q = body["data"]["qcReviewQueue"]
        return [r["id"] for r in q["toReview"]], [(d["record"]["id"], d["reportStatus"]) for d in q["toIssue"]]

    assert await queue("qcr.sig") == ([one, two], [])
    assert await queue("qc.both") == ([one], [])  # entered a result in record two: not theirs to review

    review = {"recordId": one, "comment": "checked against the raw data"}
    assert "errors" not in await _send(gql, signers, "qc.both", REVIEW, "reviewTestRecord", review, "REVIEWED")
    assert await queue("qcr.sig") == ([two], [(one, None)])
    review = {"recordId": two, "comment": "checked"}
    assert "errors" not in await _send(gql, signers, "qcr.sig", REVIEW, "reviewTestRecord", review, "REVIEWED")
    assert await queue("qcr.sig") == ([], [(one, None), (two, None)])
    assert await queue("qc.both") == ([], [(one, None)])  # nor may they approve the report of record two

    # Issued: off the queue; a corrected result flags it, and it comes back for reissue.
    assert "errors" not in await _issue(gql, signers, one, user="qcr.sig")
    assert await queue("qcr.sig") == ([], [(two, None)])
    line = (await _read(gql, "qcr.sig", f"{{ testRecord(id: {one}) {{ results {{ id }} }} }}")
            )["data"]["testRecord"]["results"][0]["id"]
    fix = {"resultId": line, "value": "7.06", "reason": "transcription error"}
    assert "errors" not in await _send(gql, signers, "qc.sig", CORRECT, "correctTestResult", fix)
    assert await queue("qcr.sig") == ([one], [(two, None)])  # back to review first
    assert "errors" not in await _send(gql, signers, "qc.both", REVIEW, "reviewTestRecord",
                                       {"recordId": one, "comment": "correction checked"}, "REVIEWED")
    assert await queue("qcr.sig") == ([], [(one, "REISSUE_REQUIRED"), (two, None)])

    for user in ("qc.sig", "qa.sig", "qp.sig", "op.one"):
        assert _code(await _read(gql, user, QUEUE)) == "FORBIDDEN", user
