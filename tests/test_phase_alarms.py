"""While a phase runs, its tagged critical parameters are watched against the recipe's limits: an
excursion raises an alarm of that batch and phase at once, which clears when the value is back and
ends with the phase (PR-51). At the phase's end, a material balance or yield out of range, or a value
entered by hand out of limits, is an alarm of the batch and phase as well as a deviation (PR-21)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from records.alarms import Alarm
from records.base import utcnow
from records.execution import PhaseRun
from records.plasma import Batch
from records.quality import Deviation
from tests.attack.signed_cases.base import World
from tests.test_alarm_records import recording
from tests.test_phases import _batch, _complete, _readings, _start
from tests.test_users import set_setting

ALARMS = """{ alarms(filter: {batchNumber: "EX-1"}) { edges { node { source condition state tag message batchNumber
  phaseCode roomCode equipmentCode } } } }"""


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _alarms(w: World) -> list[dict[str, Any]]:
    qa = await w.gql.sign_in("qa.sig")
    body = await qa(ALARMS)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["alarms"]["edges"]][::-1]  # oldest first


@pytest.mark.req("PR-51")
async def test_a_parameter_outside_the_recipe_while_its_phase_runs_alarms_for_that_batch_and_phase(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    # Four alarms of one tag within a second: not declared chattering here (tests/test_alarm_chattering.py).
    assert "errors" not in await set_setting(gql, signers, "alarms.chatterCount", 10, "one tag, many excursions")
    async with recording(gql, db) as (svc, rec):
        svc.twin.ingest("R1-TT-901", 9.0)  # before the phase: only the tag's own limits alarm
        await svc.alarms.drain()
        assert "errors" not in await _start(w, "MIX", "EQ-1")
        await svc.alarms.settled()  # the PHASE event: the phase's parameters are watched now
        for v in (5.0, 9.5, 5.0, 8.7):
            svc.twin.ingest("R1-TT-901", v)
        await svc.alarms.drain()
        await rec.flush()
        body = await _complete(w, {"phaseCode": "MIX", "controls": [{"name": "pH", "value": 7.0}], "output": 96,
                                   "losses": 2})
        assert body["data"]["completePhase"]["exception"] is True, body
        await svc.alarms.settled()
        svc.twin.ingest("R1-TT-901", 5.0)
        svc.twin.ingest("R1-TT-901", 9.9)  # the phase is over: no alarm of EX-1 any more
        await svc.alarms.drain()

    alarms = await _alarms(w)
    process = [a for a in alarms if a["source"] == "PROCESS"]
    assert [(a["condition"], a["state"], a["message"]) for a in process] == [
        ("HIGH", "CLEARED", "EX-1 MIX: Temperature 9.5 °C above its high limit 8 °C"),
        ("HIGH", "CLEARED", "EX-1 MIX: Temperature 8.7 °C above its high limit 8 °C")], alarms
    assert {(a["batchNumber"], a["phaseCode"], a["tag"], a["roomCode"]) for a in process} == {
        ("EX-1", "MIX", "R1-TT-901", "R1")}
    # The tag's own limit alarms raised while the phase ran are linked to it too; those before and after not.
    qa = await gql.sign_in("qa.sig")
    every = await qa('{ alarms(filter: {source: LIMIT}) { edges { node { value batchNumber phaseCode } } } }')
    assert [(e["node"]["value"], e["node"]["batchNumber"]) for e in every["data"]["alarms"]["edges"]][::-1] == [
        (9.0, None), (9.5, "EX-1"), (8.7, "EX-1"), (9.9, None)], every
    async with db.read() as s:
        deviation = (await s.execute(select(Deviation))).scalar_one()
    assert "Temperature" in deviation.description


@pytest.mark.req("PR-21", "PR-49")
async def test_the_material_balance_is_computed_and_out_of_range_it_alerts_for_the_batch_and_phase(
        env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    assert "errors" not in await _start(w, "MIX", "EQ-1")
    await _readings(w, 5.0)
    base = {"phaseCode": "MIX", "controls": [{"name": "pH", "value": 7.0}]}
    for bad, words in (({}, "enter the output of phase MIX (L)"),
                       ({"output": 90, "losses": -1}, "not below 0")):
        body = await _complete(w, {**base, **bad})
        assert _code(body) == "VALIDATION_FAILED" and words in str(body), (bad, body)
    async with db.read() as s:
        assert (await s.execute(select(PhaseRun.status))).scalar_one() == "RUNNING"  # nothing written

    # Theoretical 100 L; 90 L out and 3 L of samples and hold-up collected: yield 90 % (in range),
    # material balance 93 % against 95-105 %.
    done = (await _complete(w, {**base, "output": 90, "losses": 3}))["data"]["completePhase"]
    assert (done["output"], done["losses"], done["yieldPct"], done["balancePct"], done["exception"]) == (
        90.0, 3.0, 90.0, 93.0, True)
    alarms = await _alarms(w)
    assert [(a["source"], a["condition"], a["state"], a["message"], a["equipmentCode"]) for a in alarms] == [
        ("PROCESS", "MATERIAL_BALANCE", "CLEARED", "EX-1 MIX: material balance 93 % (limits 95-105 %)", "EQ-1")]
    async with db.read() as s:
        deviation = (await s.execute(select(Deviation))).scalar_one()
    assert "material balance 93 % (limits 95-105 %)" in deviation.description
    assert deviation.raised_at <= utcnow()


@pytest.mark.req("PR-55")
async def test_an_alarm_is_confirmed_as_a_deviation_pre_filled_from_it(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    assert "errors" not in await _start(w, "MIX", "EQ-1")
    await _readings(w, 5.0)
    body = await _complete(w, {"phaseCode": "MIX", "controls": [{"name": "pH", "value": 7.0}], "output": 90,
                               "losses": 3})  # material balance 93 %: an alarm of EX-1 MIX
    assert body["data"]["completePhase"]["exception"] is True, body
    async with db.read() as s:
        alarm = (await s.execute(select(Alarm).where(Alarm.batch_number == "EX-1"))).scalar_one()
        automatic = (await s.execute(select(Deviation.id))).scalar_one()
    escalate = {"alarmId": alarm.id, "emergencyMeasures": "batch put on hold; losses re-weighed"}
    body = await w.send("op.one", "escalateAlarm", {**escalate, "emergencyMeasures": " "})
    assert _code(body) == "VALIDATION_FAILED" and "emergencyMeasures" in str(body), body
    body = await w.send("op.one", "escalateAlarm", escalate, answer="number title emergencyMeasures alarmId occurredAt")
    d = body["data"]["escalateAlarm"]
    assert (d["alarmId"], d["emergencyMeasures"]) == (alarm.id, "batch put on hold; losses re-weighed"), body
    assert d["title"].startswith("Alarm HIGH: EX-1 MIX: material balance 93 %")
    async with db.read() as s:
        row = (await s.execute(select(Deviation).where(Deviation.id != automatic))).scalar_one()
        batch_id = (await s.execute(select(Batch.id).where(Batch.batch_number == "EX-1"))).scalar_one()
    assert (row.batch_id, row.occurred_at, row.raised_by) == (batch_id, alarm.began_at, "op.one")
    assert f"Escalated from alarm {alarm.id} (PROCESS, EX-1 MIX)" in row.description
    body = await w.send("op.one", "escalateAlarm", escalate)
    assert _code(body) == "CONFLICT" and "escalated already" in str(body), body
    assert _code(await w.send("op.one", "escalateAlarm", {**escalate, "alarmId": 999})) == "NOT_FOUND"
    # The recorder does not review it: QA's approval closes it (B.7 PCJLR and PCFHR differ).
    await w.call("qa.sig", "approveDeviationClosure", {"number": d["number"]}, "APPROVED")
    async with db.read() as s:
        assert (await s.execute(select(Deviation.status).where(Deviation.id == row.id))).scalar_one() == "CLOSED"
