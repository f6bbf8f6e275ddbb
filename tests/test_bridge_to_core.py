"""The production path: MQTT broker -> device bridge (its own buffer) -> HTTP /ingest -> core storage.
A core outage in the middle loses nothing and doubles nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import websockets
from sqlalchemy import func, select

from device_bridge.config import MqttConfig
from device_bridge.runner import Bridge
from device_bridge.sink import HttpSink
from records.audit import AuditContext
from records.db import Database
from records.migrate import upgrade
from records.plant import Room, Sensor
from records.readings import SensorReading
from subscriptions.topics import SENSOR_TOPIC
from tests import services
from tests.conftest import add_users, make_settings, start_live_server, token_at
from tests.signing_env import add_tiny_plant

pytestmark = pytest.mark.mosquitto
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
TAGS = ("R1-TT-101", "R1-MT-101")


async def _seed(url: str) -> None:
    from api.seed import seed_roles

    db = Database(url)
    await seed_roles(db)
    await add_users(db)
    await add_tiny_plant(db)
    async with db.write(AuditContext("system", reason="test sensors")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        s.add_all([Sensor(tag=t, name=t, kind="temperature", unit="°C", room_id=room.id) for t in TAGS])
    await db.dispose()


async def _watch(core: Any, token: str, seen: list[float]) -> None:
    """A control-room client: every reading that reaches the core reaches this subscriber."""
    async with websockets.connect(core.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        await ws.recv()
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": "subscription{sensorUpdates{tag value}}"}}))
        async for raw in ws:
            msg = json.loads(raw)
            if msg.get("type") == "next":
                seen.append(msg["payload"]["data"]["sensorUpdates"]["value"])


async def _publish(port: int, start: int, n: int) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier="test-publisher") as client:
        for i in range(start, start + n):
            for tag in TAGS:
                payload = {"value": 20 + i / 10, "timestamp": (T0 + timedelta(seconds=i)).isoformat(),
                           "quality": "GOOD"}
                await client.publish(f"S1/A1/R1/_/{tag}", json.dumps(payload), qos=1)


async def _until(check: Any, what: str, within: float = 15) -> None:
    for _ in range(int(within / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_core_outage_loses_and_doubles_nothing(mosquitto_server: services.Process, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'core.db'}"
    await asyncio.to_thread(upgrade, url)
    await _seed(url)
    core = await asyncio.to_thread(start_live_server, make_settings(url))
    port = int(core.url.rsplit(":", 1)[1])
    db = Database(url)

    async def stored() -> int:
        async with db.read() as s:
            return int((await s.execute(select(func.count()).select_from(SensorReading))).scalar_one())

    sink = HttpSink(core.url, await token_at(core.url, "bridge.one"), timeout=2.0, bridge="test")
    bridge = Bridge("test", sink, tmp_path / "buffer.db", retry_initial=0.05, retry_max=0.5, owns_sink=True)
    bridge.add_mqtt(MqttConfig(url=f"mqtt://127.0.0.1:{mosquitto_server.port}", topic="S1/#",
                               client_id="test-bridge"))
    await bridge.start()
    seen: list[float] = []
    bus = core.app.state.services.bus
    listeners = bus.subscriber_count(SENSOR_TOPIC)  # the node's own (the twin's) before the client's
    watcher = asyncio.create_task(_watch(core, await token_at(core.url, "op.one"), seen))
    try:
        async def subscribed() -> bool:  # the watcher's subscription is registered on the core's bus
            return bool(bus.subscriber_count(SENSOR_TOPIC) > listeners)

        await _until(subscribed, "the control-room client's subscription")
        await asyncio.sleep(0.5)  # the bridge's MQTT subscription
        await _publish(mosquitto_server.port, 0, 20)

        async def first_stored() -> bool:
            await core_flush(core)
            return await stored() == 40

        await _until(first_stored, "the first 40 readings in storage")

        async def all_seen() -> bool:
            return len(seen) == 40

        await _until(all_seen, "the 40 readings at a subscriber")
        watcher.cancel()

        core.server.should_exit = True  # the core goes away
        await asyncio.to_thread(core.thread.join, 10)
        await _publish(mosquitto_server.port, 20, 20)

        async def buffered() -> bool:
            return bool(bridge.status()["bufferDepth"] == 40)

        await _until(buffered, "40 readings buffered during the outage")
        assert bridge.status()["lastForwardError"]

        core = await asyncio.to_thread(start_live_server, make_settings(url), port)  # back on the same port

        async def all_stored() -> bool:
            await core_flush(core)
            return await stored() >= 80 and bridge.status()["bufferDepth"] == 0

        await _until(all_stored, "the buffered readings replayed")
        assert isinstance(core.app.state.services.bridges.get("test"), int)  # the bridge reports its buffer
    finally:
        await bridge.stop()
        core.server.should_exit = True
        await asyncio.to_thread(core.thread.join, 10)
    async with db.read() as s:
        rows = (await s.execute(select(Sensor.tag, SensorReading.source_time, SensorReading.value).join(
            Sensor, Sensor.id == SensorReading.sensor_id).order_by(SensorReading.source_time, Sensor.tag))).all()
    await db.dispose()
    assert len(rows) == 80 and len({(t, st) for t, st, _ in rows}) == 80  # nothing lost, nothing doubled
    assert rows[-1][2] == pytest.approx(23.9) and rows[0][1] == T0


async def core_flush(core: Any) -> None:
    """Ask the core's recorder to write what it holds (it batches every half second)."""
    rec = core.app.state.recorder if hasattr(core.app.state, "recorder") else None
    if rec is not None and core.loop is not None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(rec.flush(), core.loop))
