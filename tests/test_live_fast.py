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


async def test_pushed_readings_arrive_in_order_and_stop_at_complete(live_server: LiveServer) -> None:
    """sensorUpdates is pushed (no stream per subscriber): every reading in publish order, nothing after
    the client completes the operation, and the publisher never waits for the socket."""
    url = live_server.app.state.settings.database_url
    db = Database(url)
    await seed_plant(db, DEMO_PLANT)
    await db.dispose()
    token = await token_at(live_server.url, "op.one")
    twin = live_server.app.state.services.twin
    ws = await _ws(live_server, token, {"t": TAGS})
    try:
        await asyncio.sleep(0.2)
        start = datetime.now(UTC)

        def burst() -> None:
            for i in range(20):
                twin.ingest("CS1-TT-101", -30.0 + i / 10, Quality.GOOD, start + timedelta(milliseconds=i))

        live_server.call(burst)
        values = [(await _next(ws, "t"))["data"]["s"]["value"] for _ in range(20)]
        assert values == [-30.0 + i / 10 for i in range(20)]
        await ws.send(json.dumps({"id": "t", "type": "complete"}))
        await asyncio.sleep(0.2)
        live_server.call(twin.ingest, "CS1-TT-101", 1.0, Quality.GOOD, start + timedelta(seconds=1))
        with_timeout = asyncio.wait_for(ws.recv(), 0.5)
        try:
            extra = await with_timeout
        except TimeoutError:
            extra = None
        assert extra is None, f"a frame after complete: {extra}"
    finally:
        await ws.close()


async def test_a_client_that_does_not_read_loses_its_oldest_frames_not_the_servers_memory() -> None:
    from api.outbox import Outbox
    from subscriptions.bus import Bus

    bus = Bus(queue_size=4)
    sent: list[str] = []
    gate = asyncio.Event()

    async def send(frame: str) -> None:
        await gate.wait()  # a client that does not read: the socket's buffer is full
        sent.append(frame)

    class Op:
        completed = False

    op, gone = Op(), Op()
    box = Outbox(send, bus.queue_size, bus.count_dropped)
    box.operations = 1
    box.put(op, "f0")
    await asyncio.sleep(0)  # the writer took f0 and waits on the socket
    for i in range(1, 10):
        box.put(op, f"f{i}")
    box.put(gone, "of a completed operation")
    gone.completed = True
    assert len(box.frames) <= 4 and bus.dropped_total == box.dropped > 0
    gate.set()
    await asyncio.sleep(0.05)
    assert sent[0] == "f0" and sent[-1] == "f9" and len(sent) <= 5
    assert sent == sorted(sent, key=lambda f: int(f[1:]))  # the newest kept, in order
    assert "of a completed operation" not in sent
    await box.close()


async def test_a_burst_in_one_turn_reaches_a_client_that_reads_whole() -> None:
    """The bound is for clients that do not read: forty readings of one tag applied in one turn (an
    /ingest chunk) all reach a subscriber whose socket takes them, one write or many."""
    from api.outbox import Outbox

    class Op:
        completed = False

    for batching in (False, True):
        sent: list[str] = []

        async def one(frame: str, sent: list[str] = sent) -> None:
            sent.append(frame)

        async def many(frames: Any, sent: list[str] = sent) -> None:
            sent.extend(frames)

        box = Outbox(one, 4, None, many if batching else None)
        box.operations = 1
        op = Op()
        for i in range(40):
            box.put(op, f"f{i}")
        await asyncio.sleep(0.05)
        assert sent == [f"f{i}" for i in range(40)] and box.dropped == 0, batching
        await box.close()


async def test_a_batching_server_gets_every_waiting_frame_in_one_write_in_order() -> None:
    """Where the server offers one write for many frames (api/ws_protocol.py), the outbox hands it all
    that waits, in order, without the frames of completed operations, and the bound still holds."""
    from api.outbox import Outbox

    writes: list[list[str]] = []
    gate = asyncio.Event()

    async def one(frame: str) -> None:
        raise AssertionError("the per-frame path is not used when the server batches")

    async def many(frames: Any) -> None:
        await gate.wait()
        writes.append(list(frames))

    class Op:
        completed = False

    op, gone = Op(), Op()
    box = Outbox(one, 4, None, many)
    box.operations = 2
    box.put(op, "f0")
    await asyncio.sleep(0)  # the writer took f0 and waits on the socket
    for i in range(1, 12):
        box.put(op, f"f{i}")
    box.put(gone, "g")
    gone.completed = True
    gate.set()
    await asyncio.sleep(0.05)
    assert writes[0] == ["f0"]
    assert len(writes) == 2 and "g" not in writes[1] and len(writes[1]) <= 8 and writes[1][-1] == "f11"
    assert writes[1] == sorted(writes[1], key=lambda f: int(f[1:])) and box.dropped > 0
    await box.close()


async def test_a_reading_that_cannot_be_rendered_ends_the_pushed_stream_with_an_error(
        live_server: LiveServer, monkeypatch: Any) -> None:
    """A bug in rendering never reaches the twin's ingest: the operation ends with a masked error."""
    import schema.live

    url = live_server.app.state.settings.database_url
    db = Database(url)
    await seed_plant(db, DEMO_PLANT)
    await db.dispose()

    def broken(r: Any) -> Any:
        raise RuntimeError("secret detail of a bug")

    engine = live_server.app.router.routes[0].app.http.engine
    stream, _, feed = schema.live.LIVE_FIELDS["sensorUpdates"]
    monkeypatch.setitem(engine.live.registry, "sensorUpdates", (stream, broken, feed))
    token = await token_at(live_server.url, "op.one")
    twin = live_server.app.state.services.twin
    query = 'subscription{s: sensorUpdates(tags:["CS1-TT-102"]){tag value}}'  # a plan made after the patch
    ws = await _ws(live_server, token, {"t": query})
    try:
        await asyncio.sleep(0.2)
        outcome: list[Any] = []

        def take() -> None:
            try:
                outcome.append(twin.ingest("CS1-TT-102", 2.0, Quality.GOOD, datetime.now(UTC)))
            except Exception as exc:  # what the test looks for: none may reach the ingest
                outcome.append(exc)

        live_server.call(take)
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert len(outcome) == 1 and outcome[0].value == 2.0, outcome  # the ingest itself went through
        assert msg["type"] == "next" and "errors" in msg["payload"], msg
        assert msg["payload"]["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert "secret" not in json.dumps(msg)
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"id": "t", "type": "complete"}
    finally:
        await ws.close()
