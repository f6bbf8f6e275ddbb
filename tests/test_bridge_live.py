"""Device bridge against real servers: the simulator's asyncua server and a real Mosquitto broker.

Every test runs a whole Bridge (connectors -> durable buffer -> forwarder) into a MemorySink that
deduplicates by (tag, sourceTime) like the core and can play a core outage.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import pytest_asyncio

from demo.signals import Signal
from demo.simulator import Simulator
from device_bridge.config import MqttConfig, OpcuaConfig
from device_bridge.model import format_time, utc_now
from device_bridge.runner import Bridge, run_from_config
from device_bridge.sink import MemorySink
from tests import services

OPCUA_SIGNALS = [
    Signal("CS-01-TT-01", "temperature", -30, -35, -25),
    Signal("WFI-01-TT-01", "temperature", 80, 70, 90),
    Signal("CR-01-DP-01", "differential_pressure", 30, 25, 40),
    Signal("TK-01-LT-01", "level", 50, 0, 100),
]
ROOM = "SITE-01/fractionation/CR-02"
MQTT_SIGNALS = [
    Signal("CR-02-TT-01", "temperature", 20, 18, 24, topic=f"{ROOM}/_/CR-02-TT-01"),
    Signal("CR-02-PC05-01", "particles_0_5", 1500, 0, 3520, topic=f"{ROOM}/_/CR-02-PC05-01"),
    Signal("CR-02-DP-01", "differential_pressure", 30, 25, 40, topic=f"{ROOM}/_/DP"),
]


async def until(cond: Callable[[], Any], within: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def new_bridge(tmp_path: Path, sink: MemorySink, name: str = "buffer.db") -> Bridge:
    # short intervals and fast backoff, so outages and recoveries take a fraction of a second
    return Bridge("test-bridge", sink, tmp_path / name, batch_max=100, stale_after=0.6, retry_initial=0.02,
                  retry_max=0.2, reconnect_initial=0.1, reconnect_max=0.4)


def add_opcua(bridge: Bridge, sim: Simulator) -> None:
    assert sim.opcua_endpoint
    # every signal has an OPC UA node; those with a topic are read over MQTT instead
    bridge.add_opcua(OpcuaConfig(sim.opcua_endpoint, {sim.node_id(s.tag): s.tag for s in sim.signals if not s.topic},
                                 publishing_interval_ms=50, probe_interval=0.5, request_timeout=1.0))


def add_mqtt(bridge: Bridge, port: int, client_id: str, stale_after: float | None = None) -> None:
    bridge.add_mqtt(MqttConfig(f"mqtt://127.0.0.1:{port}", "SITE-01/#", client_id, keepalive=5,
                               tags={f"{ROOM}/_/DP": "CR-02-DP-01", "SITE-01/x/CR-01/_/DP": "CR-01-DP-02"},
                               stale_after=stale_after))


def states(bridge: Bridge, i: int = 0) -> list[str]:
    return [h["state"] for h in bridge.status()["connectors"][i]["history"]]


def check_unchanged_and_complete(sink: MemorySink, sim: Simulator, channel: str) -> None:
    """Each reading equals a sample the simulator sent (value, quality, source time), and from a
    tag's first reading to its last, every sample sent in between arrived."""
    sent = [(tag, t, v, q) for ch, tag, t, v, q in sim.sent if ch == channel]
    by_key = {(tag, t): (v, q) for tag, t, v, q in sent}
    got = [r for r in sink.readings if r["quality"] != "STALE" and r["tag"] in {s.tag for s in sim.signals}]
    assert got
    for r in got:
        assert by_key[(r["tag"], r["sourceTime"])] == (r["value"], r["quality"]), r
    for tag in {r["tag"] for r in got}:
        times = [r["sourceTime"] for r in got if r["tag"] == tag]
        assert times == sorted(times), f"{tag} out of order"
        window = [t for tg, t, _, _ in sent if tg == tag and times[0] <= t <= times[-1]]
        assert set(window) <= set(times), f"{tag}: {len(set(window) - set(times))} samples lost"


@pytest_asyncio.fixture
async def opcua_sim() -> AsyncIterator[Simulator]:
    sim = Simulator(OPCUA_SIGNALS, interval=0.05, seed=11,
                    opcua_endpoint=f"opc.tcp://127.0.0.1:{services.free_port()}/plant/")
    await sim.start()
    await until(lambda: sim.sent, what="first samples")
    yield sim
    await sim.stop()


# ---- OPC UA -----------------------------------------------------------------------------------


async def test_opcua_readings_carry_source_time_quality_and_stale_marks(opcua_sim: Simulator, tmp_path: Path) -> None:
    sink = MemorySink()
    bridge = new_bridge(tmp_path, sink)
    add_opcua(bridge, opcua_sim)
    async with bridge:
        await until(lambda: len(sink.of("CS-01-TT-01")) >= 10, what="OPC UA readings")
        assert bridge.status()["connectors"][0]["state"] == "connected"
        # a bad status is marked, not dropped (the server nulls a bad value, per OPC UA)
        opcua_sim.inject("WFI-01-TT-01", "bad")
        await until(lambda: any(r["quality"] == "BAD" for r in sink.of("WFI-01-TT-01")), what="BAD reading")
        opcua_sim.inject("WFI-01-TT-01", None)
        # a sensor that stops reporting gets one STALE reading carrying its last value
        opcua_sim.inject("CR-01-DP-01", "dropout")
        await until(lambda: any(r["quality"] == "STALE" for r in sink.of("CR-01-DP-01")), what="STALE reading")
        dp = sink.of("CR-01-DP-01")
        stale = [r for r in dp if r["quality"] == "STALE"]
        before = [r for r in dp if r["quality"] == "GOOD"][-1]
        assert len(stale) == 1 and stale[0]["value"] == before["value"]
        assert stale[0]["sourceTime"] > before["sourceTime"]
        assert bridge.status()["connectors"][0]["staleTags"] == ["CR-01-DP-01"]
        await asyncio.sleep(0.7)
        assert len([r for r in sink.of("CR-01-DP-01") if r["quality"] == "STALE"]) == 1  # once
        opcua_sim.inject("CR-01-DP-01", None)
        await until(lambda: sink.of("CR-01-DP-01")[-1]["quality"] == "GOOD", what="fresh reading")
        await until(lambda: bridge.status()["connectors"][0]["staleTags"] == [], what="stale cleared")
        await until(lambda: bridge.status()["bufferDepth"] == 0, what="buffer drained")
    check_unchanged_and_complete(sink, opcua_sim, "opcua")
    assert any(r["quality"] == "BAD" and r["value"] is None for r in sink.of("WFI-01-TT-01"))
    assert sink.duplicates == 0
    assert bridge.status()["connectors"][0]["state"] == "stopped"


async def test_opcua_faults_stuck_drift_and_excursion_show_in_the_data(opcua_sim: Simulator, tmp_path: Path) -> None:
    sink = MemorySink()
    bridge = new_bridge(tmp_path, sink)
    add_opcua(bridge, opcua_sim)
    async with bridge:
        await until(lambda: len(sink.of("TK-01-LT-01")) >= 5, what="OPC UA readings")
        mark = format_time(utc_now())
        opcua_sim.inject("WFI-01-TT-01", "stuck")
        opcua_sim.inject("TK-01-LT-01", "drift", rate=20.0)
        opcua_sim.excursion("CS-01-TT-01", 15.0, 0.5)
        await asyncio.sleep(1.2)
        recent = [r for r in sink.readings if r["sourceTime"] > mark]
    stuck = [r for r in recent if r["tag"] == "WFI-01-TT-01"]
    assert len(stuck) >= 10 and len({r["value"] for r in stuck}) == 1  # a stuck sensor repeats itself ...
    assert len({r["sourceTime"] for r in stuck}) == len(stuck)  # ... with fresh timestamps, not silence
    drift = [r["value"] for r in recent if r["tag"] == "TK-01-LT-01"]
    assert drift[-1] - drift[0] > 12
    assert max(r["value"] for r in recent if r["tag"] == "CS-01-TT-01") > -20  # out of limits (-35..-25)


async def test_opcua_server_disconnect_is_survived(opcua_sim: Simulator, tmp_path: Path) -> None:
    sink = MemorySink()
    bridge = new_bridge(tmp_path, sink)
    add_opcua(bridge, opcua_sim)
    async with bridge:
        await until(lambda: len(sink.readings) >= 8, what="OPC UA readings")
        outage = asyncio.create_task(opcua_sim.disconnect(1.0))
        await until(lambda: bridge.status()["connectors"][0]["state"] == "reconnecting", what="reconnecting")
        await outage
        await until(lambda: bridge.status()["connectors"][0]["state"] == "connected", what="reconnected")
        back = format_time(utc_now())
        await until(lambda: any(r["sourceTime"] > back for r in sink.of("CS-01-TT-01")),
                    what="readings after the reconnect")
        status = bridge.status()["connectors"][0]
    assert states(bridge)[:4] == ["connecting", "connected", "reconnecting", "connected"]
    assert status["reconnects"] >= 1 and status["lastError"] and status["attempts"] == 0
    assert bridge.status()["staleMarked"] >= 1  # the outage lasted longer than stale_after: marked


# ---- MQTT -------------------------------------------------------------------------------------


async def publish(port: int, messages: list[tuple[str, Any]]) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier="test-publisher") as client:
        for topic, payload in messages:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            await client.publish(topic, body, qos=1)


@pytest.mark.mosquitto
@pytest.mark.req("IT-31")
async def test_mqtt_readings_batches_quality_and_malformed_payloads(mosquitto_server: services.Process,
                                                                   tmp_path: Path) -> None:
    sink = MemorySink()
    bridge = new_bridge(tmp_path, sink)
    add_mqtt(bridge, mosquitto_server.port, "bridge-mqtt-basic", stale_after=60)
    base = "SITE-01/x/CR-01"
    async with bridge:
        await until(lambda: bridge.status()["connectors"][0]["state"] == "connected", what="connected")
        await publish(mosquitto_server.port, [
            (f"{base}/_/CR-01-TT-01", {"value": 20.5, "unit": "degC", "timestamp": "2026-11-22T13:33:11.5+08:00",
                                       "quality": "GOOD"}),
            (f"{base}/_/DP", [{"value": 30.1, "timestamp": "2026-11-22T05:33:12Z"},
                              {"value": 30.2, "timestamp": "2026-11-22T05:33:13Z", "quality": "uncertain"}]),
            (f"{base}/FZ-01/FZ-01-TT-01", {"value": None, "timestamp": "2026-11-22T05:33:14Z", "quality": "BAD"}),
            (f"{base}/_/CR-01-RH-01", {"value": 45.0}),  # no timestamp: the bridge's receive time
            # malformed, each counted, none fatal:
            (f"{base}/_/BAD-1", b"not json"),
            (f"{base}/_/BAD-2", b""),
            (f"{base}/_/BAD-3", {"timestamp": "2026-11-22T05:33:15Z"}),
            (f"{base}/_/BAD-4", {"value": "high", "timestamp": "2026-11-22T05:33:15Z"}),
            (f"{base}/_/BAD-5", {"value": 1, "timestamp": "2026-11-22 05:33"}),
            (f"{base}/_/BAD-6", {"value": 1, "timestamp": "2026-11-22T05:33:15Z", "quality": "SUPER"}),
            (f"{base}/_/BAD-7", []),
            (f"{base}/_/MIX", [{"value": 7, "timestamp": "2026-11-22T05:33:16Z"}, {"value": {"x": 1}}]),
            (f"{base}/_/LAST", {"value": 1, "timestamp": "2026-11-22T05:33:17Z"}),
        ])
        await until(lambda: sink.of("LAST"), what="the last message")
        await until(lambda: bridge.status()["bufferDepth"] == 0, what="buffer drained")
        status = bridge.status()
    by_tag = {r["tag"]: r for r in sink.readings}
    assert by_tag["CR-01-TT-01"] == {"tag": "CR-01-TT-01", "value": 20.5, "quality": "GOOD",
                                     "sourceTime": "2026-11-22T05:33:11.500000Z"}
    assert [(r["value"], r["quality"], r["sourceTime"]) for r in sink.of("CR-01-DP-02")] == [
        (30.1, "GOOD", "2026-11-22T05:33:12.000000Z"), (30.2, "UNCERTAIN", "2026-11-22T05:33:13.000000Z")]
    assert by_tag["FZ-01-TT-01"]["quality"] == "BAD" and by_tag["FZ-01-TT-01"]["value"] is None
    assert by_tag["CR-01-RH-01"]["sourceTime"] > "2026-11-22"  # stamped on receipt
    assert by_tag["MIX"]["value"] == 7.0  # the good sample of a half-bad batch is kept
    assert not any(t.startswith("BAD-") for t in by_tag)
    conn = status["connectors"][0]
    assert conn["malformed"] == 8 and status["malformed"] == 8 and conn["state"] == "connected"
    assert "MIX" in conn["lastMalformed"]


@pytest.mark.mosquitto
async def test_mqtt_broker_restart_is_survived(mosquitto_server: services.Process, tmp_path: Path) -> None:
    port = mosquitto_server.port
    sim = Simulator(MQTT_SIGNALS, interval=0.05, seed=3, mqtt_url=f"mqtt://127.0.0.1:{port}",
                    mqtt_client_id="sim-restart")
    sink = MemorySink()
    bridge = new_bridge(tmp_path, sink)
    add_mqtt(bridge, port, "bridge-mqtt-restart")
    restarted: services.Process | None = None
    async with sim, bridge:
        try:
            await until(lambda: len(sink.of("CR-02-TT-01")) >= 5, what="MQTT readings")
            await asyncio.to_thread(mosquitto_server.stop)
            await until(lambda: bridge.status()["connectors"][0]["state"] == "reconnecting", what="reconnecting")
            restarted = await asyncio.to_thread(services.start_mosquitto, port)
            await until(lambda: bridge.status()["connectors"][0]["state"] == "connected", what="reconnected")
            count = len(sink.of("CR-02-TT-01"))
            await until(lambda: len(sink.of("CR-02-TT-01")) >= count + 5, what="readings after the restart")
        finally:
            await bridge.stop()
            await sim.stop()
            if restarted is not None:
                await asyncio.to_thread(restarted.stop)
    assert states(bridge)[:4] == ["connecting", "connected", "reconnecting", "connected"]
    assert bridge.status()["connectors"][0]["reconnects"] >= 1
    assert sink.of("CR-02-DP-01")  # mapped topic .../_/DP


@pytest.mark.mosquitto
@pytest.mark.req("IT-31")
async def test_core_outage_and_bridge_restart_lose_nothing(mosquitto_server: services.Process, tmp_path: Path) -> None:
    """Core down: readings wait in the buffer file. Bridge restarted on the same file: they are replayed,
    in order, together with what the broker queued for the bridge's session while it was away."""
    port = mosquitto_server.port

    def batch(i: int) -> tuple[str, list[dict[str, Any]]]:
        return ("SITE-01/x/CR-09/_/CR-09-TT-01",
                [{"value": float(j), "timestamp": f"2026-11-22T06:00:{j:02d}.000001Z"} for j in range(i, i + 5)])

    sink = MemorySink()
    sink.available = False
    first = new_bridge(tmp_path, sink)
    add_mqtt(first, port, "bridge-mqtt-durable", stale_after=60)
    async with first:
        await until(lambda: first.status()["connectors"][0]["state"] == "connected", what="connected")
        await publish(port, [batch(i) for i in range(0, 30, 5)])
        await until(lambda: first.status()["bufferDepth"] == 30, what="30 buffered")
        # the last batch may still be on its (failing) way to the sink: then the forwarder backs off
        await until(lambda: first.status()["forwarder"]["state"] == "waiting", what="backing off")
        status = first.status()
        assert status["bufferDepth"] == 30 and status["lastForwardError"] == sink.reason
    assert sink.readings == []
    await publish(port, [batch(i) for i in range(30, 50, 5)])  # the bridge is away: the broker queues these

    sink.available = True
    second = new_bridge(tmp_path, sink)
    add_mqtt(second, port, "bridge-mqtt-durable", stale_after=60)
    async with second:
        await until(lambda: len(sink.readings) == 50, what="all 50 readings")
        await until(lambda: second.status()["bufferDepth"] == 0, what="buffer drained")
    assert [r["value"] for r in sink.readings] == [float(j) for j in range(50)]
    assert sink.duplicates == 0


@pytest.mark.mosquitto
@pytest.mark.req("IT-31")
async def test_both_connectors_through_an_outage(mosquitto_server: services.Process, tmp_path: Path) -> None:
    """The demo shape: one bridge, OPC UA and MQTT from the simulator, a core outage in the middle."""
    port = mosquitto_server.port
    sim = Simulator([*OPCUA_SIGNALS, *MQTT_SIGNALS], interval=0.05, seed=5, mqtt_url=f"mqtt://127.0.0.1:{port}",
                    mqtt_client_id="sim-both", mqtt_batch=2,
                    opcua_endpoint=f"opc.tcp://127.0.0.1:{services.free_port()}/plant/")
    sink = MemorySink()
    bridge = new_bridge(tmp_path, sink)
    add_opcua(bridge, sim)
    add_mqtt(bridge, port, "bridge-both")
    async with sim:
        await until(lambda: sim.sent, what="first samples")
        async with bridge:
            await until(lambda: sink.of("CS-01-TT-01") and sink.of("CR-02-TT-01"), what="readings from both")
            sink.available = False
            await until(lambda: bridge.status()["bufferDepth"] > 50, what="readings piling up")
            assert bridge.status()["forwarder"]["state"] == "waiting"
            sink.available = True
            await until(lambda: bridge.status()["bufferDepth"] == 0, what="replay")
            await until(lambda: bridge.status()["forwarded"] == bridge.status()["received"], what="all forwarded")
            status = bridge.status()
    assert {c["state"] for c in status["connectors"]} == {"connected"}
    assert status["lastForwardError"] == sink.reason
    assert sink.duplicates == 0
    opcua_tags = {s.tag for s in OPCUA_SIGNALS}
    for channel, tags in (("opcua", opcua_tags), ("mqtt", {s.tag for s in MQTT_SIGNALS})):
        part = MemorySink()
        part.readings = [r for r in sink.readings if r["tag"] in tags]
        check_unchanged_and_complete(part, sim, channel)


# ---- standalone: run_from_config over HTTP -----------------------------------------------------


class FakeCore:
    """A tiny HTTP/1.1 ingest endpoint: refuses the first `reject` batches with 401, then takes them."""

    def __init__(self, reject: int) -> None:
        self.reject = reject
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.readings: list[dict[str, Any]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                lines = head.split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if ":" in x)}
                body = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))))
                self.requests.append((headers, body))
                if lines[0].startswith("POST /ingest ") and self.reject:
                    self.reject -= 1
                    status, answer = "401 Unauthorized", {"error": "token not accepted"}
                else:  # a batch sent again after a refusal of an earlier one is a replay, as for the core
                    seen = {(r["tag"], r["sourceTime"]) for r in self.readings}
                    self.readings += [r for r in body["readings"] if (r["tag"], r["sourceTime"]) not in seen]
                    status, answer = "200 OK", {"accepted": len(body["readings"]), "duplicates": 0,
                                                "unknownTags": []}
                payload = json.dumps(answer).encode()
                writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.mark.mosquitto
async def test_run_from_config_posts_to_the_core_with_the_env_token(
        mosquitto_server: services.Process, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    core = FakeCore(reject=2)
    server = await asyncio.start_server(core.handle, "127.0.0.1", 0)
    core_port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("BRIDGE_E2E_TOKEN", "e2e-token")
    config = tmp_path / "bridge.toml"
    config.write_text(f"""
[bridge]
name = "e2e"
buffer = "state/buffer.db"
retry_initial = 0.02
retry_max = 0.1

[core]
url = "http://127.0.0.1:{core_port}"
token_env = "BRIDGE_E2E_TOKEN"
timeout = 2

[[mqtt]]
url = "mqtt://127.0.0.1:{mosquitto_server.port}"
topic = "SITE-01/#"
client_id = "bridge-e2e"
""", encoding="utf-8")
    stop = asyncio.Event()
    task = asyncio.create_task(run_from_config(config, stop=stop, status_every=0.2))
    try:
        await until(lambda: (tmp_path / "state" / "buffer.db").exists(), what="bridge started")
        await asyncio.sleep(0.3)  # let the MQTT session subscribe
        await publish(mosquitto_server.port, [
            ("SITE-01/x/CR-01/_/CR-01-TT-01", {"value": float(i), "timestamp": f"2026-11-22T07:00:0{i}Z"})
            for i in range(5)])
        await until(lambda: len(core.readings) == 5, what="readings at the core")
    finally:
        stop.set()
        await task
        server.close()
        await server.wait_closed()
    # the 401s lost nothing (with several batches in flight a later one may land before an earlier
    # one's resend: the real core puts them back in order by session/seq)
    assert sorted(r["value"] for r in core.readings) == [0.0, 1.0, 2.0, 3.0, 4.0]
    headers, body = core.requests[0]
    assert headers["authorization"] == "Bearer e2e-token" and body["bridge"] == "e2e"
    assert len(core.requests) >= 3
