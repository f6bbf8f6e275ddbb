"""Line clearance: the operator signs, a reviewer present co-signs as VERIFIED in the same request."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from records.audit import AuditContext
from records.plasma import Batch
from records.quality import LineClearance
from records.signature import ESignature

Q = """mutation($input: RecordLineClearanceInput!, $sig: SignatureInput!, $ver: SignatureInput!){
  recordLineClearance(input:$input, signature:$sig, verification:$ver){ operator reviewer passed product } }"""
INPUT = {"roomCode": "R1", "batchNumber": "B-LC-1", "processStep": "filling",
         "checklist": [{"item": "No materials of the previous batch", "result": "PASS"},
                       {"item": "Line and equipment clean", "result": "PASS"}]}


@pytest_asyncio.fixture
async def lc(env: Any) -> Any:
    _, _, db = env
    async with db.write(AuditContext("system", reason="test batch")) as s:
        s.add(Batch(batch_number="B-LC-1", product="Human Albumin 20%", status="IN_PROGRESS"))
    return env


async def _count(db: Any) -> tuple[int, int]:
    async with db.read() as s:
        return ((await s.execute(select(func.count()).select_from(LineClearance))).scalar_one(),
                (await s.execute(select(func.count()).select_from(ESignature))).scalar_one())


@pytest.mark.req("PR-57", "PR-45")
async def test_clearance_with_operator_and_reviewer_signatures(lc: Any) -> None:
    gql, signers, db = lc
    me = await gql.sign_in("op.one")
    body = await me(Q, {"input": INPUT, "sig": signers.sign("op.one", "recordLineClearance", INPUT),
                        "ver": signers.sign("sup.rsa", "recordLineClearance", INPUT, "VERIFIED")})
    out = body["data"]["recordLineClearance"]
    assert out == {"operator": "op.one", "reviewer": "sup.rsa", "passed": True, "product": "Human Albumin 20%"}
    assert await _count(db) == (1, 2)


@pytest.mark.parametrize(("verifier", "meaning", "code"), [
    ("op.one", "VERIFIED", "SIGNATURE_INVALID"),   # the operator cannot be their own reviewer
    ("op.two", "VERIFIED", "FORBIDDEN"),           # an operator may not verify
    ("sup.rsa", "PERFORMED", "FORBIDDEN"),         # the verification must mean VERIFIED
])
async def test_bad_verifications_write_nothing(lc: Any, verifier: str, meaning: str, code: str) -> None:
    gql, signers, db = lc
    me = await gql.sign_in("op.one")
    body = await me(Q, {"input": INPUT, "sig": signers.sign("op.one", "recordLineClearance", INPUT),
                        "ver": signers.sign(verifier, "recordLineClearance", INPUT, meaning)})
    assert body["errors"][0]["extensions"]["code"] in (code, "SOD_VIOLATION")
    assert await _count(db) == (0, 0)


async def test_missing_verification_is_signature_required(lc: Any) -> None:
    gql, signers, _ = lc
    me = await gql.sign_in("op.one")
    q = Q.replace(", $ver: SignatureInput!", "").replace(", verification:$ver", "")
    r = await me.post(q, {"input": INPUT, "sig": signers.sign("op.one", "recordLineClearance", INPUT)})
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "SIGNATURE_REQUIRED"
