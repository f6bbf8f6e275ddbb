"""Guided execution of a batch: phases in the recipe's order on usable equipment after the
pre-operation check, critical parameters taken from the twin over the phase, manual values marked,
an excursion raising a deviation at once, and the batch completing with its last phase."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditContext
from records.base import utcnow
from records.execution import PhaseRun
from records.plant import Room, Sensor
from records.plasma import Batch
from records.quality import Deviation
from records.readings import SensorReading
from records.signature import ESignature, record_hash
from tests.attack.signed_cases.base import World
from tests.test_batches import PRODUCT, _charged_pool

START = """mutation($input: StartPhaseInput!, $sig: SignatureInput!) {
  startPhase(input: $input, signature: $sig) { phaseCode status equipmentCode startedBy } }"""
COMPLETE = """mutation($input: CompletePhaseInput!, $sig: SignatureInput!, $v: SignatureInput) {
  completePhase(input: $input, signature: $sig, verification: $v) { phaseCode status exception verifiedBy yieldPct
    balancePct output losses
    parameters { name source min max count value within enteredBy trend { value } } controls { name value within } }
  }"""
CHECKED = ["equipment clean and ready", "no product, material or document of the previous batch",
           "materials and documents for this phase present"]
RECIPE: dict[str, Any] = {
    "code": "EXEC-MR", "product": PRODUCT, "name": "Execution recipe", "batchSize": 100, "batchUnit": "L",
    "changeNote": "first", "phases": [
        {"code": "MIX", "name": "Mix", "unitProcedure": "Preparation", "operation": "Mixing", "equipmentClass": "tank",
         "instructions": "Mix at 2-8 °C.", "yieldLowPct": 90, "yieldHighPct": 100,
         "output": 100, "outputUnit": "L", "balanceLowPct": 95, "balanceHighPct": 105,
         "parameters": [{"name": "Temperature", "unit": "°C", "low": 2, "high": 8, "tag": "R1-TT-901"}],
         "controls": [{"name": "pH", "method": "pH meter", "unit": "pH", "low": 6.8, "high": 7.2}]},
        {"code": "FILL", "name": "Fill", "unitProcedure": "Filling", "operation": "Filling", "equipmentClass": "tank",
         "after": ["MIX"], "instructions": "Fill 10 mL vials.", "signatures": ["PERFORMED", "VERIFIED"],
         "parameters": [{"name": "Fill volume", "unit": "mL", "low": 9.5, "high": 10.5}]}]}


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def approved(w: World, recipe: dict[str, Any]) -> None:
    """The recipe drafted, reviewed and approved by three people."""
    await w.call("sup.rsa", "draftRecipe", recipe)
    decision = {"code": recipe["code"], "version": 1, "comment": "ok"}
    await w.call("qa.two", "reviewRecipe", decision, "REVIEWED")
    await w.call("qa.sig", "approveRecipe", decision, "APPROVED")


async def planned(w: World, recipe: dict[str, Any], batch_number: str) -> None:
    """A batch of the approved recipe on a charged pool, created through the API."""
    pool = await _charged_pool(w)
    await approved(w, recipe)
    await w.call("sup.rsa", "createBatch", {"batchNumber": batch_number, "recipeCode": recipe["code"],
                                            "poolCodes": [pool], "reason": "plan"})


async def _batch(w: World) -> None:
    async with w.db.write(AuditContext("test", reason="a temperature sensor in R1")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        s.add(Sensor(tag="R1-TT-901", name="Tank temperature", kind="temperature", unit="°C", room_id=room.id,
                     low_limit=2, high_limit=8))
    await planned(w, RECIPE, "EX-1")


async def _start(w: World, phase: str, equipment: str, confirmed: list[str] | None = None) -> Any:
    inp = {"batchNumber": "EX-1", "phaseCode": phase, "equipmentCode": equipment,
           "confirmed": CHECKED if confirmed is None else confirmed}
    me = await w.gql.sign_in("op.one")
    return await me(START, {"input": inp, "sig": w.signers.sign("op.one", "startPhase", inp)})


async def _complete(w: World, inp: dict[str, Any], verifier: str | None = None) -> Any:
    inp = {"batchNumber": "EX-1", **inp}
    me = await w.gql.sign_in("op.one")
    v = w.signers.sign(verifier, "completePhase", inp, "VERIFIED") if verifier else None
    return await me(COMPLETE, {"input": inp, "sig": w.signers.sign("op.one", "completePhase", inp), "v": v})


async def _readings(w: World, *values: float) -> None:
    """What the recorder stores from the twin while the phase runs."""
    async with w.db.write(AuditContext("test", reason="readings")) as s:
        sensor = (await s.execute(select(Sensor.id).where(Sensor.tag == "R1-TT-901"))).scalar_one()
        started = (await s.execute(select(PhaseRun.started_at).where(PhaseRun.status == "RUNNING"))).scalar_one()
        span = utcnow() - started
        for i, v in enumerate(values):
            at = started + span * (i + 1) / (len(values) + 1)  # while the phase runs
            s.add(SensorReading(sensor_id=sensor, source_time=at, received_at=at, value=v, quality="GOOD"))


@pytest.mark.req("PR-40", "PR-41", "PR-51", "PR-44", "PR-48")
async def test_phases_run_in_order_with_captured_parameters_and_an_excursion_raises_a_deviation(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)

    body = await _start(w, "FILL", "EQ-1")
    assert _code(body) == "CONFLICT" and "comes after MIX" in body["errors"][0]["message"], body
    started = (await _start(w, "MIX", "EQ-1"))["data"]["startPhase"]
    assert started == {"phaseCode": "MIX", "status": "RUNNING", "equipmentCode": "EQ-1", "startedBy": "op.one"}
    async with db.read() as s:
        assert (await s.execute(select(Batch.status).where(Batch.batch_number == "EX-1"))).scalar_one() == "IN_PROGRESS"

    await _readings(w, 4.0, 5.5, 6.1)
    done = {"batchNumber": "EX-1", "phaseCode": "MIX", "controls": [{"name": "pH", "value": 7.0}], "output": 96,
            "losses": 2}
    qa = await w.gql.sign_in("qa.sig")  # PR-44: only the step's own roles sign its completion
    body = await qa(COMPLETE, {"input": done, "sig": w.signers.sign("qa.sig", "completePhase", done), "v": None})
    assert _code(body) == "FORBIDDEN", body
    body = await _complete(w, {"phaseCode": "MIX", "controls": [{"name": "pH", "value": 7.0}], "output": 96,
                                     "losses": 2})
    mix = body["data"]["completePhase"]
    assert mix["parameters"] == [{"name": "Temperature", "source": "TWIN", "min": 4.0, "max": 6.1, "count": 3,
                                  "value": None, "within": True, "enteredBy": None,
                                  "trend": [{"value": 4.0}, {"value": 5.5}, {"value": 6.1}]}], body
    assert (mix["status"], mix["exception"], mix["controls"][0]["within"]) == ("COMPLETED", False, True)
    async with db.read() as s:  # PR-48: the operator's signature is bound to the control results as recorded
        run = (await s.execute(select(PhaseRun).where(PhaseRun.phase_code == "MIX"))).scalar_one()
        sig = (await s.execute(select(ESignature).where(ESignature.entity == "phase_run",
                                                        ESignature.operation == "completePhase"))).scalar_one()
    recorded = {"batch": "EX-1", "phase": "MIX", "parameters": run.parameters, "controls": run.controls,
                "output": run.output, "losses": run.losses, "yieldPct": run.yield_pct, "balancePct": run.balance_pct,
                "exception": run.exception}
    assert sig.signer == "op.one" and sig.record_hash == record_hash("phase_run", str(run.id), recorded)
    assert sig.record_hash != record_hash("phase_run", str(run.id), {**recorded, "controls": [
        {**run.controls[0], "value": 7.1}]})

    # FILL needs a second person's verification; the fill volume is entered by hand, and is out of limits.
    fill = {"phaseCode": "FILL", "manual": [{"name": "Fill volume", "value": 11.0, "reason": "no scale link"}]}
    assert "errors" not in await _start(w, "FILL", "EQ-3")
    assert _code(await _complete(w, fill)) == "SIGNATURE_REQUIRED"
    done = (await _complete(w, fill, verifier="sup.rsa"))["data"]["completePhase"]
    assert (done["exception"], done["verifiedBy"]) == (True, "sup.rsa")
    assert done["parameters"][0] == {"name": "Fill volume", "source": "MANUAL", "min": None, "max": None,
                                     "count": None, "value": 11.0, "within": False, "enteredBy": "op.one",
                                     "trend": []}
    async with db.read() as s:
        batch = (await s.execute(select(Batch).where(Batch.batch_number == "EX-1"))).scalar_one()
        deviation = (await s.execute(select(Deviation).where(Deviation.batch_id == batch.id))).scalar_one()
    assert batch.status == "COMPLETED"
    assert "Fill volume" in deviation.description and deviation.status == "OPEN"

    qa = await gql.sign_in("qa.sig")
    listed = await qa('{ batchPhases(batchNumber: "EX-1") { phaseCode exception } }')
    assert listed["data"]["batchPhases"] == [{"phaseCode": "MIX", "exception": False},
                                             {"phaseCode": "FILL", "exception": True}]


@pytest.mark.req("PR-06", "PR-38")
async def test_equipment_out_of_date_or_wrong_and_a_missing_pre_check_are_refused(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    yesterday = utcnow().date() - timedelta(days=1)
    done = utcnow() - timedelta(days=8)
    cleaning = {"equipmentCode": "EQ-2", "kind": "CLEANING", "passed": True, "performedAt": done.isoformat(),
                "validUntil": yesterday.isoformat(), "reference": "SOP-CLN-004"}
    await w.call("op.one", "recordEquipmentCare", cleaning)
    await w.call("op.one", "setEquipmentStatus", {"code": "EQ-3", "status": "MAINTENANCE", "reason": "seal"})

    body = await _start(w, "MIX", "EQ-2")
    assert _code(body) == "CONFLICT" and f"cleaning expired on {yesterday.isoformat()}" in str(body), body
    body = await _start(w, "MIX", "EQ-3")
    assert _code(body) == "CONFLICT" and "status is MAINTENANCE" in str(body), body
    body = await _start(w, "MIX", "EQ-1", confirmed=CHECKED[:2])
    assert _code(body) == "VALIDATION_FAILED" and "materials and documents" in str(body), body
    body = await _start(w, "MIX", "EQ-404")
    assert _code(body) == "NOT_FOUND", body
    assert "errors" not in await _start(w, "MIX", "EQ-1")
    again = await _start(w, "MIX", "EQ-1")
    assert _code(again) == "CONFLICT" and "was started" in str(again), again
