"""The demo's people on the production floor, acting through the API like anyone at a tablet: a phase's
ethanol weighed on the dispensing floor scale (weigher and verifier), a room cleared after another batch
(line clearance, performed and verified), a phase started once its process values read within the
recipe's limits and completed with its values: the tagged ones are the simulator's readings as the
twin recorded them, the rest entered as the batch documentation would give them.

The demo reads the database only to know where things stand (what ran where, whether the twin has
recorded a value yet); every record is made through the API.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import func, select

from demo.actors import Actors
from demo.plant import DEMO_PLANT, all_equipment
from demo.recipes import RECIPES
from records.base import utcnow
from records.db import Database
from records.execution import PhaseRun
from records.materials import Weighing
from records.plant import Equipment, Room, Sensor
from records.plasma import Batch
from records.quality import LineClearance
from records.readings import SensorReading

log = logging.getLogger("plasmatwin.demo")

Phase = dict[str, Any]
SUPERVISOR = "sup.zhao"  # verifies weighings, clearances and the phases the recipe asks a check of
SCALE, SCALE_TAG = next((e.code, e.sensors[0].tag) for _, e in all_equipment(DEMO_PLANT) if e.kind == "scale")
DRUM_TARE, IBC_TARE = 25.0, 65.0  # kg: a 200-L drum on its pallet, a 1000-L IBC; up to 250 kg comes in a drum
QUIET_S, QUIET_WAIT_S, RECORD_WAIT_S = 5.0, 60.0, 30.0
# Values a person enters where the recipe has no tag (the rest: the middle of the recipe's range).
ENTERED: dict[str, float] = {
    "Heating-medium temperature": 34.5, "Ethanol addition rate": 2.0, "Stirring time": 45, "Standing time": 4,
    "Settle-plate count": 0, "Incubation time": 14, "Illuminance": 3000, "Total protein": 61.8, "Purity": 98.5,
    "Residual ethanol": 0.02, "Protein": 205, "Fill volume": 50.2,
    "FRAC-I Ethanol concentration": 8, "FRAC-II Ethanol concentration": 25, "FRAC-V Ethanol concentration": 39,
}
CLEARANCE = ("product, intermediates and samples of the previous batch removed",
             "documents and labels of the previous batch removed", "equipment and room cleaned")


class SimulatedPlant(Protocol):
    """What the demo's people do to the simulated plant (demo.simulator.Simulator)."""

    def excursion(self, tag: str, delta: float, seconds: float) -> None: ...

    def place(self, tag: str, load: float | None) -> None: ...


def phase_of(recipe: str, code: str) -> Phase:
    phase: Phase = next(p for r in RECIPES if r["code"] == recipe for p in r["phases"] if p["code"] == code)
    return phase


def equipment_for(phase: Phase) -> tuple[str, str]:
    """The equipment (and its room) of the phase's class that carries the phase's tags."""
    tags = {p["tag"] for p in phase.get("parameters", []) if p["tag"]}
    return next((e.code, room.code) for room, e in all_equipment(DEMO_PLANT)
                if e.kind == phase["equipmentClass"] and tags & {s.tag for s in e.sensors})


def entered(phase: Phase, x: dict[str, Any]) -> float:
    value = ENTERED.get(f"{phase['code']} {x['name']}", ENTERED.get(x["name"]))
    if value is not None:
        return value
    low, high = x["low"], x["high"]
    return round((low + high) / 2, 3) if low is not None and high is not None else float(low or high or 0)


def output(phase: Phase) -> tuple[float | None, float]:
    """What the phase gave and lost: the middle of the recipe's yield and material-balance ranges."""
    theoretical = phase.get("output")
    if theoretical is None:
        return None, 0
    got = (phase["yieldLowPct"] + phase["yieldHighPct"]) / 2
    kept = (phase["balanceLowPct"] + phase["balanceHighPct"]) / 2
    return round(theoretical * got / 100, 1), round(theoretical * max(0.0, kept - got) / 100, 1)


class Floor:
    def __init__(self, people: Actors, db: Database, plant: SimulatedPlant) -> None:
        self.people, self.db, self.plant = people, db, plant

    async def phases(self, batch: str) -> dict[str, str]:
        """Each started phase of the batch and its status."""
        async with self.db.read() as s:
            rows = (await s.execute(select(PhaseRun.phase_code, PhaseRun.status).join(
                Batch, Batch.id == PhaseRun.batch_id).where(Batch.batch_number == batch))).all()
        return {code: status for code, status in rows}

    async def run(self, batch: str, phase: Phase, operator: str, hold: float) -> None:
        """The whole phase, from wherever it stands: weighed, started, `hold` seconds on, completed."""
        status = (await self.phases(batch)).get(phase["code"])
        if status == "COMPLETED":
            return
        if status is None:
            await self.start(batch, phase, operator)
            await asyncio.sleep(hold)
        await self.complete(batch, phase, operator)

    async def start(self, batch: str, phase: Phase, operator: str) -> None:
        equipment, room = equipment_for(phase)
        await self.weigh(batch, phase, operator)
        await self.clear(batch, room, operator)
        await self._quiet(phase)
        checks = (await self.people.query(operator, "{ preOperationCheck }"))["preOperationCheck"]
        await self.people.signed(operator, "startPhase", {"batchNumber": batch, "phaseCode": phase["code"],
                                                          "equipmentCode": equipment, "confirmed": checks})
        log.info("demo production: %s %s started on %s", batch, phase["code"], equipment)

    async def complete(self, batch: str, phase: Phase, operator: str) -> None:
        await self._recorded(batch, phase)
        made, lost = output(phase)
        inp = {"batchNumber": batch, "phaseCode": phase["code"],
               "manual": [{"name": x["name"], "value": entered(phase, x)} for x in phase.get("parameters", [])
                          if not x["tag"]],
               "controls": [{"name": x["name"], "value": entered(phase, x)} for x in phase.get("controls", [])],
               "output": made, "losses": lost}
        second = (SUPERVISOR, "VERIFIED") if "VERIFIED" in phase.get("signatures", []) else None
        done = (await self.people.signed(operator, "completePhase", inp, second=second, answer="exception"))
        log.info("demo production: %s %s completed%s", batch, phase["code"],
                 " as an exception (deviation raised)" if done["completePhase"]["exception"] else "")

    async def weigh(self, batch: str, phase: Phase, operator: str) -> None:
        """Each material of the phase not weighed yet, in its container on the floor scale."""
        async with self.db.read() as s:
            done = set((await s.execute(select(Weighing.material_code).join(Batch, Batch.id == Weighing.batch_id)
                                        .where(Batch.batch_number == batch, Weighing.phase_code == phase["code"])
                                        )).scalars())
        for m in phase.get("materials", []):
            if m["code"] in done:
                continue
            lot = await self._lot(operator, m)
            tare = DRUM_TARE if m["quantity"] <= 250 else IBC_TARE
            self.plant.place(SCALE_TAG, m["quantity"] + tare)  # the container filled to the target
            try:
                await self._settled(m["quantity"] + tare)
                inp = {"batchNumber": batch, "phaseCode": phase["code"], "lotCode": lot, "scanned": True,
                       "scaleCode": SCALE, "tare": tare}
                w = (await self.people.signed(operator, "weighMaterial", inp, second=(SUPERVISOR, "VERIFIED"),
                                              answer="net gross labelCode"))["weighMaterial"]
            finally:
                self.plant.place(SCALE_TAG, None)
            log.info("demo production: %s %s: %g kg of %s from lot %s weighed on %s (gross %g, tare %g), label %s",
                     batch, phase["code"], w["net"], m["code"], lot, SCALE, w["gross"], tare, w["labelCode"])

    async def _lot(self, operator: str, m: dict[str, Any]) -> str:
        """The oldest released lot with enough left for the weighing."""
        lots = (await self.people.query(operator, "query($m: String!) { materialLots(materialCode: $m, "
                                        "status: RELEASED) { code remaining } }", {"m": m["code"]}))["materialLots"]
        enough = m["quantity"] * (1 + m["tolerancePct"] / 100)
        usable = sorted(x["code"] for x in lots if x["remaining"] >= enough)
        if not usable:
            return str(lots[0]["code"]) if lots else "none"  # the API says why it cannot be weighed
        return str(usable[0])

    async def _settled(self, load: float) -> None:
        """Until the twin has recorded the scale showing the load (the display settles)."""
        since = utcnow()
        deadline = time.monotonic() + RECORD_WAIT_S
        while time.monotonic() < deadline:
            async with self.db.read() as s:
                last = (await s.execute(select(SensorReading.value).join(Sensor, Sensor.id == SensorReading.sensor_id)
                                        .where(Sensor.tag == SCALE_TAG, SensorReading.source_time > since)
                                        .order_by(SensorReading.source_time.desc()).limit(1))).scalar()
            if last is not None and abs(last - load) < 0.01 * load:
                return
            await asyncio.sleep(0.5)

    async def clear(self, batch: str, room: str, operator: str) -> None:
        """The line clearance the room needs after the batch that used it last (resolvers.execution.room_ready)."""
        async with self.db.read() as s:
            last = (await s.execute(select(PhaseRun, Batch.batch_number).join(Batch, Batch.id == PhaseRun.batch_id)
                                    .join(Equipment, Equipment.id == PhaseRun.equipment_id)
                                    .join(Room, Room.id == Equipment.room_id).where(Room.code == room)
                                    .order_by(PhaseRun.started_at.desc(), PhaseRun.id.desc()).limit(1))).first()
            if last is None or last[1] == batch or last[0].completed_at is None:
                return  # nobody before, this batch itself, or still running (the start is refused with why)
            run, previous = last
            cleared = (await s.execute(select(LineClearance.id).where(
                LineClearance.room_code == room, LineClearance.batch_id == run.batch_id,
                LineClearance.passed.is_(True), LineClearance.cleared_at >= run.completed_at).limit(1))).first()
        if cleared is not None:
            return
        inp = {"roomCode": room, "batchNumber": previous, "processStep": run.phase_code,
               "checklist": [{"item": item, "result": "PASS"} for item in CLEARANCE]}
        await self.people.signed(operator, "recordLineClearance", inp, second=(SUPERVISOR, "VERIFIED"))
        log.info("demo production: room %s cleared after %s %s", room, previous, run.phase_code)

    async def _readings(self, tag: str, since: Any) -> list[float]:
        async with self.db.read() as s:
            values = (await s.execute(select(SensorReading.value).join(Sensor, Sensor.id == SensorReading.sensor_id)
                                      .where(Sensor.tag == tag, SensorReading.source_time >= since))).scalars()
            return [v for v in values if v is not None]

    async def _quiet(self, phase: Phase) -> None:
        """An operator starts once the phase's values have read within the recipe's limits for a few
        seconds (a particle burst in the filling room passes first); after a minute, at whatever they read."""
        tagged = [x for x in phase.get("parameters", []) if x["tag"]]
        deadline = time.monotonic() + QUIET_WAIT_S
        while time.monotonic() < deadline:
            since = utcnow() - timedelta(seconds=QUIET_S)
            values = [(x, await self._readings(x["tag"], since)) for x in tagged]
            if all(vs and all((x["low"] is None or v >= x["low"]) and (x["high"] is None or v <= x["high"])
                              for v in vs) for x, vs in values):
                return
            await asyncio.sleep(1)

    async def _recorded(self, batch: str, phase: Phase) -> None:
        """Until the twin has recorded each tagged value since the phase started (a phase the demo
        completes seconds after its start still has its values from the simulator)."""
        async with self.db.read() as s:
            started = (await s.execute(select(PhaseRun.started_at).join(Batch, Batch.id == PhaseRun.batch_id).where(
                Batch.batch_number == batch, PhaseRun.phase_code == phase["code"]))).scalar_one()
        tags = [x["tag"] for x in phase.get("parameters", []) if x["tag"]]
        deadline = time.monotonic() + RECORD_WAIT_S
        while time.monotonic() < deadline:
            async with self.db.read() as s:
                seen = (await s.execute(select(func.count(func.distinct(Sensor.tag))).join(
                    SensorReading, SensorReading.sensor_id == Sensor.id).where(
                    Sensor.tag.in_(tags), SensorReading.source_time >= started))).scalar_one()
            if seen >= len(set(tags)):
                return
            await asyncio.sleep(0.5)
