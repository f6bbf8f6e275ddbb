"""A plant's layout is entered through the API (not only by the demo seeder): rooms, equipment and
sensors with their alarm limits, signed by the administrator and approved by QA; the twin takes the
new tags at once."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select

from api.app import reload_layout
from records.plant import Equipment, Plant, Room, Sensor
from records.signature import ESignature
from twin.recorder import Recorder

IMPORT = """mutation($input: ImportPlantLayoutInput!, $sig: SignatureInput!, $approval: SignatureInput!) {
  importPlantLayout(input: $input, signature: $sig, approval: $approval) { code rooms equipment sensors } }"""

LAYOUT: dict[str, Any] = {
    "siteCode": "S2", "siteName": "Second site", "code": "P2", "name": "Fill and finish", "width": 40, "height": 20,
    "reason": "new building qualified (IQ/OQ report IQ-17)",
    "areas": [{"code": "F", "name": "Filling", "rooms": [
        {"code": "F101", "name": "Filling room", "grade": "B", "polygon": [[0, 0], [20, 0], [20, 20], [0, 20]],
         "sensors": [{"tag": "F101-PDT-101", "name": "Pressure to corridor", "kind": "differential_pressure",
                      "unit": "Pa", "lowLimit": 10}],
         "equipment": [{"code": "FL-1", "name": "Filling line", "kind": "filler", "x": 10, "y": 10, "sensors": [
             {"tag": "F101-WT-201", "name": "Fill weight", "kind": "weight", "unit": "g", "lowLimit": 49.0,
              "highLimit": 51.0, "alarmDelayS": 0, "alarmPriority": "HIGH"}]}]},
        {"code": "F102", "name": "Capping", "grade": "C", "polygon": [[20, 0], [40, 0], [40, 20], [20, 20]]}]}],
}


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _import(gql: Any, signers: Any, inp: dict[str, Any], admin: str = "adm.sig",
                  approver: str = "qa.sig") -> Any:
    me = await gql.sign_in(admin)
    return await me(IMPORT, {"input": inp, "sig": signers.sign(admin, "importPlantLayout", inp),
                             "approval": signers.sign(approver, "importPlantLayout", inp, "APPROVED")})


async def _count(db: Any, model: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_layout_becomes_the_plant_and_its_tags_are_live(env: Any) -> None:
    gql, signers, db = env
    body = await _import(gql, signers, LAYOUT)
    assert body["data"]["importPlantLayout"] == {"code": "P2", "rooms": 2, "equipment": 1, "sensors": 2}, body
    async with db.read() as s:
        plant = (await s.execute(select(Plant).where(Plant.code == "P2"))).scalar_one()
        weight = (await s.execute(select(Sensor).where(Sensor.tag == "F101-WT-201"))).scalar_one()
        filler = (await s.execute(select(Equipment).where(Equipment.code == "FL-1"))).scalar_one()
        room = (await s.execute(select(Room).where(Room.code == "F101"))).scalar_one()
        meanings = sorted((await s.execute(select(ESignature.meaning).where(
            ESignature.entity == "plant", ESignature.entity_id == str(plant.id)))).scalars())
    assert (weight.equipment_id, weight.room_id, weight.alarm_priority) == (filler.id, room.id, "HIGH")
    assert (room.grade, filler.status) == ("B", "IDLE")
    assert meanings == ["APPROVED", "PERFORMED"]

    op = await gql.sign_in("op.one")
    plants = await op("query($id: ID!) { plant(id: $id) { code rooms { code equipment { code sensors { tag } } } } }",
                      {"id": str(plant.id)})
    assert plants["data"]["plant"]["rooms"][0]["equipment"][0]["sensors"] == [{"tag": "F101-WT-201"}]

    # What every node does on the import's CONFIG_TOPIC event: the new tags are taken and watched.
    services = gql.client.app_services
    recorder = Recorder(db)
    await reload_layout(services, recorder)
    assert "F101-WT-201" in (services.twin.tags or set()) and "F101-WT-201" in recorder.sensor_ids
    rule = services.alarms.engine.rules["F101-WT-201"]
    assert (rule.low, rule.high, rule.priority) == (49.0, 51.0, "HIGH")


async def test_refusals_name_the_problem_and_write_nothing(env: Any) -> None:
    gql, signers, db = env
    rooms = await _count(db, Room)

    def changed(edit: Any) -> dict[str, Any]:
        inp = copy.deepcopy(LAYOUT)
        edit(inp)
        return inp

    def room(i: dict[str, Any]) -> dict[str, Any]:
        return i["areas"][0]["rooms"][0]

    cases = {
        "outside room": (changed(lambda i: room(i)["equipment"][0].update(x=30)), "not inside room F101"),
        "tag twice": (changed(lambda i: room(i)["sensors"][0].update(tag="F101-WT-201")), "sensor tags"),
        "limits": (changed(lambda i: room(i)["equipment"][0]["sensors"][0].update(lowLimit=60)), "below"),
        "polygon": (changed(lambda i: room(i).update(polygon=[[0, 0], [50, 0], [0, 5]])), "inside the plant"),
        "point": (changed(lambda i: room(i).update(polygon=[[0, 0, 1], [5, 0], [0, 5]])), "[x, y]"),
        "no reason": (changed(lambda i: i.update(reason=" ")), "reason"),
        "room code": (changed(lambda i: room(i).update(code="F 101")), "room code"),
    }
    for name, (inp, words) in cases.items():
        body = await _import(gql, signers, inp)
        assert _code(body) == "VALIDATION_FAILED" and words in body["errors"][0]["message"], (name, body)

    # A code in use anywhere (R1 is the test plant's room) is a conflict.
    taken = changed(lambda i: room(i).update(code="R1"))
    body = await _import(gql, signers, taken)
    assert _code(body) == "CONFLICT" and "R1" in body["errors"][0]["message"], body
    # The administrator cannot approve their own layout; an operator cannot import one.
    body = await _import(gql, signers, LAYOUT, approver="adm.two")
    assert _code(body) == "FORBIDDEN", body
    me = await gql.sign_in("op.one")
    body = await me(IMPORT, {"input": LAYOUT, "sig": signers.sign("op.one", "importPlantLayout", LAYOUT),
                             "approval": signers.sign("qa.sig", "importPlantLayout", LAYOUT, "APPROVED")})
    assert _code(body) == "FORBIDDEN", body
    assert await _count(db, Room) == rooms
    assert await _count(db, Plant) == 1
