"""Electronic specifications (QC-03, QC-05): drafted by QC, approved by QA (another person) only when every
GMP field is there; one effective version per subject, the one before superseded; and the judgement preview
(QC-04) through the API."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from policies.errors import AppError
from records.audit import AuditEvent
from records.signature import ESignature
from records.specification import Specification
from resolvers.specifications import effective as in_use

FIELDS = ("code version status title subjectKind subjectCode effectiveDate approvedBy "
          "items { name method unit low high actionHigh expected rounding precision interval }")
CREATE = f"""mutation($input: CreateSpecificationInput!, $sig: SignatureInput!) {{
  createSpecification(input: $input, signature: $sig) {{ {FIELDS} }} }}"""
APPROVE = f"""mutation($input: SpecificationDecisionInput!, $sig: SignatureInput!) {{
  approveSpecification(input: $input, signature: $sig) {{ {FIELDS} }} }}"""

ALBUMIN: dict[str, Any] = {
    "code": "SPEC-ALB20", "subjectKind": "PRODUCT", "subjectCode": "ALB-20", "title": "Human albumin 20 %",
    "effectiveDate": "2027-01-01", "changeNote": "first version",
    "items": [
        {"name": "Protein", "method": "ChP 2020 0731", "unit": "g/L", "low": "190", "high": "210",
         "actionLow": "195", "actionHigh": "205", "rounding": "DECIMALS", "precision": 0},
        {"name": "pH", "method": "ChP 2020 0631", "unit": "pH", "low": "6.4", "high": "7.4",
         "rounding": "DECIMALS", "precision": 1},
        {"name": "Bacterial endotoxins", "method": "ChP 2020 1143", "unit": "EU/mL", "high": "0.5",
         "highInclusive": False, "rounding": "INTERVAL", "interval": "0.01"},
        {"name": "HBsAg", "method": "SOP-QC-101 ELISA", "expected": "negative"},
    ]}


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _call(gql: Any, signers: Any, user: str, doc: str, op: str, inp: dict[str, Any], meaning: str) -> Any:
    me = await gql.sign_in(user)
    return await me(doc, {"input": inp, "sig": signers.sign(user, op, inp, meaning)})


async def _create(gql: Any, signers: Any, inp: dict[str, Any], user: str = "qc.sig") -> Any:
    return await _call(gql, signers, user, CREATE, "createSpecification", inp, "PERFORMED")


async def _approve(gql: Any, signers: Any, version: int, user: str = "qa.sig", code: str = "SPEC-ALB20") -> Any:
    inp = {"code": code, "version": version, "comment": "approved for release testing"}
    return await _call(gql, signers, user, APPROVE, "approveSpecification", inp, "APPROVED")


@pytest.mark.req("QC-03")
async def test_approved_by_another_person_then_a_new_version_supersedes(env: Any) -> None:
    gql, signers, db = env
    v1 = (await _create(gql, signers, ALBUMIN))["data"]["createSpecification"]
    assert (v1["version"], v1["status"], v1["items"][2]["interval"]) == (1, "DRAFT", "0.01")
    assert v1["items"][3] == {"name": "HBsAg", "method": "SOP-QC-101 ELISA", "unit": "", "low": None, "high": None,
                              "actionHigh": None, "expected": "negative", "rounding": None, "precision": None,
                              "interval": None}

    # The author cannot approve it; an analyst cannot approve at all.
    qa_author = copy.deepcopy(ALBUMIN) | {"code": "SPEC-QA"}
    assert "errors" not in await _create(gql, signers, qa_author, user="qa.two")
    assert _code(await _approve(gql, signers, 1, user="qa.two", code="SPEC-QA")) == "SOD_VIOLATION"
    assert _code(await _approve(gql, signers, 1, user="qc.sig")) == "FORBIDDEN"
    approved = (await _approve(gql, signers, 1))["data"]["approveSpecification"]
    assert (approved["status"], approved["approvedBy"]) == ("EFFECTIVE", "qa.sig")
    assert _code(await _approve(gql, signers, 1)) == "CONFLICT"  # approved once

    # A change is a new version; version 1 stays effective until version 2 is approved.
    changed = copy.deepcopy(ALBUMIN)
    changed["changeNote"] = "pH range narrowed after the stability study"
    changed["items"][1].update(low="6.7", high="7.3")
    v2 = (await _create(gql, signers, changed))["data"]["createSpecification"]
    assert (v2["version"], v2["status"]) == (2, "DRAFT")
    qc = await gql.sign_in("qc.sig")
    current = await qc('{ specification(code: "SPEC-ALB20") { version status } }')
    assert current["data"]["specification"] == {"version": 1, "status": "EFFECTIVE"}
    assert "errors" not in await _approve(gql, signers, 2)
    listed = await qc('{ specifications(subjectCode: "ALB-20") { code version status } }')
    assert listed["data"]["specifications"] == [
        {"code": "SPEC-ALB20", "version": 2, "status": "EFFECTIVE"},
        {"code": "SPEC-ALB20", "version": 1, "status": "SUPERSEDED"},
        {"code": "SPEC-QA", "version": 1, "status": "DRAFT"}]

    # Another specification number for the same product supersedes it too: one effective per subject.
    assert "errors" not in await _approve(gql, signers, 1, code="SPEC-QA")
    effective = await qc('{ specifications(subjectCode: "ALB-20", status: EFFECTIVE) { code version } }')
    assert effective["data"]["specifications"] == [{"code": "SPEC-QA", "version": 1}]
    async with db.read() as s:
        assert (await in_use(s, "PRODUCT", "ALB-20")).code == "SPEC-QA"
        with pytest.raises(AppError, match="no effective specification"):
            await in_use(s, "PRODUCT", "IVIG-10")

    # A version of a number keeps its subject.
    other = copy.deepcopy(ALBUMIN) | {"subjectCode": "IVIG-10"}
    assert _code(await _create(gql, signers, other)) == "CONFLICT"

    async with db.read() as s:
        meanings = list((await s.execute(select(ESignature.meaning).where(ESignature.entity == "specification")
                                         .order_by(ESignature.id))).scalars())
        actions = list((await s.execute(select(AuditEvent.action).where(AuditEvent.entity == "specification")
                                        .order_by(AuditEvent.id))).scalars())
        rows = list((await s.execute(select(Specification.code, Specification.version, Specification.effective_key)
                                     .order_by(Specification.id))).all())
    assert meanings == ["PERFORMED", "PERFORMED", "APPROVED", "PERFORMED", "APPROVED", "APPROVED"]
    assert {"CREATE", "UPDATE", "SOD_VIOLATION"} <= set(actions), actions
    assert [tuple(r) for r in rows] == [("SPEC-ALB20", 1, None), ("SPEC-QA", 1, "PRODUCT:ALB-20"),
                                        ("SPEC-ALB20", 2, None)]


MISSING = [
    ("title", lambda i: i.update(title=""), "title is missing"),
    ("effective date", lambda i: i.pop("effectiveDate"), "effectiveDate is missing"),
    ("items", lambda i: i.update(items=[]), "items are missing"),
    ("method", lambda i: i["items"][0].update(method=""), "item Protein: method is missing"),
    ("unit", lambda i: i["items"][1].update(unit=""), "item pH: unit is missing"),
    ("limits", lambda i: i["items"][1].pop("high") and i["items"][1].pop("low"), "item pH: limits are missing"),
    ("rounding", lambda i: i["items"][0].pop("rounding"), "item Protein: rounding rule is missing"),
    ("precision", lambda i: i["items"][1].pop("precision"), "item pH: precision is missing"),
]


@pytest.mark.req("QC-05")
@pytest.mark.parametrize(("what", "edit", "message"), MISSING, ids=[m[0] for m in MISSING])
async def test_approval_refuses_a_missing_gmp_field(env: Any, what: str, edit: Any, message: str) -> None:
    """A draft may be incomplete; approval names the missing field, writes nothing and is audited."""
    gql, signers, db = env
    inp = copy.deepcopy(ALBUMIN)
    edit(inp)
    assert "errors" not in await _create(gql, signers, inp)
    body = await _approve(gql, signers, 1)
    assert _code(body) == "VALIDATION_FAILED", what
    assert message in body["errors"][0]["message"]
    async with db.read() as s:
        row = (await s.execute(select(Specification))).scalar_one()
        refused = (await s.execute(select(AuditEvent.action).where(AuditEvent.action == "WRITE_REFUSED"))).scalars()
        approvals = (await s.execute(select(ESignature).where(ESignature.meaning == "APPROVED"))).scalars().all()
    assert (row.status, row.effective_key, row.approved_by) == ("DRAFT", None, None)
    assert list(refused) and not approvals


BAD = [
    ("code", lambda i: i.update(code="spec 1"), "code"),
    ("limits crossed", lambda i: i["items"][1].update(low="7.4", high="6.4"), "below the high limit"),
    ("limit not a number", lambda i: i["items"][1].update(low="6,4"), "not a decimal number"),
    ("limit NaN", lambda i: i["items"][1].update(low="NaN"), "not a decimal number"),
    ("action outside", lambda i: i["items"][0].update(actionHigh="215"), "actionHigh must lie inside"),
    ("interval", lambda i: i["items"][2].update(interval="0.3"), "1, 2 or 5"),
    ("text with limits", lambda i: i["items"][3].update(high="1"), "a text item"),
    ("twice", lambda i: i["items"][1].update(name="Protein"), "named twice"),
]


@pytest.mark.parametrize(("what", "edit", "message"), BAD, ids=[b[0] for b in BAD])
async def test_a_draft_that_contradicts_itself_is_refused(env: Any, what: str, edit: Any, message: str) -> None:
    gql, signers, db = env
    inp = copy.deepcopy(ALBUMIN)
    edit(inp)
    body = await _create(gql, signers, inp)
    assert _code(body) == "VALIDATION_FAILED", what
    assert message in body["errors"][0]["message"]
    async with db.read() as s:
        assert (await s.execute(select(Specification))).first() is None


JUDGE = """query($v: String!, $item: String!) { judgeResult(specificationCode: "SPEC-ALB20", item: $item,
  value: $v) { reported verdict reason } }"""


@pytest.mark.req("QC-03", "QC-04")
async def test_judgement_preview_rounds_then_judges_and_writes_nothing(env: Any) -> None:
    gql, signers, db = env
    assert "errors" not in await _create(gql, signers, ALBUMIN)
    qc = await gql.sign_in("qc.sig")
    # A draft is not in use: judged against only when its version is named (a preview while writing it).
    assert _code(await qc(JUDGE, {"v": "7", "item": "pH"})) == "CONFLICT"
    named = await qc('{ judgeResult(specificationCode: "SPEC-ALB20", version: 1, item: "pH", value: "7") { verdict } }')
    assert named["data"]["judgeResult"] == {"verdict": "PASS"}
    assert "errors" not in await _approve(gql, signers, 1)

    async def judged(item: str, value: str) -> tuple[str, str]:
        body = await qc(JUDGE, {"v": value, "item": item})
        got = body["data"]["judgeResult"]
        return got["reported"], got["verdict"]

    assert await judged("pH", "7.44") == ("7.4", "PASS")  # rounds onto the limit: passes
    assert await judged("pH", "7.46") == ("7.5", "FAIL")
    assert await judged("pH", "7.45") == ("7.4", "PASS")  # 5 with nothing after: to even
    assert await judged("Protein", "205.5") == ("206", "ACTION")
    assert await judged("Bacterial endotoxins", "0.499") == ("0.50", "FAIL")  # exclusive limit
    assert await judged("hbsag", " Negative ") == ("Negative", "PASS")
    bad = await qc(JUDGE, {"v": "seven", "item": "pH"})
    assert _code(bad) == "VALIDATION_FAILED"
    assert _code(await qc(JUDGE, {"v": "7", "item": "Albumin"})) == "NOT_FOUND"
    async with db.read() as s:
        assert (await s.execute(select(AuditEvent).where(AuditEvent.action == "WRITE_REFUSED"))).first() is None
