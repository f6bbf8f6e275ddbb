"""The equipment logbook (B.2) writes itself as things happen to the equipment: a phase using it (and
its status following: RUNNING, then IDLE), a status set by a person, a cleaning, sterilisation or
calibration, an alarm on one of its tags. People add maintenance, use and notes by hand, signed.
A room takes the next batch only when the last one was cleared out of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditContext
from records.base import utcnow
from records.execution import PhaseRun
from records.plant import Equipment, EquipmentLog, Sensor
from records.plasma import Batch
from records.recipe import Recipe
from subscriptions.topics import EQUIPMENT_TOPIC
from tests.attack.signed_cases.base import World
from tests.test_alarm_records import recording
from tests.test_phases import CHECKED, START, _batch, _complete, _readings, _start, approved

LOGBOOK = """query($code: String!) { equipmentLogbook(code: $code) { equipmentCode kind text by manual batchNumber
  reference } }"""
ADD = """mutation($input: AddEquipmentLogEntryInput!, $sig: SignatureInput!) {
  addEquipmentLogEntry(input: $input, signature: $sig) { kind text by manual batchNumber reference } }"""
MIX_DONE = {"phaseCode": "MIX", "controls": [{"name": "pH", "value": 7.0}], "output": 96, "losses": 2}


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _logbook(w: World, code: str) -> list[dict[str, Any]]:
    me = await w.gql.sign_in("sup.rsa")
    body = await me(LOGBOOK, {"code": code})
    assert "errors" not in body, body
    return list(body["data"]["equipmentLogbook"])


async def _add(w: World, who: str, inp: dict[str, Any]) -> Any:
    me = await w.gql.sign_in(who)
    return await me(ADD, {"input": inp, "sig": w.signers.sign(who, "addEquipmentLogEntry", inp)})


async def test_a_phase_writes_its_use_and_moves_the_status_a_person_writes_care_and_status(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    moves: list[dict[str, str]] = []
    done = (utcnow() - timedelta(hours=1)).isoformat()
    await w.call("op.one", "recordEquipmentCare", {
        "equipmentCode": "EQ-1", "kind": "CLEANING", "passed": True, "performedAt": done,
        "validUntil": utcnow().date().isoformat(), "reference": "SOP-CLN-004"})

    with gql.client.app_services.bus.listen(EQUIPMENT_TOPIC, moves.append):
        assert "errors" not in await _start(w, "MIX", "EQ-1")
        async with db.read() as s:
            status = (await s.execute(select(Equipment.status).where(Equipment.code == "EQ-1"))).scalar_one()
        assert status == "RUNNING"
        await _readings(w, 5.0)
        assert "errors" not in await _complete(w, MIX_DONE)

    lines = await _logbook(w, "EQ-1")
    assert [(x["kind"], x["by"], x["manual"]) for x in lines] == [
        ("STATUS", "system", False), ("USE", "op.one", False), ("STATUS", "system", False),
        ("USE", "op.one", False), ("CLEANING", "op.one", True)], lines
    assert lines[0]["text"] == "RUNNING -> IDLE: batch EX-1 phase MIX completed"
    assert lines[1]["text"] == "batch EX-1 phase MIX completed" and lines[1]["batchNumber"] == "EX-1"
    assert lines[1]["reference"].startswith("phase_run:")
    assert lines[4]["text"] == f"passed, valid until {utcnow().date().isoformat()}: SOP-CLN-004"
    assert lines[4]["reference"].startswith("signature:")
    assert [(m["code"], m["previous"], m["status"]) for m in moves] == [("EQ-1", "IDLE", "RUNNING"),
                                                                         ("EQ-1", "RUNNING", "IDLE")]

    # A status a person set stays: the phase does not move MAINTENANCE, and the change is a signed line.
    await w.call("op.one", "setEquipmentStatus", {"code": "EQ-3", "status": "MAINTENANCE", "reason": "seal worn"})
    assert [(x["kind"], x["text"], x["by"], x["manual"]) for x in await _logbook(w, "EQ-3")] == [
        ("STATUS", "IDLE -> MAINTENANCE: seal worn", "op.one", True)]


async def test_lines_by_hand_are_signed_and_bad_ones_refused_with_nothing_written(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    line = {"equipmentCode": "EQ-2", "kind": "MAINTENANCE", "text": "Agitator seal replaced, WO-7781",
            "batchNumber": "EX-1"}
    body = await _add(w, "op.one", line)
    added = body["data"]["addEquipmentLogEntry"]
    assert {k: added[k] for k in ("kind", "text", "by", "manual", "batchNumber")} == {
        "kind": "MAINTENANCE", "text": "Agitator seal replaced, WO-7781", "by": "op.one", "manual": True,
        "batchNumber": "EX-1"}, body
    assert added["reference"].startswith("signature:")

    for bad, code, words in (({**line, "kind": "STATUS"}, "VALIDATION_FAILED", "own records"),
                             ({**line, "kind": "CLEANING"}, "VALIDATION_FAILED", "own records"),
                             ({**line, "text": "  "}, "VALIDATION_FAILED", "text"),
                             ({**line, "equipmentCode": "EQ-404"}, "NOT_FOUND", "EQ-404"),
                             ({**line, "batchNumber": "NOPE"}, "NOT_FOUND", "NOPE")):
        body = await _add(w, "op.one", bad)
        assert _code(body) == code and words in body["errors"][0]["message"], (bad, body)
    body = await _add(w, "qa.sig", line)  # QA reads the logbook but does not write it
    assert _code(body) == "FORBIDDEN", body
    async with db.read() as s:
        assert len((await s.execute(select(EquipmentLog))).scalars().all()) == 1


async def test_alarms_on_an_equipment_tag_are_written_in_its_logbook(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    async with db.write(AuditContext("test", reason="a vessel temperature tag")) as s:
        eq = (await s.execute(select(Equipment).where(Equipment.code == "EQ-1"))).scalar_one()
        s.add(Sensor(tag="EQ1-TT-1", name="Vessel temperature", kind="temperature", unit="°C", room_id=eq.room_id,
                     equipment_id=eq.id, low_limit=2, high_limit=8))
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    async with recording(gql, db) as (svc, _):
        for i, v in enumerate((5.0, 9.5, 5.0)):
            svc.twin.ingest("EQ1-TT-1", v, source_time=t0 + timedelta(seconds=i))
        await svc.alarms.drain()
    lines = await _logbook(w, "EQ-1")
    assert [(x["kind"], x["by"], x["manual"]) for x in lines] == [("ALARM", "system", False)] * 2, lines
    assert lines[0]["text"].startswith("returned to normal: Vessel temperature 9.5")
    assert lines[1]["text"] == "alarm raised: Vessel temperature 9.5 °C above high limit 8 °C"
    assert lines[0]["reference"] == lines[1]["reference"] and lines[1]["reference"].startswith("alarm:")


async def _second_batch(w: World) -> None:
    """Batch EX-2 of a recipe with two phases that may run side by side; made in the store directly, since
    the first test pool is charged into EX-1 (createBatch is proved in tests/test_batches.py)."""
    par = {"code": "PAR-MR", "product": "Human Albumin 20%", "name": "Side by side", "batchSize": 100,
           "batchUnit": "L", "changeNote": "first", "phases": [
               {"code": code, "name": code, "unitProcedure": "Prep", "operation": "Prep", "equipmentClass": "tank",
                "instructions": "Prepare."} for code in ("A", "B")]}
    await approved(w, par)
    async with w.db.write(AuditContext("test", reason="a second batch")) as s:
        recipe = (await s.execute(select(Recipe).where(Recipe.code == "PAR-MR"))).scalar_one()
        s.add(Batch(batch_number="EX-2", product=recipe.product, status="PLANNED", recipe_id=recipe.id))


async def _start2(w: World, phase: str, equipment: str) -> Any:
    inp = {"batchNumber": "EX-2", "phaseCode": phase, "equipmentCode": equipment, "confirmed": CHECKED}
    me = await w.gql.sign_in("op.one")
    return await me(START, {"input": inp, "sig": w.signers.sign("op.one", "startPhase", inp)})


def _clearance(result: str) -> dict[str, Any]:
    return {"roomCode": "R1", "batchNumber": "EX-1", "processStep": "fill",
            "checklist": [{"item": "No material or document of EX-1 left", "result": result},
                          {"item": "Line and equipment clean", "result": "PASS"}]}


@pytest.mark.req("PR-38", "PR-57", "PR-05")
async def test_a_room_takes_the_next_batch_only_after_the_last_was_cleared_out(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    await _second_batch(w)
    assert "errors" not in await _start(w, "MIX", "EQ-1")
    await _readings(w, 5.0)
    assert "errors" not in await _complete(w, MIX_DONE)
    assert "errors" not in await _start(w, "FILL", "EQ-3")

    body = await _start2(w, "A", "EQ-2")  # EX-1 is still filling in R1
    assert _code(body) == "CONFLICT" and "room R1 is in use by batch EX-1 phase FILL" in str(body), body
    fill = {"phaseCode": "FILL", "manual": [{"name": "Fill volume", "value": 10.0}]}
    assert "errors" not in await _complete(w, fill, verifier="sup.rsa")

    body = await _start2(w, "A", "EQ-2")
    assert _code(body) == "CONFLICT" and "line clearance of room R1 after batch EX-1 is not recorded" in str(body)
    await w.call("op.one", "recordLineClearance", _clearance("FAIL"), second=("sup.rsa", "VERIFIED"))
    body = await _start2(w, "A", "EQ-2")  # a failed clearance does not clear the room
    assert _code(body) == "CONFLICT" and "line clearance" in str(body), body
    await w.call("op.one", "recordLineClearance", _clearance("PASS"), second=("sup.rsa", "VERIFIED"))
    assert "errors" not in await _start2(w, "A", "EQ-2")

    # PR-05: equipment a phase is running on is not ready for another one; the same batch may use the room.
    body = await _start2(w, "B", "EQ-2")
    assert _code(body) == "CONFLICT" and "EQ-2 cannot be used: it is in use by batch EX-2 phase A" in str(body)
    assert "errors" not in await _start2(w, "B", "EQ-1")
    async with db.read() as s:
        runs = (await s.execute(select(PhaseRun.phase_code, Equipment.code).join(Batch, Batch.id == PhaseRun.batch_id)
                                .join(Equipment, Equipment.id == PhaseRun.equipment_id)
                                .where(Batch.batch_number == "EX-2").order_by(PhaseRun.id))).all()
    assert [tuple(r) for r in runs] == [("A", "EQ-2"), ("B", "EQ-1")]  # the refused starts wrote nothing
