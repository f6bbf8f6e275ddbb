"""The device bridge's serial source: a weighing scale speaking MT-SICS, here demo.scale's responder on a
pseudo-terminal, read by the real connector (pyserial) inside a whole Bridge (buffer, forwarder, sink).

The scale gives no time, so a reading's sourceTime is the bridge's receive time (README, Readings)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from api.seed import seed_roles
from demo.scale import ScaleSimulator
from demo.signals import Signal
from demo.simulator import Simulator
from device_bridge.config import ConfigError, SerialConfig, parse_config
from device_bridge.model import format_time, utc_now
from device_bridge.mtsics import Reply, parse_reply
from device_bridge.runner import Bridge
from device_bridge.sink import MemorySink
from records.audit import AuditContext
from records.db import Database
from records.migrate import upgrade
from records.plant import Room, Sensor
from records.readings import SensorReading
from tests import services
from tests.conftest import add_users, make_settings, start_live_server, token_at
from tests.signing_env import add_tiny_plant

TAG = "RCV-BAL-01-WT-01"


async def until(cond: Callable[[], Any], within: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# ---- the protocol ------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "unit", "expected"), [
    ("S S      12.345 kg", "kg", Reply("GOOD", 12.345, "stable 12.345 kg")),
    ("S D      12.351 kg\r\n", "kg", Reply("UNCERTAIN", 12.351, "dynamic 12.351 kg")),
    ("S S   12345.0 g", "kg", Reply("GOOD", 12.345, "stable 12345.0 g")),
    ("S S      -0.012 kg", "g", Reply("GOOD", -12.0, "stable -0.012 kg")),
    ("S S     52.50 mg", "g", Reply("GOOD", 0.0525, "stable 52.50 mg")),
    ("S I", "kg", Reply("BAD", None, "not executable (busy or no stability)")),
    ("S +", "kg", Reply("BAD", None, "overload")),
    ("S -", "kg", Reply("BAD", None, "underload")),
    ("ES", "kg", Reply("BAD", None, "syntax error")),
    ("EL", "kg", Reply("BAD", None, "logical error")),
])
def test_mtsics_replies(line: str, unit: str, expected: Reply) -> None:
    assert parse_reply(line, unit) == expected


@pytest.mark.parametrize(("line", "message"), [
    ("", "not an MT-SICS weight reply"),
    ("S S  12,345 kg", "not an MT-SICS weight reply"),
    ("S X      12.345 kg", "not an MT-SICS weight reply"),
    ("S S      12.345", "not an MT-SICS weight reply"),
    ("S S         12 PCS", "not a mass unit"),
    ("I4 A \"B021002593\"", "not an MT-SICS weight reply"),
])
def test_mtsics_refuses_what_is_not_a_weight(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_reply(line, "kg")


# ---- the configuration -------------------------------------------------------------------------

BASE = {"bridge": {"name": "b1", "buffer": "buf.db"}}


def test_serial_config_defaults_and_mistakes() -> None:
    cfg = parse_config({**BASE, "serial": [{"port": "/dev/ttyUSB0", "tag": TAG}]})
    assert cfg.serial == (SerialConfig("/dev/ttyUSB0", TAG),)
    assert cfg.serial[0].command == "SI" and cfg.serial[0].unit == "kg" and cfg.serial[0].framing == "8N1"
    bridge = Bridge.from_config(cfg, sink=MemorySink())
    assert [c.kind for c in bridge.connectors] == ["serial"]
    for entry, message in [
        ({"port": "/dev/ttyUSB0"}, r"\[\[serial\]\] #1: missing required key 'tag'"),
        ({"port": "/dev/ttyUSB0", "tag": TAG, "unit": "pcs"}, r"\[\[serial\]\] #1\.unit must be one of mg, g, kg"),
        ({"port": "/dev/ttyUSB0", "tag": TAG, "command": "SIR"}, r"\.command must be one of S, SI"),
        ({"port": "/dev/ttyUSB0", "tag": TAG, "framing": "9N1"}, r"\.framing must be one of 8N1"),
        ({"port": "/dev/ttyUSB0", "tag": TAG, "xonxoff": "yes"}, r"\.xonxoff must be true or false"),
        ({"port": "/dev/ttyUSB0", "tag": TAG, "baud": 9600}, r"unknown key\(s\) baud"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_config({**BASE, "serial": [entry]})
    with pytest.raises(ConfigError, match="port values must differ"):
        parse_config({**BASE, "serial": [{"port": "COM3", "tag": "A"}, {"port": "COM3", "tag": "B"}]})


# ---- the connector against the pty scale ---------------------------------------------------------


@pytest_asyncio.fixture
async def scale(tmp_path: Path) -> AsyncIterator[ScaleSimulator]:
    async with ScaleSimulator(tmp_path / "ttyScale", weight=18.25) as sim:
        yield sim


def new_bridge(tmp_path: Path, sink: MemorySink, scale: ScaleSimulator, **serial: Any) -> Bridge:
    bridge = Bridge("serial-test", sink, tmp_path / "buffer.db", stale_after=0.8, retry_initial=0.02,
                    retry_max=0.2, reconnect_initial=0.1, reconnect_max=0.3)
    bridge.add_serial(SerialConfig(str(scale.link), TAG, **{"interval": 0.05, "timeout": 0.3, **serial}))
    return bridge


def status(bridge: Bridge) -> dict[str, Any]:
    return dict(bridge.status()["connectors"][0])


async def test_scale_readings_quality_units_and_malformed_lines(scale: ScaleSimulator, tmp_path: Path) -> None:
    sink = MemorySink()
    bridge = new_bridge(tmp_path, sink, scale)
    before = format_time(utc_now())
    async with bridge:
        await until(lambda: len(sink.of(TAG)) >= 3, what="stable readings")
        after = format_time(utc_now())
        first = sink.of(TAG)[0]
        assert first["value"] == 18.25 and first["quality"] == "GOOD"
        # no device time in MT-SICS: stamped when the reply was received, strictly increasing
        assert before < first["sourceTime"] < after
        times = [r["sourceTime"] for r in sink.of(TAG)]
        assert times == sorted(set(times))
        assert status(bridge)["state"] == "connected" and status(bridge)["lastReply"] == "stable 18.250 kg"
        assert scale.commands[0] == "SI"

        scale.state = "dynamic"
        await until(lambda: sink.of(TAG)[-1]["quality"] == "UNCERTAIN", what="dynamic reading")
        assert sink.of(TAG)[-1]["value"] == 18.25
        for state in ("overload", "underload", "busy"):
            scale.state = state
            await until(lambda: sink.of(TAG)[-1]["quality"] == "BAD", what=f"{state} reading")
            assert sink.of(TAG)[-1]["value"] is None
            scale.state = "stable"
            await until(lambda: sink.of(TAG)[-1]["quality"] == "GOOD", what="stable again")

        # a line that is not MT-SICS is counted, logged and skipped; the next reply is read as usual
        count = len(sink.of(TAG))
        scale.send_raw(b"\x15\xfe#?? 18.2\r\n")
        await until(lambda: status(bridge)["malformed"] == 1, what="malformed line counted")
        assert "not an MT-SICS weight reply" in status(bridge)["lastMalformed"]
        await until(lambda: len(sink.of(TAG)) > count + 2, what="readings after the garbage")

        # the scale shows grams; the tag is configured in kilograms
        scale.unit, scale.weight, scale.decimals = "g", 18250.0, 1
        await until(lambda: status(bridge)["lastReply"] == "stable 18250.0 g", what="gram reply")
        await until(lambda: bridge.status()["bufferDepth"] == 0, what="buffer drained")
    assert {r["value"] for r in sink.of(TAG) if r["quality"] == "GOOD"} == {18.25}
    assert {r["quality"] for r in sink.of(TAG)} == {"GOOD", "UNCERTAIN", "BAD"}
    assert sink.duplicates == 0 and bridge.status()["malformed"] == 1
    assert status(bridge)["state"] == "stopped"


async def test_a_vanished_port_and_a_silent_scale_reconnect(scale: ScaleSimulator, tmp_path: Path) -> None:
    sink = MemorySink()
    bridge = new_bridge(tmp_path, sink, scale)
    async with bridge:
        await until(lambda: status(bridge)["state"] == "connected", what="connected")
        await until(lambda: len(sink.of(TAG)) >= 2, what="readings")

        scale.unplug()  # the USB adapter is pulled
        await until(lambda: status(bridge)["state"] == "reconnecting", what="reconnecting")
        assert "port" in status(bridge)["lastError"]
        # silent longer than stale_after: one STALE reading with the last value
        await until(lambda: sink.of(TAG)[-1]["quality"] == "STALE", what="STALE reading")
        assert sink.of(TAG)[-1]["value"] == 18.25 and status(bridge)["staleTags"] == [TAG]
        await asyncio.sleep(0.5)
        assert status(bridge)["state"] == "reconnecting"  # the port is still away: retried with backoff
        assert status(bridge)["attempts"] >= 2

        scale.weight = 18.5
        scale.plug()  # the same port name comes back
        await until(lambda: sink.of(TAG)[-1]["value"] == 18.5, what="readings after the replug")
        assert status(bridge)["state"] == "connected" and status(bridge)["reconnects"] == 1
        assert status(bridge)["staleTags"] == []

        # the cable is there but the scale does not answer: reconnect until it does
        scale.state = "silent"
        await until(lambda: status(bridge)["state"] == "reconnecting", within=5, what="silence noticed")
        assert "no reply to SI" in status(bridge)["lastError"]
        scale.state = "stable"
        await until(lambda: status(bridge)["state"] == "connected", what="answering again")
        assert status(bridge)["reconnects"] == 2
    history = [h["state"] for h in status(bridge)["history"]]
    assert history[:4] == ["connecting", "connected", "reconnecting", "connected"]
    assert sink.duplicates == 0


# ---- PR-02: a network and a serial source into the core, from one configuration file ---------------


OPCUA_TAG = "R1-TT-301"


async def _seed(url: str) -> None:
    db = Database(url)
    await seed_roles(db)
    await add_users(db)
    await add_tiny_plant(db)
    async with db.write(AuditContext("system", reason="test sensors")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        s.add_all([Sensor(tag=OPCUA_TAG, name="Room temperature", kind="temperature", unit="°C", room_id=room.id),
                   Sensor(tag=TAG, name="Carton weight", kind="weight", unit="kg", room_id=room.id)])
    await db.dispose()


@pytest.mark.req("PR-02")
async def test_one_bridge_ingests_opcua_and_a_serial_scale_into_the_core(scale: ScaleSimulator,
                                                                          tmp_path: Path) -> None:
    """The core's configured bridge reads an OPC UA server (Ethernet) and an RS-232 scale (here on a pty)
    side by side; both land in the core's storage and twin. A scale reading in grams is stored in the
    tag's kilograms; an overload is stored as BAD without a value."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'core.db'}"
    await asyncio.to_thread(upgrade, url)
    await _seed(url)
    scale.unit, scale.weight, scale.decimals = "g", 18250.0, 1
    sim = Simulator([Signal(OPCUA_TAG, "temperature", 21, 18, 24)], interval=0.1, seed=1,
                    opcua_endpoint=f"opc.tcp://127.0.0.1:{services.free_port()}/plasmatwin/test")
    await sim.start()
    config = tmp_path / "bridge.toml"
    config.write_text(f"""
[bridge]
name = "pr02"
buffer = "bridge-buffer.db"
[[opcua]]
endpoint = "{sim.opcua_endpoint}"
publishing_interval_ms = 100
[[opcua.tags]]
node = "{sim.node_id(OPCUA_TAG)}"
tag = "{OPCUA_TAG}"
[[serial]]
port = "{scale.link}"
tag = "{TAG}"
unit = "kg"
interval = 0.1
timeout = 0.5
""")
    live = await asyncio.to_thread(start_live_server, replace(make_settings(url), bridge_config=config))
    db = Database(url)
    try:
        token = await token_at(live.url, "op.one")
        values: dict[str, float | None] = {}
        async with httpx.AsyncClient(base_url=live.url, headers={"authorization": f"Bearer {token}"}) as c:
            deadline = time.monotonic() + 20
            while None in (values.get(OPCUA_TAG), values.get(TAG)) and time.monotonic() < deadline:
                body = (await c.post("/graphql", json={"query": "{plants{rooms{sensors{tag value}}}}"})).json()
                values = {s["tag"]: s["value"] for p in body["data"]["plants"] for r in p["rooms"]
                          for s in r["sensors"]}
                await asyncio.sleep(0.2)
        temperature = values[OPCUA_TAG]
        assert values[TAG] == 18.25 and temperature is not None and 17 <= temperature <= 25

        scale.state = "overload"

        async def stored() -> list[tuple[float | None, str]]:
            async with db.read() as s:
                rows = await s.execute(select(SensorReading.value, SensorReading.quality).join(Sensor)
                                       .where(Sensor.tag == TAG).order_by(SensorReading.source_time))
                return [(v, q) for v, q in rows.all()]

        for _ in range(100):  # the core stores readings in batches
            rows = await stored()
            if rows and rows[-1] == (None, "BAD"):
                break
            await asyncio.sleep(0.1)
        assert rows[0] == (18.25, "GOOD") and rows[-1] == (None, "BAD")
        assert {q for _, q in rows} <= {"GOOD", "BAD"}
    finally:
        await db.dispose()
        live.server.should_exit = True
        await asyncio.to_thread(live.thread.join, 10)
        await sim.stop()
