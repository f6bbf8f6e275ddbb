"""Signed-mutation cases: work on the floor (samples, cold rooms, alarms, line clearance), the QP's
batch release and scoped tokens."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from demo import ca as demo_ca
from policies import pki
from records.alarms import Alarm
from records.audit import AuditContext
from records.plant import Room, Sensor
from records.plasma import Batch, Sample
from tests.attack.signed_cases.base import Case, World
from tests.attack.signed_cases.plasma import cold_store


async def _batch(w: World, number: str, status: str = "IN_PROGRESS") -> None:
    async with w.db.write(AuditContext("test", reason="test batch")) as s:
        s.add(Batch(batch_number=number, product="Human Albumin 20%", status=status))


# --- cases -----------------------------------------------------------------------------------------

async def _sample(w: World) -> dict[str, Any]:
    await _batch(w, "B-SP-1")
    return {"sourceCode": "B-SP-1", "kind": "IPC", "storageLocation": "QC fridge 2"}


async def _cold_room_check(w: World) -> dict[str, Any]:
    await cold_store(w, "CS7")
    return {"roomCode": "CS7", "temperature": -30.5, "doorClosed": True}


async def _destroy(w: World) -> dict[str, Any]:
    """An in-process sample (not a retained one: kept by its own procedure, destroyed when done)."""
    await w.call("qc.sig", "recordSample", await _sample(w))
    async with w.db.read() as s:
        code = (await s.execute(select(Sample.code).where(Sample.id == select(func.max(Sample.id)).scalar_subquery()))
                ).scalar_one()
    return {"code": code, "reason": "IPC done (SOP-QC-021)"}


async def _taken(w: World, *steps: tuple[str, dict[str, Any]]) -> str:
    """An in-process sample recorded through the API, then taken through `steps` (operation, input without code)."""
    await w.call("qc.sig", "recordSample", await _sample(w))
    async with w.db.read() as s:
        code = (await s.execute(select(Sample.code).where(Sample.id == select(func.max(Sample.id)).scalar_subquery()))
                ).scalar_one()
    for op, inp in steps:
        await w.call("qc.sig", op, {"code": code, **inp})
    return str(code)


RECEIPT = {"quantity": 20, "unit": "mL", "condition": "sealed, 5 °C"}


async def _receive(w: World) -> dict[str, Any]:
    return {"code": await _taken(w), **RECEIPT}


async def _store(w: World) -> dict[str, Any]:
    return {"code": await _taken(w, ("receiveSample", RECEIPT)), "location": "QC fridge 2",
            "conditions": "2-8 °C", "temperatureLow": 2.0, "temperatureHigh": 8.0}


async def _dispose(w: World) -> dict[str, Any]:
    return {"code": await _taken(w, ("receiveSample", RECEIPT)), "method": "autoclaved", "site": "QC waste room",
            "reason": "IPC done (SOP-QC-021)"}


async def _alarm(w: World) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with w.db.write(AuditContext("test", reason="test alarm")) as s:
        room = (await s.execute(select(Room.id).where(Room.code == "R1"))).scalar_one()
        a = Alarm(source="LIMIT", condition="HIGH", priority="HIGH", state="ACTIVE", tag="R1-TT-101", room_id=room,
                  message="R1-TT-101 above high limit", value=9.0, limit_value=8.0, peak=9.0,
                  began_at=now - timedelta(minutes=2), raised_at=now - timedelta(minutes=1))
        s.add(a)
        await s.flush()
        alarm_id = a.id
    return {"id": alarm_id, "handling": "Door found ajar; closed it"}


async def _alarms(w: World) -> dict[str, Any]:
    """Three standing alarms, acknowledged together."""
    ids = [(await _alarm(w))["id"] for _ in range(3)]
    return {"ids": ids, "handling": "Flood after the door was left open; closed it, all three returned to normal"}


async def _shelf(w: World) -> dict[str, Any]:
    async with w.db.write(AuditContext("test", reason="test tag")) as s:
        room = (await s.execute(select(Room.id).where(Room.code == "R1"))).scalar_one()
        if (await s.execute(select(Sensor.id).where(Sensor.tag == "R1-SHELF-TT"))).first() is None:
            s.add(Sensor(tag="R1-SHELF-TT", name="Chattering probe", kind="temperature", unit="C", room_id=room,
                         high_limit=8.0))
    return {"tag": "R1-SHELF-TT", "minutes": 60, "reason": "probe chattering until replaced"}


async def _unshelf(w: World) -> dict[str, Any]:
    await w.call("op.one", "shelveAlarm", await _shelf(w))
    return {"tag": "R1-SHELF-TT", "reason": "probe replaced"}


async def _escalation(w: World) -> dict[str, Any]:
    alarm = await _alarm(w)
    return {"alarmId": alarm["id"], "emergencyMeasures": "room door closed, temperature watched"}


async def _release(w: World) -> dict[str, Any]:
    """A batch under review, its release document prepared by the QP (sealed with the organisation's
    key, as tests/test_release.py does) and the document's bytes signed with the QP's key."""
    await _batch(w, "B-REL-1", "UNDER_REVIEW")
    await w.call("qa.sig", "concludeBatchReview", {"batchNumber": "B-REL-1", "opinion": "record complete"}, "REVIEWED")
    org = demo_ca.write_pki(w.signers.directory, [("organisation", "Demo Biologics (synthetic)", "ES256")])[
        "organisation"]
    services = w.gql.client.app_services  # type: ignore[attr-defined]
    services.org_key, services.org_cert = org.key_pem, org.cert_pem
    qp = await w.gql.sign_in("qp.sig")
    body = await qp("mutation($b:String!){prepareRelease(batchNumber:$b){documentId algorithm toSign}}",
                    {"b": "B-REL-1"})
    assert "errors" not in body, body
    prepared = body["data"]["prepareRelease"]
    cms = pki.sign_bytes(w.signers.keys["qp.sig"].key_pem, prepared["algorithm"],
                         base64.b64decode(prepared["toSign"]))
    return {"documentId": prepared["documentId"], "cmsSignature": base64.b64encode(cms).decode()}


async def _token(_: World) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"holder": "reg.one", "readOnly": True, "stations": [], "products": ["Human Albumin 20%"],
            "batchNumbers": [], "distributors": [], "validFrom": (now - timedelta(minutes=1)).isoformat(),
            "validUntil": (now + timedelta(days=30)).isoformat(), "purpose": "annual inspection"}


async def _clearance(w: World) -> dict[str, Any]:
    await _batch(w, "B-LC-1")
    return {"roomCode": "R1", "batchNumber": "B-LC-1", "processStep": "filling",
            "checklist": [{"item": "No materials of the previous batch", "result": "PASS"},
                          {"item": "Line and equipment clean", "result": "PASS"}]}


CASES: dict[str, Case] = {
    "recordSample": Case("qc.sig", _sample),
    "recordColdRoomCheck": Case("op.one", _cold_room_check),
    "destroySample": Case("qc.sig", _destroy),
    "receiveSample": Case("qc.sig", _receive),
    "storeSample": Case("qc.sig", _store),
    "disposeSample": Case("qc.sig", _dispose),
    "acknowledgeAlarm": Case("op.one", _alarm, "ACKNOWLEDGED"),
    "acknowledgeAlarms": Case("op.one", _alarms, "ACKNOWLEDGED"),
    "shelveAlarm": Case("op.one", _shelf),
    "unshelveAlarm": Case("op.one", _unshelf),
    "escalateAlarm": Case("op.one", _escalation),
    "completeRelease": Case("qp.sig", _release, "RELEASED"),
    "issueScopedToken": Case("qa.sig", _token, "APPROVED"),
    "recordLineClearance": Case("op.one", _clearance, second=("sup.rsa", "VERIFIED")),
}
