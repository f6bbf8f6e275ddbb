"""Batch release by the QP: a release document sealed by the organisation and signed PAdES by the QP,
whose key never leaves the client; validation detects a changed byte."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from demo import ca as demo_ca
from demo import population
from demo.seed import seed_stations
from policies import pki
from records.plasma import Batch
from tests.attack.signed_cases.base import World
from tests.conftest import GQL

PREPARE = "mutation($b:String!){prepareRelease(batchNumber:$b){documentId algorithm toSign toSignDigest}}"
COMPLETE = """mutation($input: CompleteReleaseInput!, $sig: SignatureInput!){
  completeRelease(input:$input, signature:$sig){ documentId status pdf
    signatures { fieldName signer intact valid trusted } } }"""
VALIDATE = "query($p:String!){validateDocument(pdf:$p){fieldName signer intact valid trusted}}"


@pytest_asyncio.fixture
async def rel(env: Any, pki_dir: Any) -> dict[str, Any]:
    gql, signers, db = env
    await seed_stations(db)
    await population.generate(db, population.Population(donors=50, units=200, pools=4, cases_per_lot=1,
                                                        cartons_per_case=1, units_per_carton=2))
    org = demo_ca.write_pki(pki_dir, [("organisation", "Demo Biologics (synthetic)", "ES256")])["organisation"]
    services = gql.client.app_services
    services.org_key, services.org_cert = org.key_pem, org.cert_pem
    async with db.read() as s:
        review = (await s.execute(select(Batch.batch_number).where(Batch.status == "UNDER_REVIEW"))).scalar_one()
        running = (await s.execute(select(Batch.batch_number).where(Batch.status == "IN_PROGRESS"))).scalar_one()
    await concluded(World(gql, signers, db), review)
    return {"gql": gql, "signers": signers, "db": db, "batch": review, "running": running}


async def concluded(w: World, batch_number: str) -> None:
    """QA reviews every exception of the batch and concludes its review, through the API."""
    qa = await w.gql.sign_in("qa.sig")
    body = await qa("query($b: String!) { batchReview(batchNumber: $b) { items { key reviewed } } }",
                    {"b": batch_number})
    keys = [i["key"] for i in body["data"]["batchReview"]["items"] if not i["reviewed"]]
    if keys:
        await w.call("qa.sig", "reviewBatchItems", {"batchNumber": batch_number, "keys": keys,
                                                    "conclusion": "investigated, no impact"}, "REVIEWED")
    await w.call("qa.sig", "concludeBatchReview", {"batchNumber": batch_number, "opinion": "record complete"},
                 "REVIEWED")


async def _release(r: dict[str, Any], qp: str = "qp.sig", tamper: bool = False) -> tuple[GQL, dict[str, Any]]:
    me = await r["gql"].sign_in(qp)
    prepared = (await me(PREPARE, {"b": r["batch"]}))["data"]["prepareRelease"]
    key = r["signers"].keys[qp]
    to_sign = base64.b64decode(prepared["toSign"]) + (b"x" if tamper else b"")
    cms = base64.b64encode(pki.sign_bytes(key.key_pem, prepared["algorithm"], to_sign)).decode()
    inp = {"documentId": prepared["documentId"], "cmsSignature": cms}
    body = await me(COMPLETE, {"input": inp, "sig": r["signers"].sign(qp, "completeRelease", inp, "RELEASED")})
    return me, body


@pytest.mark.req("PR-26", "PR-29", "IT-42")
@pytest.mark.parametrize("qp", ["qp.sig", "qp.rsa"])
async def test_qp_releases_with_a_pades_document_that_validates(rel: dict[str, Any], qp: str) -> None:
    me, body = await _release(rel, qp)
    doc = body["data"]["completeRelease"]
    assert doc["status"] == "RELEASED"
    assert [s["fieldName"] for s in doc["signatures"]] == ["Organisation", "QualifiedPerson"]
    assert all(s["intact"] and s["valid"] and s["trusted"] for s in doc["signatures"])
    async with rel["db"].read() as s:
        assert (await s.execute(select(Batch.status).where(Batch.batch_number == rel["batch"]))).scalar_one() \
            == "RELEASED"
    fetched = (await me("query($b:String!){releaseDocument(batchNumber:$b){pdf status}}",
                        {"b": rel["batch"]}))["data"]["releaseDocument"]
    pdf = bytearray(base64.b64decode(fetched["pdf"]))
    good = (await me(VALIDATE, {"p": fetched["pdf"]}))["data"]["validateDocument"]
    assert len(good) == 2 and all(s["trusted"] for s in good)
    at = pdf.index(rel["batch"].encode())  # a byte of the page content, inside both signed ranges
    pdf[at + 1] = ord("9") if pdf[at + 1] != ord("9") else ord("8")
    bad = (await me(VALIDATE, {"p": base64.b64encode(bytes(pdf)).decode()}))["data"]["validateDocument"]
    assert bad and not any(s["intact"] for s in bad)


async def test_a_bad_document_signature_releases_nothing(rel: dict[str, Any]) -> None:
    _, body = await _release(rel, tamper=True)
    assert body["errors"][0]["extensions"]["code"] == "SIGNATURE_INVALID"
    async with rel["db"].read() as s:
        assert (await s.execute(select(Batch.status).where(Batch.batch_number == rel["batch"]))).scalar_one() \
            == "UNDER_REVIEW"


async def test_only_a_qp_releases_and_only_a_reviewed_batch(rel: dict[str, Any]) -> None:
    qa = await rel["gql"].sign_in("qa.sig")
    assert (await qa(PREPARE, {"b": rel["batch"]}))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    qp = await rel["gql"].sign_in("qp.sig")
    assert (await qp(PREPARE, {"b": rel["running"]}))["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert (await qp(VALIDATE, {"p": "not base64!"}))["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
