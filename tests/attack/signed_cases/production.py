"""Signed-mutation cases: the batch record (master recipes)."""

from __future__ import annotations

from typing import Any

from tests.attack.signed_cases.base import Case, World

RECIPE: dict[str, Any] = {
    "code": "CASE-MR", "product": "Human Albumin 20%", "name": "Case recipe", "batchSize": 100, "batchUnit": "L",
    "changeNote": "first version", "phases": [
        {"code": "P1", "name": "Mix", "unitProcedure": "Preparation", "operation": "Mixing", "equipmentClass": "tank",
         "instructions": "Mix for 10 minutes.",
         "parameters": [{"name": "Temperature", "unit": "°C", "low": 2, "high": 8}]}]}


async def _draft(_: World) -> dict[str, Any]:
    return RECIPE


async def _drafted(w: World) -> dict[str, Any]:
    await w.call("sup.rsa", "draftRecipe", RECIPE)
    return {"code": "CASE-MR", "version": 1, "comment": "checked"}


async def _reviewed(w: World) -> dict[str, Any]:
    inp = await _drafted(w)
    await w.call("qa.two", "reviewRecipe", inp, "REVIEWED")
    return {**inp, "comment": "approved"}


async def _batch(w: World) -> dict[str, Any]:
    from tests.attack.signed_cases.plasma import _pool

    pool = await _pool(w)
    await w.call("log.sig", "chargePool", pool, second=("sup.rsa", "VERIFIED"))
    inp = await _reviewed(w)
    await w.call("qa.sig", "approveRecipe", inp, "APPROVED")
    return {"batchNumber": "CASE-B1", "recipeCode": "CASE-MR", "poolCodes": [pool["poolCode"]], "reason": "plan"}


CHECKED = ["equipment clean and ready", "no product, material or document of the previous batch",
           "materials and documents for this phase present"]


async def _phase_start(w: World) -> dict[str, Any]:
    inp = await _batch(w)
    await w.call("sup.rsa", "createBatch", inp)
    return {"batchNumber": "CASE-B1", "phaseCode": "P1", "equipmentCode": "EQ-1", "confirmed": CHECKED}


async def _phase_end(w: World) -> dict[str, Any]:
    await w.call("op.one", "startPhase", await _phase_start(w))
    return {"batchNumber": "CASE-B1", "phaseCode": "P1", "manual": [{"name": "Temperature", "value": 5.0}]}


CASES: dict[str, Case] = {
    "draftRecipe": Case("sup.rsa", _draft),
    "reviewRecipe": Case("qa.two", _drafted, "REVIEWED"),
    "approveRecipe": Case("qa.sig", _reviewed, "APPROVED"),
    "createBatch": Case("sup.rsa", _batch),
    "startPhase": Case("op.one", _phase_start),
    "completePhase": Case("op.one", _phase_end),
}
