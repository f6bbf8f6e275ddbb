"""Electronic test records of a batch (QC-06, QC-07, QC-09, QC-10): results entered by QC analysts, judged on
the server against the specification version effective when the record opened (a formula item computed from
its inputs, then rounded by GB/T 8170), reviewed by another person, corrected with a reason; who may read them."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditContext, AuditEvent
from records.formula import evaluate
from records.judgement import judge
from records.plasma import Batch
from records.qc_record import TestRecord, TestResult
from records.signature import ESignature
from records.specification import Specification
from resolvers.specifications import stored_items
from tests.signing_env import issue_token
from tests.test_specifications import ALBUMIN, _approve, _code, _create

SPEC = copy.deepcopy(ALBUMIN)
SPEC["items"].append({"name": "Loss on drying", "method": "ChP 2020 0831", "unit": "%", "high": "5.0",
                      "rounding": "DECIMALS", "precision": 1, "formula": "(a - b) / a * 100"})
FRACTION: dict[str, Any] = {
    "code": "SPEC-FRV", "subjectKind": "INTERMEDIATE", "subjectCode": "FR-V", "title": "Fraction V paste",
    "effectiveDate": "2027-01-01", "changeNote": "first version",
    "items": [{"name": "Protein", "method": "SOP-QC-020", "unit": "%", "low": "95", "rounding": "DECIMALS",
               "precision": 0}]}

FIELDS = ("id batchNumber stage subjectCode specificationCode specificationVersion status reviewedBy results { "
          "id item raw inputs { name value } formula reported verdict reason rounding analyst enteredAt method "
          "instrumentId entryMethod current replacesId correctionReason }")
RECORD = f"""mutation($input: RecordTestResultInput!, $sig: SignatureInput!) {{
  recordTestResult(input: $input, signature: $sig) {{ {FIELDS} }} }}"""
REVIEW = f"""mutation($input: ReviewTestRecordInput!, $sig: SignatureInput!) {{
  reviewTestRecord(input: $input, signature: $sig) {{ {FIELDS} }} }}"""
CORRECT = f"""mutation($input: CorrectTestResultInput!, $sig: SignatureInput!) {{
  correctTestResult(input: $input, signature: $sig) {{ {FIELDS} }} }}"""
BATCH_TESTS = "query($n: String!) { batchTests(batchNumber: $n) { stage subjectCode results { item reported } } }"


async def _setup(env: Any) -> Any:
    gql, signers, db = env
    for spec, code in ((SPEC, "SPEC-ALB20"), (FRACTION, "SPEC-FRV")):
        assert "errors" not in await _create(gql, signers, spec)
        assert "errors" not in await _approve(gql, signers, 1, code=code)
    async with db.write(AuditContext("system", reason="test batches")) as s:
        s.add(Batch(batch_number="B-QC-1", product="Human Albumin 20%", status="IN_PROGRESS"))
        s.add(Batch(batch_number="B-QC-2", product="Human Albumin 20%", status="IN_PROGRESS"))
    return gql, signers, db


async def _send(gql: Any, signers: Any, user: str, doc: str, op: str, inp: dict[str, Any],
                meaning: str = "PERFORMED") -> Any:
    me = await gql.sign_in(user)
    return await me(doc, {"input": inp, "sig": signers.sign(user, op, inp, meaning)})


def _entry(item: str, value: str | None = None, **more: Any) -> dict[str, Any]:
    return {"batchNumber": "B-QC-1", "stage": "FINAL", "subjectCode": "ALB-20", "item": item, "value": value} | more


async def _record(gql: Any, signers: Any, inp: dict[str, Any], user: str = "qc.sig") -> Any:
    return await _send(gql, signers, user, RECORD, "recordTestResult", inp)


async def _actions(db: Any) -> list[str]:
    async with db.read() as s:
        return list((await s.execute(select(AuditEvent.action).order_by(AuditEvent.id))).scalars())


@pytest.mark.req("QC-06", "QC-10")
async def test_results_are_judged_on_the_server_and_recompute_from_their_raw_inputs(env: Any) -> None:
    gql, signers, db = await _setup(env)
    body = await _record(gql, signers, _entry("pH", "7.44"))
    rec = body["data"]["recordTestResult"]
    assert (rec["stage"], rec["specificationCode"], rec["specificationVersion"], rec["status"]) == (
        "FINAL", "SPEC-ALB20", 1, "OPEN")
    ph = rec["results"][0]
    assert (ph["raw"], ph["reported"], ph["verdict"], ph["analyst"], ph["entryMethod"]) == (
        "7.44", "7.4", "PASS", "qc.sig", "MANUAL")
    assert (ph["method"], ph["rounding"], ph["current"]) == ("ChP 2020 0631", "GB/T 8170-2008 DECIMALS 1", True)
    assert ph["enteredAt"] and ph["formula"] is None and ph["inputs"] == []

    # A formula item: the inputs are kept as entered, the value is computed, rounded and judged on the server.
    lod = _entry("loss on drying", inputs=[{"name": "a", "value": "10.1234"}, {"name": "b", "value": "9.6012"}])
    rec = (await _record(gql, signers, lod))["data"]["recordTestResult"]
    line = rec["results"][1]
    assert (line["item"], line["formula"], line["raw"], line["reported"], line["verdict"]) == (
        "Loss on drying", "(a - b) / a * 100", "5.158346010233715945235790347", "5.2", "FAIL")
    assert line["inputs"] == [{"name": "a", "value": "10.1234"}, {"name": "b", "value": "9.6012"}]
    hbs = _entry("HBsAg", "Negative", entryMethod="INSTRUMENT", instrumentId="ELISA-RDR-01")
    rec = (await _record(gql, signers, hbs))["data"]["recordTestResult"]
    assert [(r["item"], r["verdict"], r["instrumentId"]) for r in rec["results"]][2] == (
        "HBsAg", "PASS", "ELISA-RDR-01")

    # A new specification version does not change the record: it stays on the version it was opened with.
    v2 = copy.deepcopy(SPEC) | {"changeNote": "rounding of loss on drying to 2 places"}
    v2["items"][-1].update(precision=2, formula="(a - b) / a * 100")
    assert "errors" not in await _create(gql, signers, v2)
    assert "errors" not in await _approve(gql, signers, 2)
    protein = (await _record(gql, signers, _entry("Protein", "205.5")))["data"]["recordTestResult"]
    assert (protein["specificationVersion"], protein["results"][3]["reported"],
            protein["results"][3]["verdict"]) == (1, "206", "ACTION")

    # QC-10: every stored reported value is what the record's specification version computes from the raw values.
    async with db.read() as s:
        rows = (await s.execute(select(TestResult, TestRecord.specification_id)
                                .join(TestRecord, TestRecord.id == TestResult.record_id))).all()
        specs = {r.id: r for r in (await s.execute(select(Specification))).scalars()}
        signed = list((await s.execute(select(ESignature.meaning).where(ESignature.entity == "test_result")))
                      .scalars())
    assert len(rows) == 4 and signed == ["PERFORMED"] * 4
    for row, spec_id in rows:
        item = next(i for i in stored_items(specs[spec_id]) if i.name == row.item)
        raw = format(evaluate(item.formula, row.inputs), "f") if item.formula else row.raw
        assert item.formula == row.formula
        assert raw == row.raw
        assert (judge(item, raw).reported, judge(item, raw).verdict.value) == (row.reported, row.verdict)
    assert (await _actions(db)).count("CREATE") >= 5  # the record and its four lines


@pytest.mark.req("QC-06", "QC-09")
async def test_entry_by_others_or_of_bad_values_is_refused_and_nothing_is_written(env: Any) -> None:
    gql, signers, db = await _setup(env)
    # QC-09: an analyst enters results by hand; a reviewer or QA may not.
    for user in ("qcr.sig", "qa.sig"):
        assert _code(await _record(gql, signers, _entry("pH", "7.0"), user=user)) == "FORBIDDEN"
    async with db.read() as s:
        denied = list((await s.execute(select(AuditEvent.changes).where(AuditEvent.action == "ACCESS_DENIED")))
                      .scalars())
    assert any(d.get("object") == "quality:test_record" for d in denied)

    bad = [
        (_entry("Albumin", "7"), "VALIDATION_FAILED", "has no item 'Albumin'"),
        (_entry("pH", "seven"), "VALIDATION_FAILED", "not a decimal number"),
        (_entry("pH", "7", instrumentId="", entryMethod="INSTRUMENT"), "VALIDATION_FAILED", "instrumentId"),
        (_entry("Loss on drying", "5.0"), "VALIDATION_FAILED", "give its inputs"),
        (_entry("Loss on drying", inputs=[{"name": "a", "value": "1"}]), "VALIDATION_FAILED", "missing: b"),
        (_entry("Loss on drying", inputs=[{"name": "a", "value": "0"}, {"name": "b", "value": "0"}]),
         "VALIDATION_FAILED", "division by zero"),
        (_entry("pH", "7", batchNumber="B-NONE"), "NOT_FOUND", "no batch"),
        (_entry("Protein", "96", stage="BULK", subjectCode="IVIG-10"), "CONFLICT", "no effective specification"),
    ]
    for inp, code, message in bad:
        body = await _record(gql, signers, inp)
        assert _code(body) == code, inp
        assert message in body["errors"][0]["message"], body
    async with db.read() as s:
        assert (await s.execute(select(TestResult))).first() is None
        assert (await s.execute(select(TestRecord))).first() is None
    assert (await _actions(db)).count("WRITE_REFUSED") == len(bad)

    assert "errors" not in await _record(gql, signers, _entry("pH", "7.0"))
    twice = await _record(gql, signers, _entry("pH", "7.1"))
    assert _code(twice) == "CONFLICT" and "correct it" in twice["errors"][0]["message"]


@pytest.mark.req("QC-06")
async def test_review_by_another_person_and_a_correction_sends_it_back(env: Any) -> None:
    gql, signers, db = await _setup(env)
    rec = (await _record(gql, signers, _entry("pH", "7.44"), user="qc.both"))["data"]["recordTestResult"]
    review = {"recordId": rec["id"], "comment": "checked against the raw data"}
    assert _code(await _send(gql, signers, "qc.both", REVIEW, "reviewTestRecord", review, "REVIEWED")) == \
        "SOD_VIOLATION"
    assert _code(await _send(gql, signers, "qc.sig", REVIEW, "reviewTestRecord", review, "REVIEWED")) == "FORBIDDEN"
    done = (await _send(gql, signers, "qcr.sig", REVIEW, "reviewTestRecord", review, "REVIEWED"))
    assert (done["data"]["reviewTestRecord"]["status"], done["data"]["reviewTestRecord"]["reviewedBy"]) == (
        "REVIEWED", "qcr.sig")

    old = rec["results"][0]["id"]
    no_reason = {"resultId": old, "value": "7.46", "reason": " "}
    assert _code(await _send(gql, signers, "qc.sig", CORRECT, "correctTestResult", no_reason)) == "VALIDATION_FAILED"
    fixed = {"resultId": old, "value": "7.46", "reason": "transcription error: the meter read 7.46"}
    body = (await _send(gql, signers, "qc.sig", CORRECT, "correctTestResult", fixed))["data"]["correctTestResult"]
    assert (body["status"], body["reviewedBy"]) == ("OPEN", None)  # back to review
    assert [(r["raw"], r["reported"], r["verdict"], r["current"], r["replacesId"]) for r in body["results"]] == [
        ("7.44", "7.4", "PASS", False, None), ("7.46", "7.5", "FAIL", True, old)]
    assert body["results"][1]["correctionReason"] == fixed["reason"]
    assert _code(await _send(gql, signers, "qc.sig", CORRECT, "correctTestResult", fixed)) == "CONFLICT"
    async with db.read() as s:
        events = (await s.execute(select(AuditEvent).where(AuditEvent.action.in_(
            ("SOD_VIOLATION", "RESULT_CORRECTED"))).order_by(AuditEvent.id))).scalars().all()
        meanings = list((await s.execute(select(ESignature.meaning).order_by(ESignature.id))).scalars())
    assert [e.action for e in events] == ["SOD_VIOLATION", "RESULT_CORRECTED"]
    assert events[1].changes["old"]["reported"] == "7.4" and events[1].changes["new"]["reported"] == "7.5"
    assert events[1].reason == fixed["reason"]
    assert meanings[-3:] == ["PERFORMED", "REVIEWED", "PERFORMED"]
    # The author of the correction is now an analyst of the record too: qc.sig still cannot review; qcr.sig can.
    assert "errors" not in await _send(gql, signers, "qcr.sig", REVIEW, "reviewTestRecord", review, "REVIEWED")


@pytest.mark.req("QC-07")
async def test_batch_tests_gather_every_stage_of_a_batch(env: Any) -> None:
    gql, signers, _ = await _setup(env)
    inter = _entry("Protein", "97.4", stage="INTERMEDIATE", subjectCode="FR-V")
    for inp in (_entry("pH", "7.0"), inter, _entry("pH", "6.9", batchNumber="B-QC-2"), _entry("Protein", "200")):
        assert "errors" not in await _record(gql, signers, inp)
    qa = await gql.sign_in("qa.one")
    got = (await qa(BATCH_TESTS, {"n": "B-QC-1"}))["data"]["batchTests"]
    assert got == [{"stage": "INTERMEDIATE", "subjectCode": "FR-V", "results": [{"item": "Protein", "reported": "97"}]},
                   {"stage": "FINAL", "subjectCode": "ALB-20", "results": [{"item": "pH", "reported": "7.0"},
                                                                          {"item": "Protein", "reported": "200"}]}]
    assert (await qa(BATCH_TESTS, {"n": "B-NONE"}))["data"]["batchTests"] == []


@pytest.mark.req("QC-12")
async def test_viewing_and_exporting_test_records_needs_authorisation_and_exports_are_audited(env: Any) -> None:
    gql, signers, db = await _setup(env)
    rec = (await _record(gql, signers, _entry("pH", "7.0")))["data"]["recordTestResult"]
    one = "query($id: Int!) { testRecord(id: $id) { status results { reported } } }"
    qp = await gql.sign_in("qp.sig")
    assert (await qp(one, {"id": rec["id"]}))["data"]["testRecord"]["results"] == [{"reported": "7.0"}]
    op = await gql.sign_in("op.one")
    assert _code(await op(one, {"id": rec["id"]})) == "FORBIDDEN"
    assert _code(await op(BATCH_TESTS, {"n": "B-QC-1"})) == "FORBIDDEN"
    # A partner's or regulator's scoped token sees no test records, even for a batch in its scope.
    scoped = await issue_token(gql, signers, "reg.one", batchNumbers=["B-QC-1"])
    assert _code(await scoped(BATCH_TESTS, {"n": "B-QC-1"})) == "OUT_OF_SCOPE"
    async with db.read() as s:
        denied = list((await s.execute(select(AuditEvent.changes).where(AuditEvent.action == "ACCESS_DENIED")))
                      .scalars())
    assert {(d["object"], d.get("reason")) for d in denied} >= {("quality:test_record", None),
                                                                ("quality:test_record", "out of scope")}

    # Export: QA, the QP and QC reviewers; not an analyst, an operator or a scoped token. Each export is audited.
    export = "query($n: String!) { exportBatchTests(batchNumber: $n) { count filename contentType data } }"
    for who in (op, await gql.sign_in("qc.sig"), scoped):
        assert _code(await who(export, {"n": "B-QC-1"})) in ("FORBIDDEN", "OUT_OF_SCOPE")
    async with db.read() as s:
        assert (await s.execute(select(AuditEvent).where(AuditEvent.action == "EXPORTED"))).first() is None
    got = (await qp(export, {"n": "B-QC-1"}))["data"]["exportBatchTests"]
    assert (got["count"], got["filename"], got["contentType"]) == (1, "tests-B-QC-1.json", "application/json")
    exported = json.loads(got["data"])
    line = exported["testRecords"][0]["results"][0]
    assert (line["item"], line["raw"], line["reported"], line["analyst"]) == ("pH", "7.0", "7.0", "qc.sig")
    async with db.read() as s:
        events = (await s.execute(select(AuditEvent).where(AuditEvent.action == "EXPORTED"))).scalars().all()
    assert [(e.actor, e.entity, e.entity_id, e.changes["count"]) for e in events] == [
        ("qp.sig", "test_record", "B-QC-1", 1)]


@pytest.mark.parametrize("formula", ['__import__("os").system("id")', "a.real", "a ** 2", "f(a)", "a if b else c",
                                     "a < b", "[a]", "'a'", "True + a", "", "a; b", "lambda: a", "A + 1"])
def test_a_formula_is_arithmetic_over_named_inputs_only(formula: str) -> None:
    with pytest.raises(ValueError, match="formula"):
        evaluate(formula, {"a": "1", "b": "2"})


def test_a_formula_computes_in_exact_decimals() -> None:
    assert evaluate("(a - b) / m * 1000", {"a": "0.3", "b": "0.1", "m": "2"}) == Decimal("100.0")
    assert str(evaluate("a * 1.1", {"a": "3"})) == "3.3"  # 1.1 as written, not the float 1.100000000000000088...
    with pytest.raises(ValueError, match="not a decimal number"):
        evaluate("a + 1", {"a": "1e400000"})
