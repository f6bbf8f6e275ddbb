"""The SQL statements a query sends do not grow with the objects it lists (issue 10; ../shared/style.md,
tests: "a guard that the SQL query count is the same for 1 and for N objects").

Every list-of-objects field reachable from Query, by its path from the root, is measured by a probe in
PROBES or named in EXEMPT with the reason; test_every_list_field_is_guarded walks the schema, so a new
list field cannot be forgotten. Each world adds its objects through the API where the API can create
them (signed mutations, /ingest), otherwise directly in the database as the other tests do. Its probes
run once with 1 and once with N objects of every list and must send the same number of statements,
counted on the read and the write engine (before_cursor_execute): the request's authentication,
permission and audit statements are in both counts, so they cancel out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
)
from sqlalchemy import event, insert, select

from demo.seed import seed_stations
from policies.errors import AppError
from records.alarms import Alarm, AlarmShelf, alarm_unit
from records.attachments import Attachment
from records.audit import AuditContext, PendingEvent
from records.audit_review import AuditReview
from records.capa import Capa
from records.change import ChangeRequest
from records.db import Database
from records.document import ControlledDocument, DocumentCopy
from records.execution import PhaseRun
from records.genealogy import FinalLot, Intermediate, IntermediateMovement
from records.identity import User, UserCertificate
from records.instrument_run import InstrumentProcessing, InstrumentRun, PoolTestResult
from records.materials import MaterialLot, Weighing
from records.oos import OosRecord, OotAlert
from records.packaging_record import PackagingIssue, PackagingRecord
from records.picking import PickingLine, PickingList
from records.plant import Area, Equipment, LogKind, Plant, Room, Sensor, log_line
from records.plasma import Batch, Donor, PlasmaStation, PlasmaUnit, Pool, RetestItem, RetestResult, Sample, batch_pool
from records.qc_record import TestRecord, TestResult
from records.quality import Deviation
from records.readings import SensorReading
from records.reagent import ReagentLot, ReagentMovement
from records.recipe import Recipe
from records.retention import RecordDestruction
from records.sample_life import SampleEvent
from records.signature import ESignature
from records.specification import Specification
from records.test_report import TestReport
from records.trace_push import TracePush
from records.training import TrainingRecord
from resolvers import alarms, plasma, storage
from resolvers.history import Window, histories
from schema.node import to_global_id
from schema.root import build_schema
from tests.conftest import GQL
from tests.signing_env import add_tiny_plant
from twin.alarm_service import AlarmService
from twin.recorder import Recorder

N = 50
SYSTEM = AuditContext("system", reason="query-count test data")
NOW = datetime.now(UTC).replace(microsecond=0)
ALBUMIN = "Human Albumin 20%"

# Lists that are not grown to N, with the reason.
EXEMPT = {
    "releaseDocument.signatures": "read from the document's PDF bytes in memory, no SQL per signature; a release "
                                  "document carries the one PAdES signature of its QP, there are no 50 to make",
    "validateDocument": "the signatures of the posted PDF, validated in memory without SQL",
    "plasmaUnitLabel.lines": "the fixed lines of one unit's label, built from its row, not a list of records",
    "sampleLabel.lines": "the fixed lines of one sample's label, built from its row, not a list of records",
    "materialLots.label.lines": "the fixed lines of one lot's label, built from its row",
    "materialLot.label.lines": "the fixed lines of one lot's label, built from its row",
    "node.label.lines": "the fixed lines of one lot's label, built from its row (node of a MaterialLot)",
    "batchWeighings.label.lines": "the fixed lines of one weighing's label, built from its row",
    "appendixBDatasets": "the guideline's dataset definitions, from code; no SQL",
    "appendixBDatasets.fields": "the guideline's dataset definitions, from code; no SQL",
    "intermediates.label.lines": "the fixed lines of one intermediate's label, built from its row",
    "packagingRecord.checklist": "stored with the packaging record as it was checked, read with it",
    "batchTests.results.inputs": "a formula's inputs, stored as JSON on the result line and read with it",
    "testRecord.results.inputs": "a formula's inputs, stored as JSON on the result line and read with it",
    "productQualityReview.oos": "read in one statement with the year's batches (resolvers/quality_review.py), "
                                "plain fields below; its rows come from the OOS workflow, probed in oos lists",
    "productQualityReview.capas": "read in one statement with the year's OOS and deviations, plain fields below",
    "retentionRules": "the retention rules, from code (records/retention.py); no SQL",
    "alarmKpis.byPriority": "counted in Python from the one statement over the period's alarms",
    "alarmKpis.badActors": "counted in Python from the one statement over the period's alarms",
    "alarmKpis.chattering": "counted in Python from the one statement over the period's alarms",
    "alarmKpis.chatteringNow": "the tags declared chattering now, one statement beside the period's alarms; the "
                               "alarm rules hold at most one open declaration per tag",
    "configurationAt.specifications": "rebuilt in Python from one statement over the audit trail, like "
                                      "configurationAt.alarmRules (probed in the plant world); plain fields",
    "configurationAt.recipes": "rebuilt in Python from one statement over the audit trail, like "
                               "configurationAt.alarmRules (probed in the plant world); plain fields",
    "testReports.signatures": "read from the report's PDF bytes in memory, no SQL per signature",
    "qcWorklist.records.record.results.inputs": "a formula's inputs, stored as JSON on the result line",
    "qcWorklist.records.missingItems": "the items of the record's specification version, from its JSON (the "
                                       "versions are read in one statement)",
    "qcWorklist.startable.items": "the items of the effective specification, from its JSON (read in one statement)",
    "qcReviewQueue.toReview.results.inputs": "a formula's inputs, stored as JSON on the result line",
    "qcReviewQueue.toIssue.record.results.inputs": "a formula's inputs, stored as JSON on the result line",
    "compareRecipes.differences": "computed in memory from the two versions, each read in one statement",
    "instrumentRun.wells": "the plate map of one processing, stored as JSON on it and read with it",
    "instrumentRun.processings.wells": "the plate map of one processing, stored as JSON on it and read with it",
    "compareInstrumentRun.wells": "computed in memory from the run's kept raw file (the run is read in four "
                                  "statements)",
    "compareInstrumentRun.original.wells": "the plate map of one processing, stored as JSON on it",
    "batchPhases.parameters.trend": "stored with the phase run when it completed, read with it",
    "batchPhases.equipmentAtStart.care": "the three care records as they were, stored with the phase run",
    "batchPhases.controls.trend": "stored with the phase run (empty: controls are entered, not captured)",
    "oos.environment.points": "at most 12 buckets a sensor, every sensor's read in one statement (histories)",
    "oos.ootAlerts": "at most one out-of-trend alert per result (unique), read in one statement",
}
# Lists whose length does not follow the objects (reason), measured for a constant count all the same.
FIXED = {"summary": "one count per kind of node", "trainingMatrix": "one row per role",
         "batchesByStatus": "one count per batch status", "counts": "one count per entity and action"}


class Statements:
    """The SQL statements sent on the app's engines, read and write."""

    def __init__(self, db: Database) -> None:
        self.engines = list({id(e): e.sync_engine for e in (db.engine, db.write_engine)}.values())
        self.seen: list[str] = []
        for e in self.engines:
            event.listen(e, "before_cursor_execute", self._on)

    def _on(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.seen.append(statement)

    def close(self) -> None:
        for e in self.engines:
            event.remove(e, "before_cursor_execute", self._on)


@dataclass
class World:
    gql: GQL
    signers: Any
    db: Database
    clients: dict[str, GQL] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def svc(self) -> Any:
        return getattr(self.gql.client, "app_services")  # noqa: B009 - set on the client by the env fixture

    async def client(self, user: str) -> GQL:
        if user not in self.clients:
            self.clients[user] = await self.gql.sign_in(user)
        return self.clients[user]

    async def signed(self, user: str, op: str, input_type: str, inp: dict[str, Any], select_: str = "__typename",
                     meaning: str = "PERFORMED", approver: str | None = None) -> Any:
        """A signed mutation by `user`; `approver` adds the second (APPROVED) signature."""
        extra, args = (", $ok: SignatureInput", ", approval: $ok") if approver else ("", "")
        q = (f"mutation($input: {input_type}!, $sig: SignatureInput!{extra})"
             f"{{ {op}(input: $input, signature: $sig{args}) {{ {select_} }} }}")
        variables = {"input": inp, "sig": self.signers.sign(user, op, inp, meaning)}
        if approver:
            variables["ok"] = self.signers.sign(approver, op, inp, "APPROVED")
        body = await (await self.client(user))(q, variables)
        assert "errors" not in body, body
        return body["data"][op]

    async def ingest(self, readings: list[dict[str, Any]], alarms: bool = False) -> None:
        """Readings through POST /ingest as the device bridge, stored (and alarmed) before this returns."""
        svc, rec = self.svc, Recorder(self.db)
        await rec.start()
        svc.twin.store, svc.twin.tags = rec.record, frozenset(rec.sensor_ids)
        service = AlarmService(self.db, svc.bus) if alarms else None
        if service is not None:
            await service.start()
            svc.twin.watch = service.feed
        bridge = await self.client("bridge.one")
        r = await self.gql.client.post("/ingest", json={"bridge": "qcount", "readings": readings},
                                       headers={"authorization": f"Bearer {bridge.token}"})
        assert r.status_code == 200 and r.json()["accepted"] == len(readings), r.text
        if service is not None:
            await service.drain()
            await service.stop()
            svc.twin.watch = None
        await rec.stop()
        svc.twin.store = None


def reading(tag: str, value: float, at: datetime) -> dict[str, Any]:
    return {"tag": tag, "value": value, "quality": "GOOD", "sourceTime": at.isoformat()}


async def cold_store(db: Database, code: str, **sensor: Any) -> None:
    async with db.write(SYSTEM) as s:
        area = (await s.execute(select(Area).where(Area.code == "A1"))).scalar_one()
        room = Room(area_id=area.id, code=code, name=f"Cold store {code}", grade="CNC",
                    polygon=[[0, 0], [1, 0], [1, 1], [0, 1]])
        s.add(room)
        await s.flush()
        s.add(Sensor(tag=f"{code}-TT-101", name="Air temperature", kind="temperature", unit="°C", room_id=room.id,
                     high_limit=-25.0, nominal=-32.0, **sensor))


async def donor(db: Database, card: str) -> None:
    await seed_stations(db)
    async with db.write(SYSTEM) as s:
        st = (await s.execute(select(PlasmaStation).where(PlasmaStation.code == "PS-N1"))).scalar_one()
        s.add(Donor(card_number=card, station_id=st.id, name="x", blood_type="A", status="ACTIVE"))


async def units(db: Database, card: str, room: str, first: int, k: int, **extra: Any) -> None:
    async with db.write(SYSTEM) as s:
        d = (await s.execute(select(Donor).where(Donor.card_number == card))).scalar_one()
        for i in range(first, first + k):
            s.add(PlasmaUnit(donation_number=f"{card}-U{i}", donor_id=d.id, station_id=d.station_id, blood_type="A",
                             collected_on=(NOW - timedelta(days=5)).date(), weight_g=600, status="QUARANTINED",
                             received_at=NOW - timedelta(hours=3, minutes=i), storage_location=f"{room}-R01-P{i}",
                             **extra))


# --- the worlds: setup once, then `add(world, first, k)` adds k more objects to every list ----------------

async def plant_add(w: World, first: int, k: int) -> None:
    """k plants; P1 gets k areas, area A1 k rooms, room R1 k equipment and k sensors, EQ-1 k sensors."""
    async with w.db.write(SYSTEM) as s:
        p1 = (await s.execute(select(Plant).where(Plant.code == "P1"))).scalar_one()
        a1 = (await s.execute(select(Area).where(Area.code == "A1"))).scalar_one()
        r1 = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        eq1 = (await s.execute(select(Equipment).where(Equipment.code == "EQ-1"))).scalar_one()
        for i in range(first, first + k):
            s.add(Plant(site_id=p1.site_id, code=f"QP{i}", name=f"Plant {i}", width=10, height=10))
            s.add(Area(plant_id=p1.id, code=f"QA{i}", name=f"Area {i}"))
            s.add(Room(area_id=a1.id, code=f"QR{i}", name=f"Room {i}", grade="D", polygon=[[0, 0], [1, 0], [1, 1]]))
            s.add(Equipment(room_id=r1.id, code=f"QE-{i}", name=f"Tank {i}", kind="tank", x=1, y=1, status="IDLE"))
            s.add(Sensor(tag=f"EQ-1-QT{i}", name="Level", kind="level", unit="%", room_id=r1.id, equipment_id=eq1.id))
            s.add(Sensor(tag=f"R1-QT{i}", name="Room temperature", kind="temperature", unit="°C", room_id=r1.id))
            s.add(log_line(eq1.id, LogKind.NOTE, f"note {i}", "op.one", manual=True))


async def plant_setup(w: World) -> None:
    async with w.db.read() as s:
        w.state["plant"] = str((await s.execute(select(Plant.id).where(Plant.code == "P1"))).scalar_one())


async def audit_add(w: World, first: int, k: int) -> None:
    """k audit events of one entity, and k rows written behind the application (unaudited)."""
    for i in range(first, first + k):
        await w.db.record(AuditContext("qcount", reason="query count"),
                          PendingEvent("QUERY_COUNT", "qcount", str(i), {"i": [None, i]}))
    async with w.db.write_engine.begin() as conn:
        await conn.execute(insert(PlasmaStation), [
            {"code": f"QS{i}", "name": f"Station {i}", "province": "X", "licence_number": f"L{i}"}
            for i in range(first, first + k)])
        await conn.execute(insert(AuditReview), [
            {"context": "PERIODIC", "scope": "system", "period_from": NOW, "period_to": NOW, "reviewer": "qa.one",
             "department": "QA", "events": i, "categories": {"app_user SIGN_IN": i}, "conclusion": "NO_ISSUE",
             "findings": "", "reviewed_at": NOW} for i in range(first, first + k)])
        await conn.execute(insert(RecordDestruction), [
            {"table_name": "batch", "reason": "retention ended", "destroyed_by": "qa.sig", "approved_by": "qp.sig",
             "destroyed_at": NOW,
             "tombstones": [{"id": j, "retainedUntil": "2020-01-01", "contentHash": "0" * 8} for j in range(first + k)]}
            for i in range(first, first + k)])


async def users_add(w: World, first: int, k: int) -> None:
    for i in range(first, first + k):
        await w.signed("adm.sig", "createUser", "CreateUserInput", {
            "username": f"q.user{i}", "displayName": f"Person {i}", "roles": ["operator"], "reason": "new hire"},
            "user { username }", approver="qa.sig")


async def signatures_add(w: World, first: int, k: int) -> None:
    for i in range(first, first + k):
        await w.signed("op.one", "setEquipmentStatus", "SetEquipmentStatusInput", {
            "code": "EQ-1", "status": "MAINTENANCE" if i % 2 == 0 else "IDLE", "reason": f"change {i}"})
    async with w.db.read() as s:
        w.state["entity"], w.state["entityId"] = (await s.execute(
            select(ESignature.entity, ESignature.entity_id).where(ESignature.operation == "setEquipmentStatus")
            .limit(1))).one()


async def tokens_add(w: World, first: int, k: int) -> None:
    for i in range(first, first + k):
        await w.signed("qa.sig", "issueScopedToken", "IssueScopedTokenInput", {
            "holder": "reg.one", "readOnly": True, "products": [ALBUMIN], "purpose": f"inspection {i}",
            "validFrom": (NOW - timedelta(days=1)).isoformat(), "validUntil": (NOW + timedelta(days=30)).isoformat()},
            "id", meaning="APPROVED")


async def plasma_setup(w: World) -> None:
    await donor(w.db, "DQ")
    await cold_store(w.db, "CSQ")
    async with w.db.write(SYSTEM) as s:
        s.add(Pool(code="PQ-1", product=ALBUMIN, status="CLOSED", pooled_at=NOW - timedelta(hours=1)))


async def plasma_add(w: World, first: int, k: int) -> None:
    """k units of donor DQ stored in CSQ and pooled in PQ-1, k batches of PQ-1, k retests of the first
    unit, k readings of the cold store while the units lay there."""
    async with w.db.read() as s:
        pool = (await s.execute(select(Pool.id).where(Pool.code == "PQ-1"))).scalar_one()
    await units(w.db, "DQ", "CSQ", first, k, pool_id=pool)
    async with w.db.write(SYSTEM) as s:
        unit = (await s.execute(select(PlasmaUnit.id).where(PlasmaUnit.donation_number == "DQ-U0"))).scalar_one()
        for i in range(first, first + k):
            b = Batch(batch_number=f"BQ-{i}", product=ALBUMIN, status="IN_PROGRESS", started_at=NOW)
            s.add(b)
            await s.flush()
            await s.execute(insert(batch_pool).values(batch_id=b.id, pool_id=pool))
            s.add(RetestResult(unit_id=unit, test=ITEMS[i % len(ITEMS)], result="NEGATIVE", method="ELISA",
                               kit_lot="K1", instrument="I1", analyst="qc.sig", tested_at=NOW - timedelta(minutes=i)))
    await w.ingest([reading("CSQ-TT-101", -31.5, NOW - timedelta(hours=1) + timedelta(seconds=30 * i))
                    for i in range(first, first + k)])


ITEMS = list(RetestItem)


def _recipe_phase(j: int, items: int) -> dict[str, Any]:
    return {"code": f"P{j}", "name": f"Phase {j}", "unitProcedure": "UP", "operation": "OP", "equipmentClass": "tank",
            "instructions": "Do it.", "after": [f"P{j - 1}"] if j else [],
            "materials": [{"code": f"M{m}", "name": "Material", "quantity": 1, "unit": "kg", "tolerancePct": 1}
                          for m in range(items)],
            "parameters": [{"name": f"T{m}", "unit": "°C", "low": 0, "high": 4} for m in range(items)],
            "controls": [{"name": f"C{m}", "method": "m", "unit": "%", "low": 1} for m in range(items)]}


async def phases_add(w: World, first: int, k: int) -> None:
    """k phase runs of batch BQ-P on EQ-1; run i records i+1 parameters and i+1 controls."""
    async with w.db.write(SYSTEM) as s:
        batch = (await s.execute(select(Batch).where(Batch.batch_number == "BQ-P"))).scalar_one_or_none()
        if batch is None:
            batch = Batch(batch_number="BQ-P", product=ALBUMIN, status="IN_PROGRESS", started_at=NOW)
            s.add(batch)
            await s.flush()
        eq = (await s.execute(select(Equipment.id).where(Equipment.code == "EQ-1"))).scalar_one()
        for i in range(first, first + k):
            values = [{"name": f"V{j}", "unit": "°C", "low": 0, "high": 4, "tag": None, "source": "MANUAL",
                       "value": 2.0, "within": True, "enteredBy": "op.one"} for j in range(i + 1)]
            s.add(PhaseRun(batch_id=batch.id, phase_code=f"P{i}", status="COMPLETED", equipment_id=eq, pre_check={},
                           started_at=NOW, started_by="op.one", completed_at=NOW, completed_by="op.one",
                           parameters=values, controls=values, exception=False))


async def running_add(w: World, first: int, k: int) -> None:
    """k batches of one recipe, each with a phase running on EQ-1."""
    async with w.db.write(SYSTEM) as s:
        recipe = (await s.execute(select(Recipe).where(Recipe.code == "RQ-R"))).scalar_one_or_none()
        if recipe is None:
            recipe = Recipe(code="RQ-R", version=1, product=ALBUMIN, name="R", status="APPROVED", change_note="x",
                            batch_size=1, batch_unit="L", procedure=[{"code": "MIX", "name": "Mix"}],
                            drafted_by="sup.rsa", drafted_at=NOW)
            s.add(recipe)
            await s.flush()
        eq = (await s.execute(select(Equipment.id).where(Equipment.code == "EQ-1"))).scalar_one()
        for i in range(first, first + k):
            batch = Batch(batch_number=f"BQ-R{i}", product=ALBUMIN, status="IN_PROGRESS", started_at=NOW,
                          recipe_id=recipe.id)
            s.add(batch)
            await s.flush()
            s.add(PhaseRun(batch_id=batch.id, phase_code="MIX", status="RUNNING", equipment_id=eq, pre_check={},
                           started_at=NOW, started_by="op.one", parameters=[], controls=[], exception=False))


async def materials_add(w: World, first: int, k: int) -> None:
    """k released lots of ETH-96, and k weighings of batch BQ-W (each of its own phase) from them on EQ-1."""
    async with w.db.write(SYSTEM) as s:
        batch = (await s.execute(select(Batch).where(Batch.batch_number == "BQ-W"))).scalar_one_or_none()
        if batch is None:
            recipe = Recipe(code="RQ-W", version=1, product=ALBUMIN, name="W", status="APPROVED", change_note="x",
                            batch_size=1, batch_unit="L", procedure=[], drafted_by="sup.rsa", drafted_at=NOW)
            s.add(recipe)
            await s.flush()
            batch = Batch(batch_number="BQ-W", product=ALBUMIN, status="IN_PROGRESS", started_at=NOW,
                          recipe_id=recipe.id)
            s.add(batch)
            await s.flush()
        eq = (await s.execute(select(Equipment.id).where(Equipment.code == "EQ-1"))).scalar_one()
        for i in range(first, first + k):
            lot = MaterialLot(code=f"EX2612{i:05d}", kind="EXCIPIENT", material_code="ETH-96", name="Ethanol",
                              lot_number=f"E-{i}", supplier="S", quantity=10, remaining=9, unit="kg",
                              expires_on=NOW.date(), received_at=NOW, received_by="log.sig", status="RELEASED")
            s.add(lot)
            await s.flush()
            s.add(Weighing(batch_id=batch.id, phase_code=f"P{i}", material_code="ETH-96", material_lot_id=lot.id,
                           scanned=True, scale_id=eq, scale_calibration="CALIBRATED", tare=0, gross=1, net=1,
                           unit="kg", target=1, tolerance_pct=5, source="TWIN", weighed_at=NOW, weighed_by="op.one",
                           verified_by="sup.rsa", label_code=f"WG2612{i:05d}"))


async def review_add(w: World, first: int, k: int) -> None:
    """k deviations and k alarms of batch BQ-R: 2k exceptions for its review."""
    async with w.db.write(SYSTEM) as s:
        batch = (await s.execute(select(Batch).where(Batch.batch_number == "BQ-R"))).scalar_one_or_none()
        if batch is None:
            batch = Batch(batch_number="BQ-R", product=ALBUMIN, status="COMPLETED", started_at=NOW)
            s.add(batch)
            await s.flush()
        for i in range(first, first + k):
            s.add(Deviation(number=f"DEV-Q-{i}", title=f"d{i}", description="x", batch_id=batch.id, raised_by="op.one",
                            raised_at=NOW, status="OPEN"))
            s.add(Alarm(source="PROCESS", condition="HIGH", priority="HIGH", state="CLEARED", message=f"a{i}",
                        began_at=NOW, raised_at=NOW, cleared_at=NOW, batch_number="BQ-R", phase_code="P1"))


async def intermediates_add(w: World, first: int, k: int) -> None:
    """k intermediates of batch BQ-I in room R1, each with one movement."""
    async with w.db.write(SYSTEM) as s:
        batch = (await s.execute(select(Batch).where(Batch.batch_number == "BQ-I"))).scalar_one_or_none()
        if batch is None:
            batch = Batch(batch_number="BQ-I", product=ALBUMIN, status="IN_PROGRESS", started_at=NOW)
            s.add(batch)
            await s.flush()
        for i in range(first, first + k):
            im = Intermediate(code=f"IM2612{i:05d}", batch_id=batch.id, kind="Fraction V paste", material_code="FV",
                              amount=1, remaining=1, unit="kg", status="QUARANTINE", location=f"R1-S{i}",
                              expires_on=NOW.date(), storage_conditions="-20 °C")
            s.add(im)
            await s.flush()
            first_id = w.state.setdefault("intermediate_id", im.id)
            s.add(IntermediateMovement(intermediate_id=first_id, kind="SAMPLE", at=NOW, by="op.one", quantity=0.01))
    w.state["intermediate"] = "IM261200000"


async def packaging_add(w: World, first: int, k: int) -> None:
    """A packaging record of lot BQ-L1 with k packaging material lots issued to it."""
    async with w.db.write(SYSTEM) as s:
        rec = (await s.execute(select(PackagingRecord))).scalar_one_or_none()
        if rec is None:
            batch = Batch(batch_number="BQ-K", product=ALBUMIN, status="COMPLETED", started_at=NOW)
            s.add(batch)
            await s.flush()
            bulk = Intermediate(code="IMQ-K", batch_id=batch.id, kind="Filled vials")
            s.add(bulk)
            await s.flush()
            lot = FinalLot(lot_number="BQ-L1", intermediate_id=bulk.id, product=ALBUMIN, status="IN_PRODUCTION")
            s.add(lot)
            await s.flush()
            line = (await s.execute(select(Equipment.id).where(Equipment.code == "EQ-1"))).scalar_one()
            rec = PackagingRecord(batch_id=batch.id, final_lot_id=lot.id, line_id=line, specification="x",
                                  units_per_carton=5, cartons_per_case=2, product_identifier="8612345",
                                  checklist=[{"item": "clean", "result": "PASS", "note": ""}], started_at=NOW,
                                  started_by="op.one", checked_by="sup.rsa", status="OPEN")
            s.add(rec)
            await s.flush()
        for i in range(first, first + k):
            m = MaterialLot(code=f"PK2612{i:05d}", kind="PACKAGING", material_code="CARTON", name="Carton",
                            lot_number=f"C-{i}", supplier="S", quantity=10, remaining=5, unit="pcs",
                            artwork_version="v1", expires_on=NOW.date(), received_at=NOW, received_by="log.sig",
                            status="RELEASED")
            s.add(m)
            await s.flush()
            s.add(PackagingIssue(record_id=rec.id, material_lot_id=m.id, issued=5, issued_at=NOW, issued_by="op.one"))


async def recipes_add(w: World, first: int, k: int) -> None:
    """k recipes; recipe i has i+1 phases, its first phase i+1 materials, parameters and controls."""
    for i in range(first, first + k):
        await w.signed("sup.rsa", "draftRecipe", "DraftRecipeInput", {
            "code": f"RQ-{i}", "product": "P", "name": f"Recipe {i}", "batchSize": 1, "batchUnit": "L",
            "changeNote": "first", "phases": [_recipe_phase(j, i + 1 if j == 0 else 0) for j in range(i + 1)]},
            "version")
    w.state["recipe"] = f"RQ-{first + k - 1}"


async def stations_add(w: World, first: int, k: int) -> None:
    """k stations approved by QA; k certificates of op.one (rows: enrolment needs k keys of op.one)."""
    for i in range(first, first + k):
        await w.signed("qa.sig", "registerPlasmaStation", "RegisterPlasmaStationInput", {
            "code": f"PS-Q{i}", "name": f"Station {i}", "province": "Test", "licenceNumber": f"L-{i}",
            "reason": "approved supplier"}, "code", meaning="APPROVED")
    async with w.db.write(SYSTEM) as s:
        user = (await s.execute(select(User.id).where(User.username == "op.one"))).scalar_one()
        for i in range(first, first + k):
            s.add(UserCertificate(user_id=user, fingerprint=f"{i:064x}", algorithm="ES256", pem="-",
                                  not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=365)))


async def notices_setup(w: World) -> None:
    await seed_stations(w.db)


async def notices_add(w: World, first: int, k: int) -> None:
    """k donors deferred by QA: a notice to their station each."""
    for i in range(first, first + k):
        await donor(w.db, f"DN-{i}")
        await w.signed("qa.sig", "deferDonor", "DeferDonorInput", {
            "cardNumber": f"DN-{i}", "status": "DEFERRED", "reason": "positive marker", "lookbackDays": 60},
            "cardNumber", meaning="APPROVED")


async def video_add(w: World, first: int, k: int) -> None:
    """k mapped and k unmapped key posts in R1, k cameras (the newest watching every mapped post), k clips
    of CAM-Q0 and k deviations the first clip is evidence of."""
    for i in range(first, first + k):
        await w.signed("qa.sig", "defineKeyPost", "DefineKeyPostInput", {
            "code": f"KPM-{i}", "name": f"Charging {i}", "category": "KEY_WORKSTATION", "roomCode": "R1"},
            "code", meaning="APPROVED")
        await w.signed("qa.sig", "defineKeyPost", "DefineKeyPostInput", {
            "code": f"KPU-{i}", "name": f"Sampling {i}", "category": "MANUAL_SAMPLING", "roomCode": "R1"},
            "code", meaning="APPROVED")
        await w.signed("sup.rsa", "registerCamera", "RegisterCameraInput", {
            "code": f"CAM-Q{i}", "name": f"Camera {i}", "roomCode": "R1", "x": 1, "y": 1, "deviceType": "FIXED",
            "keyPostCodes": [f"KPM-{j}" for j in range(i + 1)]}, "code")
        clip = await w.signed("op.one", "recordVideoClip", "RecordVideoClipInput", {
            "cameraCode": "CAM-Q0", "category": "GENERAL", "playbackUri": f"https://vms.local/play?clip={i}",
            "startedAt": (NOW - timedelta(minutes=60 - i)).isoformat(),
            "endedAt": (NOW - timedelta(minutes=59 - i)).isoformat()}, "id")
        w.state.setdefault("clip", clip["id"])
        dev = await w.signed("op.one", "raiseDeviation", "RaiseDeviationInput", {
            "title": f"Deviation {i}", "description": "glove contact at the charging port"}, "number")
        await w.signed("qa.sig", "linkVideoClips", "LinkVideoClipsInput", {
            "recordKind": "DEVIATION", "recordRef": dev["number"], "reason": "investigation",
            "clipIds": [w.state["clip"]]}, "id", meaning="APPROVED")


async def alarms_setup(w: World) -> None:
    await donor(w.db, "DA")
    await cold_store(w.db, "CSA", alarm_delay_s=60, alarm_deadband=1.0, alarm_priority="HIGH")
    w.state["clock"] = NOW - timedelta(days=2)


async def alarms_add(w: World, first: int, k: int) -> None:
    """k units in cold store CSA, k excursions there (an alarm each, linked to the units lying there),
    k cold rooms due for a check, k signed checks of CSA."""
    await units(w.db, "DA", "CSA", first, k)
    for i in range(first, first + k):
        await cold_store(w.db, f"CT{i}")
    readings = []
    for _ in range(k):
        t = w.state["clock"]
        readings += [reading("CSA-TT-101", -10, t), reading("CSA-TT-101", -10, t + timedelta(seconds=61)),
                     reading("CSA-TT-101", -31, t + timedelta(seconds=62))]
        w.state["clock"] = t + timedelta(minutes=5)
    await w.ingest(readings, alarms=True)
    async with w.db.write_engine.begin() as conn:  # k shelved tags
        await conn.execute(insert(AlarmShelf), [
            {"tag": f"CT{i}-TT-101", "reason": "probe", "shelved_by": "op.one", "shelved_at": NOW,
             "until": datetime.now(UTC) + timedelta(hours=1)} for i in range(first, first + k)])
    for i in range(first, first + k):
        await w.signed("op.one", "recordColdRoomCheck", "ColdRoomCheckInput", {
            "roomCode": "CSA", "temperature": -30.5, "doorClosed": True, "note": f"check {i}"}, "id")


async def picking_setup(w: World) -> None:
    await donor(w.db, "DK")
    async with w.db.write(SYSTEM) as s:
        s.add(PickingList(code="PK-Q", product=ALBUMIN, requested=0, status="OPEN", created_by="log.sig",
                          created_at=NOW))


async def picking_add(w: World, first: int, k: int) -> None:
    """k units of donor DK on list PK-Q (the first picked), and k more lists."""
    await units(w.db, "DK", "CSK", first, k)
    async with w.db.write(SYSTEM) as s:
        lst = (await s.execute(select(PickingList.id).where(PickingList.code == "PK-Q"))).scalar_one()
        for i in range(first, first + k):
            unit = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number == f"DK-U{i}"))).scalar_one()
            s.add(PickingLine(list_id=lst, unit_id=unit.id, position=i, location=unit.storage_location,
                              picked_at=NOW if i == 0 else None, picked_by="log.sig" if i == 0 else None))
            s.add(PickingList(code=f"PK-Q{i}", product=ALBUMIN, requested=1, status="CANCELLED", created_by="log.sig",
                              created_at=NOW - timedelta(minutes=i)))



async def specifications_add(w: World, first: int, k: int) -> None:
    """k specifications; specification i has i+1 test items."""
    for i in range(first, first + k):
        await w.signed("qc.sig", "createSpecification", "CreateSpecificationInput", {
            "code": f"SQ-{i}", "subjectKind": "PRODUCT", "subjectCode": f"P-{i}", "title": f"Spec {i}",
            "changeNote": "first", "items": [{"name": f"Item {j}", "method": "SOP", "unit": "g/L", "low": "1",
                                              "rounding": "DECIMALS", "precision": 1} for j in range(i + 1)]},
            "version")
    w.state["specification"] = f"SQ-{first + k - 1}"


async def lab_setup(w: World) -> None:
    async with w.db.write(SYSTEM) as s:
        s.add(Batch(batch_number="BQ-T", product=ALBUMIN, status="IN_PROGRESS", started_at=NOW))
        s.add(Specification(code="SQ-T", version=1, subject_kind="PRODUCT", subject_code="P-T", status="EFFECTIVE",
                            change_note="first", items=[], drafted_by="qc.sig", drafted_at=NOW))


async def lab_add(w: World, first: int, k: int) -> None:
    """k test records of batch BQ-T; record i has i+1 result lines."""
    async with w.db.write(SYSTEM) as s:
        batch = (await s.execute(select(Batch.id).where(Batch.batch_number == "BQ-T"))).scalar_one()
        spec = (await s.execute(select(Specification.id).where(Specification.code == "SQ-T"))).scalar_one()
        for i in range(first, first + k):
            rec = TestRecord(batch_id=batch, stage="FINAL", subject_kind="PRODUCT", subject_code=f"P-T{i}",
                             specification_id=spec, specification_code="SQ-T", specification_version=1,
                             status="OPEN", created_by="qc.sig", created_at=NOW)
            s.add(rec)
            await s.flush()
            for j in range(i + 1):
                s.add(TestResult(record_id=rec.id, item=f"Item {j}", raw="1.0", inputs={"a": "1"}, reported="1.0",
                                 verdict="PASS", reason="ok", rounding="DECIMALS 1", analyst="qc.sig",
                                 entered_at=NOW, method="SOP", entry_method="MANUAL", current_key=f"{rec.id}:{j}"))
            w.state["testRecord"] = rec.id
            # k report versions of the first record (the file's bytes are not read by the probe)
            s.add(TestReport(document_id=f"TR-Q{i}", record_id=w.state.setdefault("reportRecord", rec.id),
                             version=i + 1, status="SUPERSEDED", conclusion="COMPLIES", prepared_by="qcr.sig",
                             prepared_at=NOW, pdf=b"%PDF-1.7"))
            s.add(TracePush(batch_id=batch, batch_number="BQ-T", payload={"lots": []}, payload_sha256="0" * 64,
                            status="SENT", attempts=1, created_at=NOW, next_attempt_at=NOW))
            # the year's batches of the product, each with a deviation (productQualityReview)
            year_batch = Batch(batch_number=f"BQ-Y{i}", product=ALBUMIN, status="COMPLETED", started_at=NOW)
            s.add(year_batch)
            await s.flush()
            s.add(Deviation(number=f"DV-Q{i}", title="t", description="d", batch_id=year_batch.id, raised_by="qa.one",
                            raised_at=NOW))

async def samples_setup(w: World) -> None:
    await cold_store(w.db, "CSS")
    async with w.db.write(SYSTEM) as s:
        s.add(Batch(batch_number="BQ-S", product=ALBUMIN, status="RELEASED",
                    expiry_date=(NOW - timedelta(days=300)).date()))


async def samples_add(w: World, first: int, k: int) -> None:
    """k retained samples of batch BQ-S stored in cold store CSS, due within 100 days; SQ-0 gets k events."""
    async with w.db.write(SYSTEM) as s:
        batch = (await s.execute(select(Batch.id).where(Batch.batch_number == "BQ-S"))).scalar_one()
        for i in range(first, first + k):
            s.add(Sample(code=f"SQ-{i}", kind="RETAINED", batch_id=batch, taken_at=NOW, taken_by="qc.sig",
                         status="RETAINED", storage_location=f"CSS-R01-P{i}", stored_at=NOW, temperature_high=-25.0))
        await s.flush()
        sq0 = (await s.execute(select(Sample.id).where(Sample.code == "SQ-0"))).scalar_one()
        for _ in range(k):
            s.add(SampleEvent(sample_id=sq0, kind="STORED", at=NOW, by="qc.sig", location="CSS-R01-P0"))


async def worklist_setup(w: World) -> None:
    async with w.db.write(SYSTEM) as s:
        s.add(Specification(code="SQ-W", version=1, subject_kind="PRODUCT", subject_code="P-W", status="EFFECTIVE",
                            effective_key="PRODUCT:P-W", change_note="first", drafted_by="qc.sig", drafted_at=NOW,
                            items=[{"name": "Item 0", "method": "SOP", "unit": "g/L", "low": "1",
                                    "rounding": "DECIMALS", "precision": 1},
                                   {"name": "Item X", "method": "SOP", "unit": "%", "high": "5", "rounding": "DECIMALS",
                                    "precision": 1, "formula": "a / b * 100"}]))


async def worklist_add(w: World, first: int, k: int) -> None:
    """k batches of P-W, each with an OPEN finished-product record and a REVIEWED bulk record (i+1 lines each,
    entered by qc.sig), and k batches of P-W with no record yet."""
    async with w.db.write(SYSTEM) as s:
        spec = (await s.execute(select(Specification.id).where(Specification.code == "SQ-W"))).scalar_one()
        for i in range(first, first + k):
            batch = Batch(batch_number=f"BQ-W{i}", product="P-W", status="COMPLETED")
            s.add(batch)
            s.add(Batch(batch_number=f"BQ-X{i}", product="P-W", status="IN_PROGRESS"))
            await s.flush()
            for stage, status in (("FINAL", "OPEN"), ("BULK", "REVIEWED")):
                rec = TestRecord(batch_id=batch.id, stage=stage, subject_kind="PRODUCT", subject_code="P-W",
                                 specification_id=spec, specification_code="SQ-W", specification_version=1,
                                 status=status, created_by="qc.sig", created_at=NOW)
                s.add(rec)
                await s.flush()
                for j in range(i + 1):
                    s.add(TestResult(record_id=rec.id, item=f"Item {j}", raw="1.0", reported="1.0", verdict="PASS",
                                     reason="ok", rounding="DECIMALS 1", analyst="qc.sig", entered_at=NOW,
                                     method="SOP", entry_method="MANUAL", current_key=f"{rec.id}:{j}"))


async def documents_add(w: World, first: int, k: int) -> None:
    """k effective documents (required for operators, review due), k copies and k training records of QD-0, and
    k change requests, request i changing i+1 documents."""
    async with w.db.write(SYSTEM) as s:
        for i in range(first, first + k):
            s.add(ControlledDocument(code=f"QD-{i}", version=1, title=f"SOP {i}", category="SOP", gmp=True,
                                     status="EFFECTIVE", effective_key=f"QD-{i}", change_note="first", body="x",
                                     content_sha256="0" * 64, roles=["operator"], review_due=NOW.date(),
                                     effective_date=NOW.date(), drafted_by="qa.one", drafted_at=NOW))
        await s.flush()
        doc = (await s.execute(select(ControlledDocument.id).where(ControlledDocument.code == "QD-0"))).scalar_one()
        for i in range(first, first + k):
            s.add(DocumentCopy(document_id=doc, copy_number=i + 1, kind="PRINTOUT", holder=f"Room {i}",
                               status="ISSUED", issued_by="qa.one", issued_at=NOW))
            s.add(TrainingRecord(username="op.one", document_code="QD-0", document_version=1, trained_at=NOW,
                                 trainer="qa.one", assessment="FAILED", valid_until=NOW.date(), recorded_at=NOW))
            s.add(ChangeRequest(number=f"CC-Q-{i}", title="t", description="d", reason="r", impact="i",
                                targets=[{"kind": "DOCUMENT", "code": f"QD-{j}"} for j in range(i + 1)],
                                status="OPEN", raised_by="qa.one", raised_at=NOW))


async def reagents_add(w: World, first: int, k: int) -> None:
    """k reagent lots, each due for a reminder (expiry and retest within the window); lot QR-0 gets k lines."""
    async with w.db.write(SYSTEM) as s:
        for i in range(first, first + k):
            s.add(ReagentLot(code=f"QR-{i}", kind="REAGENT", name="NaOH", lot_number=f"L{i}", supplier="S",
                             quantity=1.0, issued=0.0, unit="g", location="R2", conditions="dry",
                             expires_on=NOW.date() + timedelta(days=5), retest_on=NOW.date() + timedelta(days=2),
                             status="RELEASED", received_at=NOW, received_by="qc.sig"))
        await s.flush()
        lot = (await s.execute(select(ReagentLot.id).where(ReagentLot.code == "QR-0"))).scalar_one()
        for _ in range(k):
            s.add(ReagentMovement(lot_id=lot, kind="ISSUE", quantity=0.01, balance=1.0, at=NOW, by="qc.sig"))


async def oos_setup(w: World) -> None:
    """Batch BQ-O with a failing result measured on EQ-1 (room R1) and its OOS."""
    async with w.db.write(SYSTEM) as s:
        batch = Batch(batch_number="BQ-O", product=ALBUMIN, status="IN_PROGRESS")
        spec = Specification(code="SQ-O", version=1, subject_kind="PRODUCT", subject_code="P-O", status="EFFECTIVE",
                             change_note="first", drafted_by="qc.sig", drafted_at=NOW,
                             items=[{"name": "Item 0", "method": "SOP", "unit": "g/L", "low": "1",
                                     "rounding": "DECIMALS", "precision": 1}])
        s.add_all([batch, spec])
        await s.flush()
        rec = TestRecord(batch_id=batch.id, stage="FINAL", subject_kind="PRODUCT", subject_code="P-O",
                         specification_id=spec.id, specification_code="SQ-O", specification_version=1,
                         status="OPEN", created_by="qc.sig", created_at=NOW)
        s.add(rec)
        await s.flush()
        line = TestResult(record_id=rec.id, item="Item 0", raw="0.5", reported="0.5", verdict="FAIL", reason="low",
                          rounding="DECIMALS 1", analyst="qc.sig", entered_at=NOW, method="SOP", instrument_id="EQ-1",
                          entry_method="INSTRUMENT", current_key=f"{rec.id}:item 0")
        s.add(line)
        await s.flush()
        oos = OosRecord(number="OOS-Q-0", status="OPEN", opened_at=NOW, subject_kind="PRODUCT", subject_code="P-O",
                        batch_id=batch.id, item="Item 0", value="0.5", limits="≥ 1 g/L", reason="low",
                        analyst="qc.sig", instrument="EQ-1", method="SOP", tested_at=NOW,
                        source=f"test_result:{line.id}", test_result_id=line.id)
        s.add(oos)
        await s.flush()
        w.state.update(oos=oos.id, oosResult=line.id, oosRecord=rec.id, oosBatch=batch.id)


async def oos_add(w: World, first: int, k: int) -> None:
    """k samples of BQ-O, k sensors in R1 (one reading each), k reagent lots used for the OOS's result, k CAPA
    of the OOS, k more results of its item (each with an out-of-trend alert) and k more OOS records."""
    async with w.db.write(SYSTEM) as s:
        room = (await s.execute(select(Room.id).where(Room.code == "R1"))).scalar_one()
        batch, rec = w.state["oosBatch"], w.state["oosRecord"]
        for i in range(first, first + k):
            s.add(Sample(code=f"SQ-O{i}", kind="RELEASE", batch_id=batch, taken_at=NOW, taken_by="qc.sig"))
            sensor = Sensor(tag=f"QO-TT-{i}", name=f"T {i}", kind="temperature", unit="C", room_id=room)
            lot = ReagentLot(code=f"QO-R{i}", kind="REAGENT", name="buffer", lot_number=f"L{i}", supplier="S",
                             quantity=1.0, issued=0.0, unit="mL", location="R1", conditions="cool",
                             expires_on=NOW.date() + timedelta(days=30), status="RELEASED", received_at=NOW,
                             received_by="qc.sig")
            line = TestResult(record_id=rec, item="Item 0", raw=f"{i + 2}.0", reported=f"{i + 2}.0", verdict="PASS",
                              reason="ok", rounding="DECIMALS 1", analyst="qc.sig", entered_at=NOW, method="SOP",
                              entry_method="MANUAL", current_key=f"{rec}:q{i}")
            s.add_all([sensor, lot, line])
            await s.flush()
            s.add(SensorReading(sensor_id=sensor.id, source_time=NOW - timedelta(minutes=1), received_at=NOW,
                                value=20.0, quality="GOOD"))
            s.add(ReagentMovement(lot_id=lot.id, kind="USE", balance=1.0, at=NOW, by="qc.sig",
                                  used_for="test_result", used_for_id=str(w.state["oosResult"])))
            s.add(Capa(number=f"CAPA-Q-{i}", kind="CORRECTIVE", action="a", owner="qc.sig",
                       due_date=NOW.date() - timedelta(days=1), status="OPEN", oos_id=w.state["oos"],
                       created_by="qa.one", created_at=NOW))
            s.add(OotAlert(specification_code="SQ-O", item="Item 0", test_result_id=line.id, batch_id=batch,
                           value=line.reported, rules=["NELSON_1"], rules_version="OOT-1", points=8, raised_at=NOW))
            s.add(OosRecord(number=f"OOS-Q-{i + 1}", status="OPEN", opened_at=NOW, subject_kind="PRODUCT",
                            subject_code="P-O", batch_id=batch, item="Item 0", value="0.5", limits="≥ 1 g/L",
                            reason="low", analyst="qc.sig", instrument="", method="SOP", tested_at=NOW,
                            source=f"instrument_run:{i}/A1"))


async def instruments_setup(w: World) -> None:
    async with w.db.write(SYSTEM) as s:
        raw = Attachment(sha256="0" * 64, filename="p.csv", content_type="text/csv", size=1, data=b"x",
                         purpose="raw", uploaded_by="qc.sig", uploaded_at=NOW)
        s.add(raw)
        await s.flush()
        run = InstrumentRun(kind="ELISA", instrument_id="EL-01", test_item="HBSAG", kit_lot="K", analyst="qc.sig",
                            imported_at=NOW, status="IMPORTED", attachment_id=raw.id, raw_sha256="0" * 64,
                            run_label="P", processing=1)
        s.add(run)
        await s.flush()
        w.state["instrumentRun"] = run.id


async def instruments_add(w: World, first: int, k: int) -> None:
    """k processings of one run, and k pool results of it, all of pool PQ-1."""
    async with w.db.write(SYSTEM) as s:
        for i in range(first, first + k):
            s.add(InstrumentProcessing(run_id=w.state["instrumentRun"], number=i + 1, parser="elisa-plate",
                                       parser_version="1", valid=True, cutoff="0.130", processed_by="qc.sig",
                                       processed_at=NOW, reason="import", wells=[{
                                           "position": "A1", "content": "NC", "role": "NC", "target": "",
                                           "value": "0.05", "ic": None, "ratio": None, "outcome": None}]))
            s.add(PoolTestResult(pool_kind="MINI_POOL", pool_code="PQ-1", units=["U1", "U2"],
                                 run_id=w.state["instrumentRun"], processing=1, test="HBSAG", result="NEGATIVE",
                                 outcome="NEGATIVE", value="0.400", kit_lot="K", instrument="EL-01", analyst="qc.sig",
                                 tested_at=NOW))


@dataclass(frozen=True)
class WorldSpec:
    add: Callable[[World, int, int], Awaitable[None]]
    setup: Callable[[World], Awaitable[None]] | None = None


WORLDS = {
    "plant": WorldSpec(plant_add, plant_setup),
    "audit": WorldSpec(audit_add),
    "users": WorldSpec(users_add),
    "signatures": WorldSpec(signatures_add),
    "tokens": WorldSpec(tokens_add),
    "plasma": WorldSpec(plasma_add, plasma_setup),
    "notices": WorldSpec(notices_add, notices_setup),
    "video": WorldSpec(video_add),
    "alarms": WorldSpec(alarms_add, alarms_setup),
    "stations": WorldSpec(stations_add),
    "recipes": WorldSpec(recipes_add),
    "phases": WorldSpec(phases_add),
    "running": WorldSpec(running_add),
    "materials": WorldSpec(materials_add),
    "review": WorldSpec(review_add),
    "intermediates": WorldSpec(intermediates_add),
    "packaging": WorldSpec(packaging_add),
    "picking": WorldSpec(picking_add, picking_setup),
    "specifications": WorldSpec(specifications_add),
    "tests": WorldSpec(lab_add, lab_setup),
    "samples": WorldSpec(samples_add, samples_setup),
    "reagents": WorldSpec(reagents_add),
    "worklist": WorldSpec(worklist_add, worklist_setup),
    "documents": WorldSpec(documents_add),
    "oos": WorldSpec(oos_add, oos_setup),
    "instruments": WorldSpec(instruments_add, instruments_setup),
}


# --- the probes: a query of one world and the list paths it measures -------------------------------------

SENSOR = "tag name kind unit value quality sourceTime"
PLANT = (f"id code areas {{ code roomCodes }} rooms {{ code equipment {{ code status sensors {{ {SENSOR} }} }} "
         f"sensors {{ {SENSOR} }} }}")
STORAGE = ("storage { location roomCode sensorTag since limit highLimit excursions conforming reasons "
           "temperatures(maxPoints: 200) { time value min max } }")
UNIT = f"donationNumber materialCode status poolCode donorCardNumber station {{ code }} {STORAGE}"
GRAPH = "nodes { id kind code label status } edges { source target kind } summary { kind count } truncated"
CLIP = ("id cameraCode roomCode startedAt status retention { retentionClass retainUntil purgeable } "
        "links { evidenceId recordKind recordRef linkedBy }")
PLANT_PATHS = ("areas", "rooms", "rooms.equipment", "rooms.equipment.sensors", "rooms.sensors")
GRAPH_PATHS = ("nodes", "edges", "summary")


@dataclass(frozen=True)
class Probe:
    world: str
    user: str
    query: str
    paths: tuple[str, ...]
    variables: Callable[[World], dict[str, Any]] = lambda _w: {}


RECIPE = ("code version status phases { code after materials { code quantity } parameters { name low high } "
          "controls { name low } }")
RECIPE_PATHS = ("phases", "phases.materials", "phases.parameters", "phases.controls")

SAMPLE_LIFE = "code retainUntil storage { excursions reasons } history { kind at by test { item reviewedBy } }"
PROBES = {
    "sample": Probe("samples", "qa.one", f'{{ sample(code: "SQ-0") {{ {SAMPLE_LIFE} }} }}', ("sample.history",)),
    "samples": Probe("samples", "qa.one", f'{{ samples(batchNumber: "BQ-S") {{ {SAMPLE_LIFE} }} }}',
                     ("samples", "samples.history")),
    "retainedSamplesDue": Probe("samples", "qa.one", "{ retainedSamplesDue(withinDays: 100) { daysLeft sample { "
                                                     f"{SAMPLE_LIFE} }} }} }}",
                                ("retainedSamplesDue", "retainedSamplesDue.sample.history")),
    "plants": Probe("plant", "op.one", f"{{ plants {{ {PLANT} }} }}", ("plants", *(f"plants.{p}" for p in
                                                                                    PLANT_PATHS))),
    "plant": Probe("plant", "op.one", f"query($id: ID!) {{ plant(id: $id) {{ {PLANT} }} }}",
                   tuple(f"plant.{p}" for p in PLANT_PATHS), lambda w: {"id": w.state["plant"]}),
    "equipment": Probe("plant", "op.one", f'{{ equipment(code: "EQ-1") {{ code sensors {{ {SENSOR} }} }} }}',
                       ("equipment.sensors",)),
    "equipmentLogbook": Probe("plant", "op.one", '{ equipmentLogbook(code: "EQ-1") { at kind text by batchNumber } }',
                              ("equipmentLogbook",)),
    "auditTrail": Probe("audit", "audit.one", """{ auditTrail(filter: {entity: "qcount"}, first: 100) { totalCount
        edges { cursor node { id occurredAt actor action entity entityId changes reason hash prevHash } } } }""",
                        ("auditTrail.edges",)),
    "verifyAuditChain": Probe("audit", "audit.one", """{ verifyAuditChain { ok checked rowsChecked mismatchCount
        mismatches(first: 1000) { entity entityId column audited current problem } } }""",
                              ("verifyAuditChain.mismatches",)),
    "configurationAt": Probe("plant", "qa.one", "query($at: DateTime!) { configurationAt(at: $at) { alarmRules { "
                                                "tag highLimit } } }", ("configurationAt.alarmRules",),
                             lambda _w: {"at": (NOW + timedelta(days=1)).isoformat()}),
    "recordDestructions": Probe("audit", "audit.one", "{ recordDestructions { id tombstones { id } } }",
                                ("recordDestructions", "recordDestructions.tombstones")),
    "auditReviews": Probe("audit", "audit.one", "{ auditReviews { id reviewer counts { what count } "
                                                "deviationNumber } }", ("auditReviews", "auditReviews.counts")),
    "systemTrailSummary": Probe("audit", "audit.one", "query($f: DateTime!, $t: DateTime!) { systemTrailSummary("
                                                      "periodFrom: $f, periodTo: $t) { events counts { what count } "
                                                      "} }",
                                ("systemTrailSummary.counts",),
                                lambda _w: {"f": (NOW - timedelta(days=1)).isoformat(),
                                            "t": (NOW + timedelta(days=1)).isoformat()}),
    "users": Probe("users", "audit.one", "{ users { username displayName active roles organisation } }", ("users",)),
    "signatures": Probe("signatures", "qa.one", """query($e: String!, $id: String!) { signatures(entity: $e,
        entityId: $id) { id operation meaning signer printedName signedAt algorithm certificateFingerprint } }""",
                        ("signatures",), lambda w: {"e": w.state["entity"], "id": w.state["entityId"]}),
    "scopedTokens": Probe("tokens", "qa.one", "{ scopedTokens { id holder issuedBy purpose scope validFrom "
                                              "expiresAt revokedAt lastUsedAt } }", ("scopedTokens",)),
    "plasmaUnit": Probe("plasma", "qa.one", f'{{ plasmaUnit(donationNumber: "DQ-U0") {{ {UNIT} }} }}',
                        ("plasmaUnit.storage.temperatures",)),
    "donor.units": Probe("plasma", "qa.one", f'{{ donor(cardNumber: "DQ") {{ cardNumber units {{ {UNIT} }} }} }}',
                         ("donor.units", "donor.units.storage.temperatures")),
    "donor.lookback": Probe("plasma", "qa.one",
                            f'{{ donor(cardNumber: "DQ") {{ cardNumber lookback(days: 60) {{ {UNIT} }} }} }}',
                            ("donor.lookback", "donor.lookback.storage.temperatures")),
    "batches": Probe("plasma", "qa.one", "{ batches(first: 100) { totalCount edges { node { batchNumber product "
                                         "status startedAt poolCodes } } } }", ("batches.edges",)),
    "traceBackward": Probe("plasma", "qa.one", f'{{ traceBackward(code: "PQ-1") {{ {GRAPH} }} }}',
                           tuple(f"traceBackward.{p}" for p in GRAPH_PATHS)),
    "traceForward": Probe("plasma", "qa.one", f'{{ traceForward(code: "DQ") {{ {GRAPH} }} }}',
                          tuple(f"traceForward.{p}" for p in GRAPH_PATHS)),
    "lookbackImpact": Probe("plasma", "qa.one", f'{{ lookbackImpact(cardNumber: "DQ") {{ windowUnits pools '
                                                f'batches graph {{ {GRAPH} }} }} }}',
                            tuple(f"lookbackImpact.graph.{p}" for p in GRAPH_PATHS)),
    "plasmaTestTasks": Probe("plasma", "qa.one", "{ plasmaTestTasks(openOnly: false) { subject test status "
                                                 "result } }", ("plasmaTestTasks",)),
    "retests": Probe("plasma", "qa.one", '{ retests(donationNumber: "DQ-U0") { test result value method kitLot '
                                         'instrument analyst testedAt reviewedBy source } }', ("retests",)),
    "sensorHistory": Probe("plasma", "qa.one", """query($f: DateTime!, $t: DateTime!) { sensorHistory(
        tag: "CSQ-TT-101", from: $f, to: $t, maxPoints: 200) { time value min max count } }""", ("sensorHistory",),
                           lambda _w: {"f": (NOW - timedelta(hours=2)).isoformat(), "t": NOW.isoformat()}),
    "recipes": Probe("recipes", "qa.one", f"{{ recipes {{ {RECIPE} }} }}",
                     ("recipes", *(f"recipes.{p}" for p in RECIPE_PATHS))),
    "recipe": Probe("recipes", "qa.one", f"query($c: String!) {{ recipe(code: $c) {{ {RECIPE} }} }}",
                    tuple(f"recipe.{p}" for p in RECIPE_PATHS), lambda w: {"c": w.state["recipe"]}),
    "batchPhases": Probe("phases", "qa.one", '{ batchPhases(batchNumber: "BQ-P") { phaseCode status equipmentCode '
                                             'parameters { name value within } controls { name value } } }',
                         ("batchPhases", "batchPhases.parameters", "batchPhases.controls")),
    "runningPhases": Probe("running", "qa.one", "{ runningPhases { batchNumber phaseCode phaseName equipmentCode "
                                               "roomCode } }", ("runningPhases",)),
    "pickingList": Probe("picking", "qa.one", '{ pickingList(code: "PK-Q") { code poolCode picked lines { '
                                              'donationNumber donorCardNumber stationCode location picked } } }',
                         ("pickingList.lines",)),
    "pickingLists": Probe("picking", "qa.one", "{ pickingLists { code poolCode picked lines { donationNumber "
                                               "donorCardNumber stationCode unitStatus } } }",
                          ("pickingLists", "pickingLists.lines")),
    "specifications": Probe("specifications", "qa.one", "{ specifications { code version status items { name low "
                                                        "rounding } } }", ("specifications", "specifications.items")),
    "specification": Probe("specifications", "qa.one", "query($c: String!) { specification(code: $c) { code items { "
                                                       "name unit } } }", ("specification.items",),
                           lambda w: {"c": w.state["specification"]}),
    "batchTests": Probe("tests", "qa.one", '{ batchTests(batchNumber: "BQ-T") { id status results { item reported '
                                         'inputs { name value } } } }', ("batchTests", "batchTests.results")),
    "productQualityReview": Probe(
        "tests", "qa.one", f'{{ productQualityReview(product: "{ALBUMIN}", year: {NOW.year}) {{ '
        'batches { batchNumber } batchesByStatus { count } deviations { number } trends { item points { value } } '
        '} }', tuple(f"productQualityReview.{p}" for p in (
            "batches", "batchesByStatus", "deviations", "trends", "trends.points"))),
    "tracePushes": Probe("tests", "qa.one", "{ tracePushes { batchNumber status attempts payload } }",
                         ("tracePushes",)),
    "testReports": Probe("tests", "qa.one", "query($id: Int!) { testReports(recordId: $id) { version status "
                                            "supersedes } }", ("testReports",),
                         lambda w: {"id": w.state["reportRecord"]}),
    "qcWorklist": Probe("worklist", "qc.sig", "{ qcWorklist { records { record { id results { item inputs { name } } "
                                              "} missingItems { name inputs } } startable { batchNumber stage items "
                                              "{ name } } } }",
                        ("qcWorklist.records", "qcWorklist.records.record.results", "qcWorklist.startable")),
    "qcReviewQueue": Probe("worklist", "qcr.sig", "{ qcReviewQueue { toReview { id results { item inputs { name } } } "
                                                  "toIssue { reportStatus record { id results { item inputs { name "
                                                  "} } } } } }",
                           ("qcReviewQueue.toReview", "qcReviewQueue.toReview.results", "qcReviewQueue.toIssue",
                            "qcReviewQueue.toIssue.record.results")),
    "instrumentRun": Probe("instruments", "qa.one", "query($id: Int!) { instrumentRun(id: $id) { id rawFile { sha256 } "
                                                   "wells { position } processings { number wells { position } } "
                                                   "poolResults { poolCode units } } }",
                           ("instrumentRun.processings", "instrumentRun.poolResults"),
                           lambda w: {"id": w.state["instrumentRun"]}),
    "poolTests": Probe("instruments", "qa.one", '{ poolTests(poolCode: "PQ-1") { poolKind units result } }',
                       ("poolTests",)),
    "testRecord": Probe("tests", "qa.one", "query($id: Int!) { testRecord(id: $id) { id results { item inputs { name "
                                           "} } } }", ("testRecord.results",),
                        lambda w: {"id": w.state["testRecord"]}),
    "controlledDocuments": Probe("documents", "qa.one", "{ controlledDocuments { code version status roles } }",
                                 ("controlledDocuments",)),
    "documentsDueForReview": Probe("documents", "qa.one", "{ documentsDueForReview { code reviewDue } }",
                                   ("documentsDueForReview",)),
    "documentCopies": Probe("documents", "qa.one", '{ documentCopies(code: "QD-0") { copyNumber status } }',
                            ("documentCopies",)),
    "trainingRecords": Probe("documents", "qa.one", "{ trainingRecords { username documentCode assessment } }",
                             ("trainingRecords",)),
    "trainingMatrix": Probe("documents", "qa.one", "{ trainingMatrix { role documents { code version } } }",
                            ("trainingMatrix", "trainingMatrix.documents")),
    "trainingGaps": Probe("documents", "qa.one", "{ trainingGaps { username role state document { code } } }",
                          ("trainingGaps",)),
    "changeRequests": Probe("documents", "qa.one", "{ changeRequests { number status targets { kind code } } }",
                            ("changeRequests", "changeRequests.targets")),
    "materialLots": Probe("materials", "qa.one", "{ materialLots { code lotNumber status label { lines { value } } } }",
                          ("materialLots",)),
    "batchWeighings": Probe("materials", "qa.one", '{ batchWeighings(batchNumber: "BQ-W") { materialLotCode net '
                                                   'scaleCode label { lines { value } } } }',
                            ("batchWeighings",)),
    "batchReview": Probe("review", "qa.one", '{ batchReview(batchNumber: "BQ-R") { total blockers items { key kind '
                                            'summary reviewed } } }', ("batchReview.items",)),
    "intermediates": Probe("intermediates", "qa.one", '{ intermediates(location: "R1") { code location expired '
                                                      'label { lines { value } } } }', ("intermediates",)),
    "intermediateMovements": Probe("intermediates", "qa.one", 'query($c: String!) { intermediateMovements(code: $c) '
                                                              '{ kind at by quantity } }', ("intermediateMovements",),
                                   lambda w: {"c": w.state["intermediate"]}),
    "packagingRecord": Probe("packaging", "qa.one", '{ packagingRecord(lotNumber: "BQ-L1") { status checklist { item } '
                                                    'materials { code issued balanced } } }',
                             ("packagingRecord.materials",)),
    "plasmaStations": Probe("stations", "qa.one", "{ plasmaStations { code name province } }",
                            ("plasmaStations",)),
    "myCertificates": Probe("stations", "op.one", "{ myCertificates { fingerprint algorithm notAfter } }",
                            ("myCertificates",)),
    "stationNotices": Probe("notices", "log.sig", "{ stationNotices { id stationCode kind donationNumber "
                                                  "donorCardNumber reason createdAt } }", ("stationNotices",)),
    "cameras": Probe("video", "qa.one", "{ cameras { code roomCode active keyPosts { code name category } } }",
                     ("cameras", "cameras.keyPosts")),
    "keyPosts": Probe("video", "qa.one", "{ keyPosts { code name category roomCode cameraCodes } }", ("keyPosts",)),
    "keyPostCoverage": Probe("video", "qa.one", "{ keyPostCoverage { complete keyPosts { code cameraCodes } "
                                                "unmapped { code cameraCodes } } }",
                             ("keyPostCoverage.keyPosts", "keyPostCoverage.unmapped")),
    "videoClips": Probe("video", "qa.one",
                        f"{{ videoClips(first: 100) {{ totalCount edges {{ node {{ {CLIP} }} }} }} }}",
                        ("videoClips.edges", "videoClips.edges.node.links")),
    "videoClip": Probe("video", "qa.one", f"query($id: Int!) {{ videoClip(id: $id) {{ {CLIP} }} }}",
                       ("videoClip.links",), lambda w: {"id": w.state["clip"]}),
    "reagents": Probe("reagents", "qa.one", "{ reagents { code status movements { kind by } } }",
                      ("reagents", "reagents.movements")),
    "reagent": Probe("reagents", "qa.one", '{ reagent(code: "QR-0") { code movements { kind by } } }',
                     ("reagent.movements",)),
    # node(id:) answers through the type's own query (schema/node_query.py): the same statements as it.
    "node.Donor": Probe("plasma", "qa.one", f"query($id: ID!) {{ node(id: $id) {{ ... on Donor {{ cardNumber "
                                            f"units {{ {UNIT} }} lookback(days: 60) {{ {UNIT} }} }} }} }}",
                        ("node.units", "node.units.storage.temperatures", "node.lookback",
                         "node.lookback.storage.temperatures"), lambda _w: {"id": to_global_id("Donor", "DQ")}),
    "node.PlasmaUnit": Probe("plasma", "qa.one", f"query($id: ID!) {{ node(id: $id) {{ ... on PlasmaUnit {{ {UNIT} "
                                                 "} } }", ("node.storage.temperatures",),
                             lambda _w: {"id": to_global_id("PlasmaUnit", "DQ-U0")}),
    "node.Equipment": Probe("plant", "op.one", f"query($id: ID!) {{ node(id: $id) {{ ... on Equipment {{ code "
                                               f"sensors {{ {SENSOR} }} }} }} }}", ("node.sensors",),
                            lambda _w: {"id": to_global_id("Equipment", "EQ-1")}),
    "node.SampleInfo": Probe("samples", "qa.one", f"query($id: ID!) {{ node(id: $id) {{ ... on SampleInfo {{ "
                                                  f"{SAMPLE_LIFE} }} }} }}", ("node.history",),
                             lambda _w: {"id": to_global_id("SampleInfo", "SQ-0")}),
    "node.ReagentLot": Probe("reagents", "qa.one", "query($id: ID!) { node(id: $id) { ... on ReagentLot { code "
                                                   "movements { kind by } } } }", ("node.movements",),
                             lambda _w: {"id": to_global_id("ReagentLot", "QR-0")}),
    "reagentReminders": Probe("reagents", "qa.one", "{ reagentReminders { code due dueOn daysLeft } }",
                              ("reagentReminders",)),
    # As a caller allowed to read plasma units: for one who is not, affectedUnits is null on every alarm
    # and each refusal is audited on its own (Context.require), three statements per alarm listed.
    "oos": Probe("oos", "qa.one", """query($id: Int!) { oos(id: $id) { oos { number } batch { batchNumber }
        samples { code } reagents { code lotNumber } environment { tag points { time value } } ootAlerts { rules }
        capas { number overdue } } }""", ("oos.samples", "oos.reagents", "oos.environment", "oos.capas"),
                 lambda w: {"id": w.state["oos"]}),
    "oosRecords": Probe("oos", "qa.one", '{ oosRecords(batchNumber: "BQ-O") { number batchNumber item } }',
                        ("oosRecords",)),
    "controlChart": Probe("oos", "qa.one", '{ controlChart(specificationCode: "SQ-O", item: "Item 0", last: 100) { '
                                           'mean points { batchNumber value rules } } }', ("controlChart.points",)),
    "ootAlerts": Probe("oos", "qa.one", "{ ootAlerts(last: 100) { batchNumber rules } }", ("ootAlerts",)),
    "capas": Probe("oos", "qa.one", "{ capas(overdueOnly: true) { number oosNumber overdue } }", ("capas",)),
    "alarmShelves": Probe("alarms", "qa.one", "{ alarmShelves { id tag until } }", ("alarmShelves",)),
    "alarms": Probe("alarms", "qa.one", """{ alarms(first: 100) { totalCount edges { node { id source condition
        priority state tag roomCode equipmentCode message value peak raisedAt clearedAt affectedUnits } } } }""",
                    ("alarms.edges",)),
    "tabletTasks": Probe("alarms", "qa.one", "{ tabletTasks { kind title roomCode dueAt alarmId } }",
                         ("tabletTasks",)),
    "coldRoomChecks": Probe("alarms", "qa.one", """{ coldRoomChecks(roomCode: "CSA", first: 100) { totalCount
        edges { node { id roomCode temperature sensorTag sensorValue conforming checkedBy checkedAt } } } }""",
                            ("coldRoomChecks.edges",)),
}
GUARD = {path: name for name, p in PROBES.items() for path in p.paths}


def list_paths() -> set[str]:
    """Every list-of-objects field reachable from Query, by its path of field names."""
    found: set[str] = set()

    def is_list(t: GraphQLOutputType) -> bool:
        return isinstance(t.of_type if isinstance(t, GraphQLNonNull) else t, GraphQLList)

    def walk(t: GraphQLObjectType, path: str, seen: frozenset[str]) -> None:
        for name, f in t.fields.items():
            named = get_named_type(f.type)
            # An interface (node: Node) reaches the lists of every type that implements it.
            kinds = [named] if isinstance(named, GraphQLObjectType) else \
                schema.get_possible_types(named) if isinstance(named, GraphQLInterfaceType) else []
            for obj in kinds:
                if obj.name not in seen:
                    here = f"{path}.{name}" if path else name
                    if is_list(f.type):
                        found.add(here)
                    walk(obj, here, seen | {obj.name})

    schema = build_schema()._schema
    query = schema.query_type
    assert query is not None
    walk(query, "", frozenset())
    return found


def test_every_list_field_is_guarded() -> None:
    paths = list_paths()
    assert not set(GUARD) & set(EXEMPT)
    assert paths - set(GUARD) - set(EXEMPT) == set(), "list fields without a query-count probe (add one to PROBES)"
    assert set(GUARD) | set(EXEMPT) <= paths, "probes for paths the schema no longer has"


def lengths(data: Any, path: str) -> list[int]:
    level = [data]
    for name in path.split("."):
        level = [item[name] for v in level for item in (v if isinstance(v, list) else [v]) if item is not None]
    return [len(v) for v in level]


async def measure(w: World, counter: Statements, probe: Probe) -> tuple[list[str], dict[str, Any]]:
    me = await w.client(probe.user)
    w.svc.policy_checked = -math.inf  # the periodic policy re-check runs in every measured request alike
    counter.seen.clear()
    body = await me(probe.query, probe.variables(w))
    sent = list(counter.seen)
    assert "errors" not in body, body
    return sent, body["data"]


@pytest.mark.parametrize("world", sorted(WORLDS))
async def test_statements_do_not_grow_with_the_objects_listed(env: Any, world: str) -> None:
    gql, signers, db = env
    w, spec = World(gql, signers, db), WORLDS[world]
    probes = {name: p for name, p in PROBES.items() if p.world == world}
    if spec.setup is not None:
        await spec.setup(w)
    counter = Statements(db)
    try:
        await spec.add(w, 0, 1)
        one = {name: await measure(w, counter, p) for name, p in probes.items()}
        await spec.add(w, 1, N - 1)
        many = {name: await measure(w, counter, p) for name, p in probes.items()}
    finally:
        counter.close()
    for name, p in probes.items():
        for path in p.paths:
            few, lots = lengths(one[name][1], path), lengths(many[name][1], path)
            assert few and max(few) >= 1, (path, few)
            assert max(lots) >= (max(few) if path.rsplit(".", 1)[-1] in FIXED else N), (path, lots)
        print(f"{name}: {len(one[name][0])} statements for 1, {len(many[name][0])} for {N}")
    grown = {name: (len(one[name][0]), len(many[name][0])) for name in probes
             if len(one[name][0]) != len(many[name][0])}
    extra = {name: Counter(many[name][0]) - Counter(one[name][0]) for name in grown}
    assert not grown, f"statements grow with the objects listed: {grown}, the extra ones: {extra}"


async def test_the_batches_answer_each_key_as_it_would_alone(db: Database) -> None:
    """The batch functions behind the loaders, on SQLite and PostgreSQL: keys in any order, repeated or
    unknown, each answered as a batch of that key alone would answer it. The units of a cold store
    arrive a multiple of the gap grid apart (15 minutes), so sharing the store's record changes nothing."""
    now = datetime.now(UTC)  # not the module's NOW: the storage record is judged up to the real present
    await add_tiny_plant(db)
    await donor(db, "DB")
    await cold_store(db, "CSB")
    await cold_store(db, "CSC")
    start = now - timedelta(hours=7)
    async with db.write(SYSTEM) as s:
        d = (await s.execute(select(Donor).where(Donor.card_number == "DB"))).scalar_one()
        sensors = dict((await s.execute(select(Sensor.tag, Sensor.id))).all())
        for i, (room, received) in enumerate([("CSB", 6 * 60), ("CSB", 5 * 60 + 45), ("CSB", 60), ("CSC", 90),
                                              (None, None)]):
            s.add(PlasmaUnit(donation_number=f"DB-U{i}", donor_id=d.id, station_id=d.station_id, blood_type="A",
                             collected_on=(now - timedelta(days=i)).date(), weight_g=600, status="QUARANTINED",
                             received_at=now - timedelta(minutes=received) if received else None,
                             storage_location=f"{room}-R01-P{i}" if room else None))
        rows = []
        for minute in range(0, 7 * 60, 5):
            t = start + timedelta(minutes=minute, seconds=97)  # off the bucket edges (float julianday in SQLite)
            if not 3 * 60 <= minute < 5 * 60:  # CSB's record has a two-hour hole, and two warm readings
                rows.append({"sensor_id": sensors["CSB-TT-101"], "source_time": t, "received_at": t, "quality": "GOOD",
                             "value": -20.0 if minute in (65, 400) else -31.0})
            rows.append({"sensor_id": sensors["CSC-TT-101"], "source_time": t, "received_at": t, "quality": "GOOD",
                         "value": -31.0})
        await s.execute(insert(SensorReading), rows)
        s.add_all([Alarm(source="LIMIT", condition="HIGH", priority="HIGH", state="CLEARED", message=f"alarm {i}",
                         began_at=now, raised_at=now) for i in range(2)])
    async with db.write(SYSTEM) as s:
        unit_ids = list((await s.execute(select(PlasmaUnit.id).order_by(PlasmaUnit.id))).scalars())
        alarm_ids = list((await s.execute(select(Alarm.id).order_by(Alarm.id))).scalars())
        await s.execute(insert(alarm_unit), [{"alarm_id": alarm_ids[1], "plasma_unit_id": u} for u in unit_ids[2:0:-1]])

    async def both(batch: Any, keys: list[Any]) -> tuple[list[Any], list[Any]]:
        async with db.read() as s:
            return list(await batch(s, keys)), [(await batch(s, [k]))[0] for k in keys]

    keys = [*unit_ids[::-1], unit_ids[0], -1]
    together, alone = await both(storage.storage_by_unit_ids, keys)
    assert together[:-1] == alone[:-1] and isinstance(together[-1], AppError) and isinstance(alone[-1], AppError)
    first, _, late, other, nowhere = together[4], together[3], together[2], together[1], together[0]
    assert first.excursions == 2 and any("1 gaps" in r for r in first.reasons), first
    assert late.excursions == 1 and late.reasons == ["1 readings above -25.0 °C while stored"], late
    assert other.conforming and nowhere.reasons == ["not in storage yet"], (other, nowhere)

    windows = [Window("CSB-TT-101", start, now, 1000), Window("CSC-TT-101", start, now, 10), Window("NOPE", start,
               now, 10), Window("CSB-TT-101", start, now, 1), Window("CSB-TT-101", start + timedelta(hours=1), now, 5)]
    together, alone = await both(histories, windows)
    assert together[:2] + together[4:] == alone[:2] + alone[4:]
    assert len(together[0]) == 60 and len(together[1]) == 10 and sum(p.count for p in together[1]) == 84
    assert [e.extensions["code"] for e in together[2:4]] == ["NOT_FOUND", "VALIDATION_FAILED"]

    together, alone = await both(alarms.units_by_alarm_ids, [alarm_ids[1], alarm_ids[0], alarm_ids[1], -1])
    assert together == alone == [["DB-U1", "DB-U2"], [], ["DB-U1", "DB-U2"], []]
    async with db.read() as s:
        donor_id = (await s.execute(select(Donor.id).where(Donor.card_number == "DB"))).scalar_one()
    together, alone = await both(plasma.units_by_donor_ids, [-1, donor_id])
    assert [[u.donation_number for u in units] for units in together] == [[], [f"DB-U{i}" for i in range(4, -1, -1)]]
    assert [[u.id for u in units] for units in together] == [[u.id for u in units] for units in alone]
