"""What runs where: the running phases with batch, equipment and room for the control room's map,
filtered by room, left out of a scoped token's view when their batch is out of its scope."""

from __future__ import annotations

from typing import Any

from tests.attack.signed_cases.base import World
from tests.signing_env import issue_token
from tests.test_phases import CHECKED, _batch, _complete, _readings, _start

RUNNING = """query($room: String) { runningPhases(roomCode: $room) { batchNumber product phaseCode phaseName
  equipmentCode roomCode startedBy } }"""


async def test_a_started_phase_shows_in_its_room_until_it_completes(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _batch(w)
    op = await gql.sign_in("op.one")
    assert (await op(RUNNING, {"room": None}))["data"]["runningPhases"] == []
    assert "errors" not in await _start(w, "MIX", "EQ-1", CHECKED)
    running = (await op(RUNNING, {"room": None}))["data"]["runningPhases"]
    assert running == [{"batchNumber": "EX-1", "product": running[0]["product"], "phaseCode": "MIX", "phaseName": "Mix",
                        "equipmentCode": "EQ-1", "roomCode": "R1", "startedBy": "op.one"}]
    assert (await op(RUNNING, {"room": "R1"}))["data"]["runningPhases"] == running
    assert (await op(RUNNING, {"room": "R9"}))["data"]["runningPhases"] == []

    station = await gql.sign_in("st.sig")  # a plasma station's partner does not read production
    assert (await station(RUNNING, {"room": None}))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    elsewhere = await issue_token(gql, signers, "reg.one", batchNumbers=["OTHER-1"])
    assert (await elsewhere(RUNNING, {"room": None}))["data"]["runningPhases"] == []
    this_batch = await issue_token(gql, signers, "reg.one", batchNumbers=["EX-1"])
    assert [p["batchNumber"] for p in (await this_batch(RUNNING, {"room": None}))["data"]["runningPhases"]] == ["EX-1"]

    await _readings(w, 5.0)
    done = await _complete(w, {"phaseCode": "MIX", "controls": [{"name": "pH", "value": 7.0}], "output": 96,
                               "losses": 2})
    assert "errors" not in done, done
    assert (await op(RUNNING, {"room": None}))["data"]["runningPhases"] == []
