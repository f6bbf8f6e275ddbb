"""A batch is created through the API from the approved version of a master recipe on closed pools
of QA-released plasma; before, only the demo's generator made batches."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from records.plasma import Batch, BatchStatus, batch_pool
from records.signature import ESignature
from tests.attack.signed_cases.base import World
from tests.attack.signed_cases.plasma import _pool
from tests.attack.signed_cases.production import RECIPE
from tests.test_recipes import thawing_sensor

CREATE = """mutation($input: CreateBatchInput!, $sig: SignatureInput!) {
  createBatch(input: $input, signature: $sig) { batchNumber product status poolCodes recipeCode recipeVersion } }"""
PRODUCT = "Human Albumin 20%"


async def _approved_recipe(w: World, code: str = "ALB-MR") -> None:
    inp = {**copy.deepcopy(RECIPE), "code": code, "product": PRODUCT}
    if any(p.get("tag") for ph in inp["phases"] for p in ph.get("parameters", [])):
        await thawing_sensor(w.db)
    await w.call("sup.rsa", "draftRecipe", inp)
    decision = {"code": code, "version": 1, "comment": "ok"}
    await w.call("qa.two", "reviewRecipe", decision, "REVIEWED")
    await w.call("qa.sig", "approveRecipe", decision, "APPROVED")


async def _charged_pool(w: World) -> str:
    inp = await _pool(w)
    await w.call("log.sig", "chargePool", inp, second=("sup.rsa", "VERIFIED"))
    return str(inp["poolCode"])


async def _create(w: World, inp: dict[str, Any]) -> Any:
    me = await w.gql.sign_in("sup.rsa")
    return await me(CREATE, {"input": inp, "sig": w.signers.sign("sup.rsa", "createBatch", inp)})


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


@pytest.mark.req("PR-36", "GP-02")
async def test_a_batch_starts_from_the_approved_recipe_on_a_charged_pool(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    pool = await _charged_pool(w)
    await _approved_recipe(w)
    body = await _create(w, {"batchNumber": "ALB-2612-001", "recipeCode": "ALB-MR", "poolCodes": [pool],
                             "reason": "campaign week 49"})
    assert body["data"]["createBatch"] == {"batchNumber": "ALB-2612-001", "product": PRODUCT, "status": "PLANNED",
                                           "poolCodes": [pool], "recipeCode": "ALB-MR", "recipeVersion": 1}, body
    async with db.read() as s:
        batch = (await s.execute(select(Batch).where(Batch.batch_number == "ALB-2612-001"))).scalar_one()
        links = (await s.execute(select(batch_pool.c.pool_id).where(batch_pool.c.batch_id == batch.id))).all()
        sig = (await s.execute(select(ESignature).where(ESignature.entity == "batch",
                                                        ESignature.entity_id == str(batch.id)))).scalar_one()
    assert len(links) == 1 and sig.signer == "sup.rsa" and sig.operation == "createBatch"

    # The trace now runs from the donation through the pool to the batch the plant created.
    qa = await gql.sign_in("qa.sig")
    trace = await qa('{ traceForward(code: "SC-OLD1") { nodes { kind code } } }')
    assert {"kind": "BATCH", "code": "ALB-2612-001"} in trace["data"]["traceForward"]["nodes"], trace
    # A pool feeds one batch.
    again = await _create(w, {"batchNumber": "ALB-2612-002", "recipeCode": "ALB-MR", "poolCodes": [pool],
                              "reason": "second"})
    assert _code(again) == "CONFLICT" and "already charged" in again["errors"][0]["message"], again


@pytest.mark.req("GP-02")
async def test_refusals_unapproved_recipe_wrong_product_unknown_pool_and_duties(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    pool = await _charged_pool(w)
    await w.call("sup.rsa", "draftRecipe", {**copy.deepcopy(RECIPE), "code": "ALB-MR", "product": PRODUCT})
    base = {"batchNumber": "ALB-X-1", "recipeCode": "ALB-MR", "poolCodes": [pool], "reason": "plan"}

    body = await _create(w, base)  # only a draft exists
    assert _code(body) == "CONFLICT" and "no approved version" in body["errors"][0]["message"], body
    await w.call("sup.rsa", "draftRecipe", {**copy.deepcopy(RECIPE), "code": "IVIG-MR", "product": "IVIG 10%"})
    await w.call("qa.two", "reviewRecipe", {"code": "IVIG-MR", "version": 1, "comment": "ok"}, "REVIEWED")
    await w.call("qa.sig", "approveRecipe", {"code": "IVIG-MR", "version": 1, "comment": "ok"}, "APPROVED")
    body = await _create(w, {**base, "recipeCode": "IVIG-MR"})
    assert _code(body) == "CONFLICT" and "not IVIG 10%" in body["errors"][0]["message"], body
    body = await _create(w, {**base, "recipeCode": "IVIG-MR", "poolCodes": ["PL-NONE"]})
    assert _code(body) == "NOT_FOUND", body
    body = await _create(w, {**base, "batchNumber": "bad number"})
    assert _code(body) == "VALIDATION_FAILED", body
    op = await gql.sign_in("op.one")
    body = await op(CREATE, {"input": base, "sig": signers.sign("op.one", "createBatch", base)})
    assert _code(body) == "FORBIDDEN", body
    async with db.read() as s:
        assert (await s.execute(select(Batch.id))).first() is None


def test_batch_status_moves() -> None:
    assert BatchStatus.PLANNED.can_become(BatchStatus.IN_PROGRESS)
    assert BatchStatus.UNDER_REVIEW.can_become(BatchStatus.RELEASED)
    assert not BatchStatus.PLANNED.can_become(BatchStatus.RELEASED)
    assert not BatchStatus.RELEASED.can_become(BatchStatus.REJECTED)
    assert all(BatchStatus(s).can_become(BatchStatus.REJECTED) for s in ("PLANNED", "IN_PROGRESS", "COMPLETED"))
