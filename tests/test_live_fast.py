"""Hot subscriptions answered by projection send exactly what the executor sends, shared by every
subscriber of a query; a subscriber that falls behind on plantState gets a fresh snapshot."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets

from demo.plant import DEMO_PLANT
from demo.seed import seed_plant
from records.db import Database
from resolvers import identity
from resolvers.context import Context
from resolvers.live import BEHIND, PlantStateHub
from tests.conftest import LiveServer, token_at
from twin.state import Quality

PROTO = "graphql-transport-ws"
PLAIN = "subscription{plantState(plantId:\"1\", intervalMs: 50){snapshot sensors{tag value quality} equipment{code}}}"
TYPED = PLAIN.replace("{snapshot", "{__typename snapshot")
TAGS = 'subscription{s: sensorUpdates(tags:["CS1-TT-101"]){tag value sourceTime}}'


async def _ws(live: LiveServer, token: str, subs: dict[str, str]) -> Any:
    ws = await websockets.connect(live.ws_url, subprotocols=[PROTO])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    for sid, q in subs.items():
        await ws.send(json.dumps({"id": sid, "type": "subscribe", "payload": {"query": q}}))
    return ws


_held: dict[tuple[int, str], list[dict[str, Any]]] = {}


async def _next(ws: Any, sid: str) -> dict[str, Any]:
    """The next payload of one subscription; frames of the connection's other subscriptions are kept."""
    while not _held.get((id(ws), sid)):
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert msg["type"] == "next", msg
        _held.setdefault((id(ws), msg["id"]), []).append(dict(msg["payload"]))
    return _held[(id(ws), sid)].pop(0)


def _strip(payload: dict[str, Any]) -> dict[str, Any]:
    for v in payload["data"].values():
        v.pop("__typename", None)
    return payload


async def test_projected_frames_equal_the_executors(live_server: LiveServer) -> None:
    url = live_server.app.state.settings.database_url
    db = Database(url)
    await seed_plant(db, DEMO_PLANT)
    await db.dispose()
    token = await token_at(live_server.url, "op.one")
    twin = live_server.app.state.services.twin
    live_server.call(twin.ingest, "CS1-TT-101", -30.0, Quality.GOOD, datetime.now(UTC) - timedelta(seconds=9))
    await asyncio.sleep(0.1)
    fast = await _ws(live_server, token, {"p": PLAIN, "t": TAGS})
    slow = await _ws(live_server, token, {"p": TYPED, "t": TAGS.replace("{tag", "{__typename tag")})
    try:
        first_fast, first_slow = await _next(fast, "p"), _strip(await _next(slow, "p"))
        assert first_fast == first_slow and first_fast["data"]["plantState"]["snapshot"] is True
        assert {"tag": "CS1-TT-101", "value": -30.0, "quality": "GOOD"} in first_fast["data"]["plantState"]["sensors"]
        await asyncio.sleep(0.3)
        live_server.call(twin.ingest, "CS1-TT-101", -29.5, Quality.UNCERTAIN, datetime.now(UTC))
        delta_fast, delta_slow = await _next(fast, "p"), _strip(await _next(slow, "p"))
        assert delta_fast == delta_slow
        assert delta_fast["data"]["plantState"]["sensors"] == [{"tag": "CS1-TT-101", "value": -29.5,
                                                                 "quality": "UNCERTAIN"}]
        reading_fast, reading_slow = await _next(fast, "t"), _strip(await _next(slow, "t"))
        assert reading_fast == reading_slow and reading_fast["data"]["s"]["value"] == -29.5
    finally:
        await fast.close()
        await slow.close()


async def test_a_subscriber_that_falls_behind_gets_a_snapshot(env: Any) -> None:
    gql, _, db = env
    svc = gql.client.app_services
    await seed_plant(db, DEMO_PLANT)
    principal = await identity.principal_for(db, (await gql.sign_in("op.one")).token)
    ctx = Context(svc, principal, "127.0.0.1")
    hub = PlantStateHub()
    plant_id = 2  # the tiny test plant is 1; the demo plant seeded second
    stream = hub.stream(ctx, plant_id, 0.01, lambda m: m)
    assert (await anext(stream)).snapshot is True
    for i in range(BEHIND * 3):  # the subscriber reads nothing while many deltas are built
        svc.twin.ingest("CS1-TT-101", float(i), Quality.GOOD)
        await asyncio.sleep(0.02)
    caught_up = await anext(stream)
    assert caught_up.snapshot is True
    assert [r.value for r in caught_up.readings if r.tag == "CS1-TT-101"] == [float(BEHIND * 3 - 1)]
    await stream.aclose()
    assert not hub.channels and svc.bus.subscriber_count() == 0
