"""Signed-mutation cases: the batch record (master recipes, batches, phases, materials, weighing)."""

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


async def _receipt(_: World) -> dict[str, Any]:
    from tests.test_weighing import _receipt

    return _receipt("ETH-96", "E-CASE")


async def _quarantined(w: World) -> dict[str, Any]:
    from tests.test_weighing import _received

    return {"code": await _received(w, "ETH-96", "E-CASE", release=False), "decision": "RELEASED", "reason": "CoA"}


async def _weighing(w: World) -> dict[str, Any]:
    from tests.test_weighing import _on_scale, _plant, _received, _weigh

    await _plant(w)
    lot = await _received(w, "ETH-96", "E-CASE")
    _on_scale(w, 22.5)
    return _weigh(lot)


async def _exception(w: World) -> dict[str, Any]:
    """A completed batch with one exception: a deviation raised against it."""
    from tests.attack.signed_cases.floor import _batch as bare

    await bare(w, "B-REV-1", "COMPLETED")
    await w.call("op.one", "raiseDeviation", {"title": "Late sample", "description": "x", "batchNumber": "B-REV-1"})
    return {"batchNumber": "B-REV-1", "keys": ["deviation:1"], "conclusion": "sample time explained"}


async def _reviewed_batch(w: World) -> dict[str, Any]:
    from tests.attack.signed_cases.floor import _batch as bare

    await bare(w, "B-REV-2", "COMPLETED")
    return {"batchNumber": "B-REV-2", "opinion": "record complete, no exceptions"}


async def _to_reject(w: World) -> dict[str, Any]:
    from tests.attack.signed_cases.floor import _batch as bare

    await bare(w, "B-REJ-1", "IN_PROGRESS")
    return {"batchNumber": "B-REJ-1", "reason": "pool reactive in lookback"}


async def _to_record(w: World) -> dict[str, Any]:
    from tests.test_intermediates import _frac_done, _made

    await _frac_done(w)
    return _made()


async def _intermediate(w: World) -> str:
    body = await w.call("op.one", "recordIntermediate", await _to_record(w))
    assert body is not None
    async with w.db.read() as s:
        from sqlalchemy import select

        from records.genealogy import Intermediate

        return str((await s.execute(select(Intermediate.code))).scalar_one())


async def _charge(w: World) -> dict[str, Any]:
    code = await _intermediate(w)
    await w.call("qa.sig", "decideIntermediate", {"code": code, "decision": "RELEASED", "reason": "ok"}, "APPROVED")
    return {"code": code, "kind": "CHARGE", "quantity": 5.0, "batchNumber": "IM-1", "phaseCode": "DISS"}


async def _quarantined_intermediate(w: World) -> dict[str, Any]:
    return {"code": await _intermediate(w), "decision": "RELEASED", "reason": "IPC passed"}


async def _packaging_opening(w: World) -> dict[str, Any]:
    from tests.test_packaging_record import _opening, _ready

    return _opening((await _ready(w))["bulk"])


async def _packaging_open(w: World) -> dict[str, str]:
    from tests.test_packaging_record import _opening, _ready

    lots = await _ready(w)
    await w.call("op.one", "startPackaging", _opening(lots["bulk"]), second=("sup.rsa", "VERIFIED"))
    return lots


async def _packaging_issue(w: World) -> dict[str, Any]:
    lots = await _packaging_open(w)
    return {"lotNumber": "PK-1-01", "materialLotCode": lots["carton"], "quantity": 20}


async def _packaging_inspection(w: World) -> dict[str, Any]:
    await _packaging_open(w)
    return {"lotNumber": "PK-1-01", "inspected": 12, "rejected": 2}


async def _packaging_case(w: World) -> dict[str, Any]:
    from tests.test_packaging_record import _case

    await w.call("op.one", "recordInspection", await _packaging_inspection(w))
    return _case(1, 1)


async def _packaging_close(w: World) -> dict[str, Any]:
    lots = await _packaging_open(w)
    await w.call("op.one", "issuePackagingMaterial", {"lotNumber": "PK-1-01", "materialLotCode": lots["carton"],
                                                      "quantity": 20})
    await w.call("op.one", "recordInspection", {"lotNumber": "PK-1-01", "inspected": 12, "rejected": 2})
    from tests.test_packaging_record import _case

    await w.call("op.one", "packCase", _case(1, 1))
    return {"lotNumber": "PK-1-01", "materials": [{"materialLotCode": lots["carton"], "used": 2, "destroyed": 0,
                                                   "returned": 18}]}


CASES: dict[str, Case] = {
    "draftRecipe": Case("sup.rsa", _draft),
    "reviewRecipe": Case("qa.two", _drafted, "REVIEWED"),
    "approveRecipe": Case("qa.sig", _reviewed, "APPROVED"),
    "createBatch": Case("sup.rsa", _batch),
    "startPhase": Case("op.one", _phase_start),
    "completePhase": Case("op.one", _phase_end),
    "receiveMaterial": Case("log.sig", _receipt),
    "decideMaterial": Case("qa.sig", _quarantined, "APPROVED"),
    "weighMaterial": Case("op.one", _weighing, second=("sup.rsa", "VERIFIED")),
    "reviewBatchItems": Case("qa.sig", _exception, "REVIEWED"),
    "concludeBatchReview": Case("qa.sig", _reviewed_batch, "REVIEWED"),
    "rejectBatch": Case("qp.sig", _to_reject, "REJECTED"),
    "recordIntermediate": Case("op.one", _to_record),
    "moveIntermediate": Case("op.one", _charge, second=("sup.rsa", "VERIFIED")),
    "decideIntermediate": Case("qa.sig", _quarantined_intermediate, "APPROVED"),
    "startPackaging": Case("op.one", _packaging_opening, second=("sup.rsa", "VERIFIED")),
    "issuePackagingMaterial": Case("op.one", _packaging_issue),
    "recordInspection": Case("op.one", _packaging_inspection),
    "packCase": Case("op.one", _packaging_case),
    "closePackaging": Case("sup.rsa", _packaging_close, "APPROVED"),
}
