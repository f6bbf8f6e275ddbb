"""Tablet work: a sample recorded from a scanned code gets its label; a cold-room check is compared
with the room's sensor; the task list shows cold rooms due and alarms waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from demo.seed import seed_stations
from records.audit import AuditContext
from records.plant import Area, Room, Sensor
from records.plasma import Batch, Donor, PlasmaShipment, PlasmaStation, PlasmaUnit, Sample
from records.quality import ColdRoomCheck
from records.signature import ESignature
from twin.state import Quality

SAMPLE = """mutation($input: RecordSampleInput!, $sig: SignatureInput!){ recordSample(input:$input, signature:$sig){
  code kind sourceCode takenBy storageLocation label{ lines{label value} code128Svg qrSvg } } }"""
CHECK = """mutation($input: ColdRoomCheckInput!, $sig: SignatureInput!){ recordColdRoomCheck(input:$input,
  signature:$sig){ roomCode temperature sensorTag sensorValue doorClosed activeAlarms conforming checkedBy } }"""
TASKS = "{ tabletTasks { kind title roomCode alarmId } }"


@pytest_asyncio.fixture
async def site(env: Any) -> Any:
    gql, signers, db = env
    await seed_stations(db)
    async with db.write(AuditContext("system", reason="test tablet data")) as s:
        area = (await s.execute(select(Area))).scalars().first()
        assert area is not None
        room = Room(area_id=area.id, code="CS7", name="Cold store 7", grade="CNC", polygon=[[0, 0], [1, 1], [0, 1]])
        s.add(room)
        await s.flush()
        s.add(Sensor(tag="CS7-TT-101", name="Air", kind="temperature", unit="°C", room_id=room.id, high_limit=-25.0))
        st = (await s.execute(select(PlasmaStation).where(PlasmaStation.code == "PS-N1"))).scalar_one()
        donor = Donor(card_number="TB-1", station_id=st.id, name="x", blood_type="O", status="ACTIVE")
        shipment = PlasmaShipment(code="SH-TB-1", station_id=st.id, submitted_by="st.one",
                                  submitted_at=datetime.now(UTC), status="RECEIVED")
        s.add_all([donor, shipment])
        await s.flush()
        s.add(PlasmaUnit(donation_number="TB-U1", donor_id=donor.id, station_id=st.id, blood_type="O",
                         collected_on=datetime.now(UTC).date(), weight_g=600, status="QUARANTINED",
                         material_code="PL26110000001"[:11], shipment_id=shipment.id))
        s.add(Batch(batch_number="B-TB-1", product="Human Albumin 20%", status="IN_PROGRESS"))
    return gql, signers, db


async def test_sampling_by_scan_prints_a_label(site: Any) -> None:
    gql, signers, db = site
    qc = await gql.sign_in("qc.sig")
    for code, kind in (("TB-U1", "RETEST"), ("PL261100000", "RETEST"), ("B-TB-1", "IPC")):
        inp: dict[str, Any] = {"sourceCode": code, "kind": kind, "storageLocation": "QC fridge 2"}
        if code != "B-TB-1":  # a plasma sample: its tube scanned against the bag, the bag checked (QC-16)
            inp |= {"tubeCode": "TB-U1", "bagIntact": True}
        out = await qc(SAMPLE, {"input": inp, "sig": signers.sign("qc.sig", "recordSample", inp)})
        assert "errors" not in out, out
        rec = out["data"]["recordSample"]
        assert rec["sourceCode"] == code and rec["takenBy"] == "qc.sig" and rec["code"].startswith("SP")
        assert rec["label"]["code128Svg"].lstrip().startswith("<?xml") or "<svg" in rec["label"]["code128Svg"]
        assert "<svg" in rec["label"]["qrSvg"] and {"label": "From", "value": code} in rec["label"]["lines"]
    async with db.read() as s:
        codes = (await s.execute(select(Sample.code).order_by(Sample.id))).scalars().all()
        sigs = (await s.execute(select(func.count()).select_from(ESignature).where(
            ESignature.entity == "sample"))).scalar_one()
    assert len(set(codes)) == 3 and sigs == 3


async def test_sampling_refusals_write_nothing(site: Any) -> None:
    gql, signers, db = site
    qc = await gql.sign_in("qc.sig")
    unknown = {"sourceCode": "NOPE", "kind": "RETEST"}
    r = await qc(SAMPLE, {"input": unknown, "sig": signers.sign("qc.sig", "recordSample", unknown)})
    assert r["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    blank = {"sourceCode": "  ", "kind": "RETEST"}
    r = await qc(SAMPLE, {"input": blank, "sig": signers.sign("qc.sig", "recordSample", blank)})
    assert r["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    reg = await gql.sign_in("reg.one")
    ok = {"sourceCode": "TB-U1", "kind": "RETEST"}
    r = await reg(SAMPLE, {"input": ok, "sig": signers.sign("qc.sig", "recordSample", ok)})
    assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    r = await qc("mutation($input: RecordSampleInput!){recordSample(input:$input){code}}", {"input": ok})
    assert r["errors"][0]["extensions"]["code"] == "SIGNATURE_REQUIRED"
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(Sample))).scalar_one() == 0


@pytest.mark.req("PR-78", "PL-10")
async def test_cold_room_check_against_the_sensor_and_the_task_list(site: Any) -> None:
    gql, signers, db = site
    svc = gql.client.app_services
    svc.twin.ingest("CS7-TT-101", -31.2, Quality.GOOD, datetime.now(UTC) - timedelta(seconds=5))
    op = await gql.sign_in("op.one")
    tasks = (await op(TASKS))["data"]["tabletTasks"]
    assert {"kind": "COLD_ROOM_CHECK", "title": "Check cold room CS7", "roomCode": "CS7", "alarmId": None} in tasks
    good = {"roomCode": "CS7", "temperature": -30.5, "doorClosed": True}
    out = (await op(CHECK, {"input": good, "sig": signers.sign("op.one", "recordColdRoomCheck", good)}))
    assert out["data"]["recordColdRoomCheck"] == {
        "roomCode": "CS7", "temperature": -30.5, "sensorTag": "CS7-TT-101", "sensorValue": -31.2,
        "doorClosed": True, "activeAlarms": 0, "conforming": True, "checkedBy": "op.one"}
    tasks = (await op(TASKS))["data"]["tabletTasks"]
    assert not [t for t in tasks if t["roomCode"] == "CS7"]  # checked: not due for four hours
    warm = {"roomCode": "CS7", "temperature": -20.0, "doorClosed": False, "note": "door left ajar"}
    bad = (await op(CHECK, {"input": warm, "sig": signers.sign("op.one", "recordColdRoomCheck", warm)}))
    assert bad["data"]["recordColdRoomCheck"]["conforming"] is False
    for inp, code in (({"roomCode": "R1", "temperature": -30.0, "doorClosed": True}, "VALIDATION_FAILED"),
                      ({"roomCode": "NOPE", "temperature": -30.0, "doorClosed": True}, "NOT_FOUND"),
                      ({"roomCode": "CS7", "temperature": 999.0, "doorClosed": True}, "VALIDATION_FAILED")):
        r = await op(CHECK, {"input": inp, "sig": signers.sign("op.one", "recordColdRoomCheck", inp)})
        assert r["errors"][0]["extensions"]["code"] == code, (inp, r)
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(ColdRoomCheck))).scalar_one() == 2
    listed = await op("{coldRoomChecks(roomCode:\"CS7\"){edges{node{temperature conforming}}}}")
    assert [e["node"]["temperature"] for e in listed["data"]["coldRoomChecks"]["edges"]] == [-20.0, -30.5]


async def test_tasks_are_due_on_a_schedule_that_stays_put_and_only_for_who_signs_them(site: Any) -> None:
    """A never-checked cold room is due at the end of the current 4-hour slot, on every refresh; an alarm within
    its priority's response time; each person sees only the tasks their roles sign."""
    from records.alarms import Alarm
    from resolvers.tablet import ACK_WITHIN, slot_end

    gql, _, db = site
    query = "{ tabletTasks { kind roomCode dueAt alarmId } }"
    op = await gql.sign_in("op.one")
    first = (await op(query))["data"]["tabletTasks"]
    again = (await op(query))["data"]["tabletTasks"]
    cs7 = [t for t in first if t["roomCode"] == "CS7" and t["kind"] == "COLD_ROOM_CHECK"]
    assert cs7 and cs7 == [t for t in again if t["roomCode"] == "CS7" and t["kind"] == "COLD_ROOM_CHECK"]
    due = datetime.fromisoformat(cs7[0]["dueAt"])
    now = datetime.now(UTC)
    assert due == slot_end(now) and now < due  # not overdue the moment the shift starts

    raised = now - timedelta(minutes=3)
    async with db.write(AuditContext("system", reason="test alarm")) as s:
        alarm = Alarm(source="LIMIT", condition="HIGH", priority="HIGH", state="ACTIVE", message="CS7 warm",
                      began_at=raised, raised_at=raised)
        s.add(alarm)
        await s.flush()
        alarm_id = alarm.id
    tasks = (await op(query))["data"]["tabletTasks"]
    (ack,) = [t for t in tasks if t["alarmId"] == alarm_id]
    assert datetime.fromisoformat(ack["dueAt"]) == raised + ACK_WITHIN["HIGH"]
    # A QA officer acknowledges alarms but does not check cold rooms: only the alarm is theirs.
    qa = await gql.sign_in("qa.one")
    assert {t["kind"] for t in (await qa(query))["data"]["tabletTasks"]} == {"ALARM_ACK"}
