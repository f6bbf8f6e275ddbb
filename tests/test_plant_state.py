"""plantState: a snapshot of the plant's tags and equipment, then coalesced deltas; other plants' tags
never appear; a slow subscriber costs memory bounded by the plant, not by the event rate."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditContext
from records.plant import Plant, Room, Sensor
from resolvers import identity
from resolvers.context import Context
from schema.root import build_schema
from twin.state import Quality

SUB = """subscription($p: ID!, $ms: Int){ plantState(plantId: $p, intervalMs: $ms){
  snapshot coalesced sensors{ tag value quality } equipment{ code status } } }"""
SET = """mutation($input: SetEquipmentStatusInput!, $sig: SignatureInput!){
  setEquipmentStatus(input:$input, signature:$sig){ equipment { code status } } }"""


async def _open(env: Any, plant_id: int, ms: int = 50) -> Any:
    gql, _, db = env
    svc = gql.client.app_services
    async with db.write(AuditContext("system", reason="test sensors")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        for tag in ("R1-TT-101", "R1-PT-101"):
            s.add(Sensor(tag=tag, name=tag, kind="temperature", unit="°C", room_id=room.id))
    principal = await identity.principal_for(db, (await gql.sign_in("op.one")).token)
    return svc, await build_schema().subscribe(SUB, context_value=Context(svc, principal, "127.0.0.1"),
                                               variable_values={"p": str(plant_id), "ms": ms})


async def _plant_id(db: Any) -> int:
    async with db.read() as s:
        return (await s.execute(select(Plant.id))).scalar_one()


@pytest.mark.req("PR-01", "PR-81")
async def test_snapshot_then_coalesced_deltas(env: Any) -> None:
    gql, signers, db = env
    pid = await _plant_id(db)
    svc, stream = await _open(env, pid)
    svc.twin.ingest("R1-TT-101", 20.0, Quality.GOOD)
    try:
        first = (await anext(stream)).data["plantState"]
        assert first["snapshot"] is True
        assert first["sensors"] == [{"tag": "R1-TT-101", "value": 20.0, "quality": "GOOD"}]  # no value yet: absent
        assert {e["code"]: e["status"] for e in first["equipment"]} == {"EQ-1": "IDLE", "EQ-2": "IDLE",
                                                                          "EQ-3": "IDLE"}
        for i in range(100):
            svc.twin.ingest("R1-TT-101", 21.0 + i, Quality.GOOD)
        svc.twin.ingest("R1-PT-101", 5.0, Quality.UNCERTAIN)
        svc.twin.ingest("OTHER-PLANT-TAG", 1.0, Quality.GOOD)
        delta = (await anext(stream)).data["plantState"]
        assert delta["snapshot"] is False and delta["coalesced"] == 99
        assert sorted((s["tag"], s["value"]) for s in delta["sensors"]) == [("R1-PT-101", 5.0), ("R1-TT-101", 120.0)]
        me = await gql.sign_in("op.one")
        inp = {"code": "EQ-2", "status": "MAINTENANCE", "reason": "seal change"}
        ok = await me(SET, {"input": inp, "sig": signers.sign("op.one", "setEquipmentStatus", inp)})
        assert "errors" not in ok, ok
        eq = (await asyncio.wait_for(anext(stream), 5)).data["plantState"]
        assert eq["equipment"] == [{"code": "EQ-2", "status": "MAINTENANCE"}] and eq["sensors"] == []
    finally:
        await stream.aclose()
    assert svc.bus.subscriber_count() == 0


async def test_unknown_plant_and_bad_id(env: Any) -> None:
    _, stream = await _open(env, 999_999)
    out = await anext(stream)
    assert out.errors[0].extensions["code"] == "NOT_FOUND"
    await stream.aclose()
