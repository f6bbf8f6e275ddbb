"""Device bridge without servers: readings, backoff, stale detection, the HTTP sink, the simulated plant."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from datetime import UTC, datetime

import httpx
import pytest

from demo.signals import Plant, Signal
from device_bridge.backoff import Backoff
from device_bridge.model import (
    ReceiveClock,
    format_time,
    make_reading,
    normalize_time,
    parse_time,
    reading_key,
    validate_reading,
)
from device_bridge.sink import CallableSink, HttpSink, MemorySink, SinkUnavailable
from device_bridge.stale import StaleWatch

# ---- readings -----------------------------------------------------------------------------------


def test_reading_has_canonical_utc_microsecond_time() -> None:
    r = make_reading("CS-01-TT-01", -30, "GOOD", "2026-11-22T13:33:11.12+08:00")
    assert r == {"tag": "CS-01-TT-01", "value": -30.0, "quality": "GOOD", "sourceTime": "2026-11-22T05:33:11.120000Z"}
    # the same instant written differently gives the same idempotency key
    other = make_reading("CS-01-TT-01", -30.0, "GOOD", datetime(2026, 11, 22, 5, 33, 11, 120000, tzinfo=UTC))
    assert reading_key(r) == reading_key(other) == ("CS-01-TT-01", "2026-11-22T05:33:11.120000Z")
    assert json.loads(json.dumps(r)) == r


def test_time_without_offset_or_garbage_is_refused() -> None:
    for bad in ["2026-11-22T05:33:11", "yesterday", "2026-11-22", "", "1732253591"]:
        with pytest.raises(ValueError):
            parse_time(bad)
    assert normalize_time("2026-11-22T05:33:11Z") == "2026-11-22T05:33:11.000000Z"
    assert format_time(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000000Z"  # naive = UTC


def test_bad_values_are_marked_not_dropped() -> None:
    assert make_reading("T", float("nan"), "GOOD", "2026-11-22T05:33:11Z")["quality"] == "BAD"
    assert make_reading("T", None, "BAD", "2026-11-22T05:33:11Z")["value"] is None
    assert make_reading("DOOR", True, "GOOD", "2026-11-22T05:33:11Z")["value"] == 1.0


@pytest.mark.parametrize("reading", [
    {"tag": "T", "value": 1, "quality": "FINE", "sourceTime": "2026-11-22T05:33:11Z"},
    {"tag": "", "value": 1, "quality": "GOOD", "sourceTime": "2026-11-22T05:33:11Z"},
    {"tag": "T", "value": "1", "quality": "GOOD", "sourceTime": "2026-11-22T05:33:11Z"},
    {"tag": "T", "value": 1, "quality": "GOOD"},
    {"tag": "T", "value": 1, "quality": "GOOD", "sourceTime": "2026-11-22T05:33:11Z", "unit": "C"},
    ["T", 1],
])
def test_validate_reading_refuses_bad_shapes(reading: object) -> None:
    with pytest.raises(ValueError):
        validate_reading(reading)


def test_receive_clock_never_repeats_a_stamp_for_a_tag() -> None:
    clock = ReceiveClock()
    now = datetime(2026, 11, 22, 5, 33, 11, tzinfo=UTC)
    stamps = [format_time(clock.stamp("T", now)) for _ in range(3)]
    assert stamps == ["2026-11-22T05:33:11.000000Z", "2026-11-22T05:33:11.000001Z", "2026-11-22T05:33:11.000002Z"]
    assert format_time(clock.stamp("OTHER", now)) == "2026-11-22T05:33:11.000000Z"


def test_backoff_doubles_to_the_cap_with_jitter() -> None:
    b = Backoff(0.2, 10.0, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(10)]
    assert 0.16 <= delays[0] <= 0.24 and 0.32 <= delays[1] <= 0.48
    assert all(d <= 10.0 for d in delays) and delays[-1] >= 8.0
    b.reset()
    assert b.next_delay() <= 0.24


# ---- stale detection ----------------------------------------------------------------------------


def test_stale_once_with_last_value_until_fresh() -> None:
    out: list[dict] = []
    watch = StaleWatch(0.05, out.extend)
    first = make_reading("T", 4.2, "GOOD", "2026-11-22T05:33:11Z")
    watch.observe([first])
    assert watch.check() == []
    time.sleep(0.06)
    (stale,) = watch.check()
    assert stale["quality"] == "STALE" and stale["value"] == 4.2 and stale["sourceTime"] != first["sourceTime"]
    time.sleep(0.06)
    assert watch.check() == []  # once, not every period
    watch.observe([first])  # a replay of the old sample is not news
    time.sleep(0.06)
    assert watch.check() == []
    watch.observe([make_reading("T", 4.3, "GOOD", "2026-11-22T05:33:12Z")])
    assert watch.stale_tags() == []
    time.sleep(0.06)
    assert [r["value"] for r in watch.check()] == [4.3]
    assert out[0] == stale and watch.marked == 2


def test_expected_tag_that_never_reports_goes_stale_without_value() -> None:
    watch = StaleWatch(0.01, lambda rs: None)
    watch.expect(["NEVER"])
    time.sleep(0.02)
    assert [(r["tag"], r["value"], r["quality"]) for r in watch.check()] == [("NEVER", None, "STALE")]


# ---- sinks --------------------------------------------------------------------------------------


READINGS = [make_reading("T", 1.0, "GOOD", "2026-11-22T05:33:11Z")]


async def test_http_sink_posts_with_token_and_records_counts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"accepted": 1, "duplicates": 0, "unknownTags": ["T"]})

    sink = HttpSink("http://core.test/", "s3cret", 2.0, bridge="area-1", transport=httpx.MockTransport(handler))
    await sink.send(READINGS)
    await sink.send(READINGS)
    await sink.aclose()
    assert str(seen[0].url) == "http://core.test/ingest"
    assert seen[0].headers["authorization"] == "Bearer s3cret"
    session = sink.session
    assert json.loads(seen[0].content) == {"bridge": "area-1", "session": session, "seq": 1, "answered": 0,
                                           "readings": READINGS}
    assert json.loads(seen[1].content) == {"bridge": "area-1", "session": session, "seq": 2, "answered": 1,
                                           "readings": READINGS}
    assert sink.status() | {"url": None} == {"kind": "http", "url": None, "accepted": 2, "duplicates": 0,
                                             "unknownTags": ["T"], "lastRejection": None, "session": session,
                                             "seq": 2}


async def test_http_sink_numbers_calls_in_the_order_they_are_made() -> None:
    """Several batches in flight: each carries its seq, and `answered` only counts calls that ended."""
    bodies: list[dict] = []
    release = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if body["seq"] == 1:
            await release.wait()  # the first batch is slow to be answered
        return httpx.Response(200, json={"accepted": 1})

    sink = HttpSink("http://core.test", "t", transport=httpx.MockTransport(handler))
    first = asyncio.create_task(sink.send(READINGS))
    second = asyncio.create_task(sink.send(READINGS))
    await second
    third = asyncio.create_task(sink.send(READINGS))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(first, third)
    await sink.send(READINGS)
    await sink.aclose()
    assert [(b["seq"], b["answered"]) for b in bodies] == [(1, 0), (2, 0), (3, 0), (4, 3)]
    assert len({b["session"] for b in bodies}) == 1
    other = HttpSink("http://core.test", "t")
    await other.aclose()
    assert other.session != sink.session  # a new one per bridge start


@pytest.mark.parametrize(("answer", "words", "rejection"), [
    (httpx.Response(503, text="starting"), "HTTP 503", False),
    (httpx.Response(401, text="bad token"), "HTTP 401", True),
    (httpx.Response(403, text="revoked"), "HTTP 403", True),
    (httpx.ConnectError("refused"), "unreachable", False),
    (httpx.ReadTimeout("slow"), "timed out", False),
])
async def test_http_sink_failures_are_unavailable_with_reason(answer: object, words: str, rejection: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, httpx.Response)
        return answer

    sink = HttpSink("http://core.test", "t", transport=httpx.MockTransport(handler))
    with pytest.raises(SinkUnavailable, match=words):
        await sink.send(READINGS)
    await sink.aclose()
    assert (sink.last_rejection is not None) == rejection


async def test_callable_and_memory_sinks() -> None:
    got: list[list[dict]] = []

    async def ingest(readings: list[dict]) -> None:
        got.append(readings)

    await CallableSink(ingest).send(READINGS)
    assert got == [READINGS]
    mem = MemorySink()
    await mem.send(READINGS + READINGS)
    assert len(mem.readings) == 1 and mem.duplicates == 1
    mem.available = False
    with pytest.raises(SinkUnavailable):
        await mem.send(READINGS)


# ---- the simulated plant ------------------------------------------------------------------------

ROOM = "SITE-01/fractionation/CS-01"


def cold_store_plant(seed: int = 3) -> Plant:
    return Plant([
        Signal("CS-TT", "temperature", -30, -35, -25, topic=f"{ROOM}/_/CS-TT"),
        Signal("CS-DOOR", "door", 0, 0, 1, topic=f"{ROOM}/_/CS-DOOR"),
        Signal("WFI-TT", "temperature", 80, 70, 90),
        Signal("WFI-CT", "conductivity", 0.6, 0.1, 1.3),
        Signal("VI-TT", "temperature", 60, 59.5, 60.5, profile="inactivation"),
        Signal("CR-DP", "differential_pressure", 30, 25, 40),
        Signal("CR-PC", "particles_0_5", 1500, 0, 3520),
        Signal("TK-LT", "level", 50, 0, 100),
    ], seed=seed, door_rate=1 / 200, cycle_seconds=600)


def run(plant: Plant, seconds: float, dt: float = 1.0) -> dict[str, list[float]]:
    series: dict[str, list[float]] = {}
    for _ in range(int(seconds / dt)):
        for s in plant.step(dt):
            series.setdefault(s.tag, []).append(s.value)
    return series


def test_plant_is_deterministic_for_a_seed() -> None:
    assert run(cold_store_plant(5), 60) == run(cold_store_plant(5), 60)
    assert run(cold_store_plant(5), 60) != run(cold_store_plant(6), 60)


def test_plant_physics_is_believable() -> None:
    s = run(cold_store_plant(), 3600)
    door, cold = s["CS-DOOR"], s["CS-TT"]
    assert set(door) == {0.0, 1.0}
    closed = [t for t, d in zip(cold, door, strict=True) if d == 0.0]
    assert -31.5 < statistics.median(closed) < -28.5
    # an open door warms the air: the warmest moments come right after openings
    assert max(cold) > -27 and max(cold) < 0
    assert min(s["WFI-TT"]) > 70 and statistics.mean(s["WFI-CT"]) < 1.3
    vi = s["VI-TT"]  # inactivation cycles: heat up, hold near 60 C, cool down
    assert min(vi) < 30 and 59.0 < statistics.median(vi[120:450]) < 61.5
    assert all(v >= 0 and v == int(v) for v in s["CR-PC"])
    assert 2 <= min(s["TK-LT"]) and max(s["TK-LT"]) <= 98 and max(s["TK-LT"]) - min(s["TK-LT"]) > 50


def test_faults_and_excursions_show_in_the_data() -> None:
    plant = cold_store_plant()
    run(plant, 30)
    plant.inject("WFI-TT", "stuck")
    plant.inject("CR-DP", "drift", rate=1.0)
    plant.inject("WFI-CT", "dropout")
    plant.inject("TK-LT", "bad")
    plant.excursion("CS-TT", 20.0, 5)
    s = run(plant, 10)
    assert len(set(s["WFI-TT"])) == 1
    assert s["CR-DP"][-1] - s["CR-DP"][0] > 6
    assert "WFI-CT" not in s
    assert max(s["CS-TT"][:5]) > -15 and s["CS-TT"][-1] < -20
    assert {smp.quality for smp in plant.step(1.0) if smp.tag == "TK-LT"} == {"BAD"}
    plant.inject("WFI-CT", None)
    assert any(smp.tag == "WFI-CT" for smp in plant.step(1.0))
    with pytest.raises(ValueError):
        plant.inject("WFI-TT", "melted")


def test_signal_specs_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        Signal("X", "vibes", 1, 0, 2)
    with pytest.raises(ValueError, match="above"):
        Signal("X", "flow", 1, 3, 2)
    with pytest.raises(ValueError, match="unique"):
        Plant([Signal("X", "flow", 1, 0, 2), Signal("X", "flow", 1, 0, 2)])


# ---- OPC UA mapping and the simulator's file -----------------------------------------------------


def test_opcua_status_and_timestamps_map_to_quality_and_source_time() -> None:
    from asyncua import ua

    from device_bridge.opcua import OpcuaConnector, quality_of

    assert quality_of(ua.StatusCode(ua.StatusCodes.Good)) == "GOOD"
    assert quality_of(ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue)) == "UNCERTAIN"
    assert quality_of(ua.StatusCode(ua.StatusCodes.BadSensorFailure)) == "BAD"
    c = OpcuaConnector("opc.tcp://127.0.0.1:4840", {"ns=2;s=T": "T"}, lambda rs: None)
    source = datetime(2026, 11, 22, 5, 33, 11, 123456, tzinfo=UTC)
    server = datetime(2026, 11, 22, 5, 33, 12, tzinfo=UTC)
    both = c.to_reading("T", ua.DataValue(ua.Variant(1.5), SourceTimestamp=source, ServerTimestamp=server))
    assert both == {"tag": "T", "value": 1.5, "quality": "GOOD", "sourceTime": "2026-11-22T05:33:11.123456Z"}
    only_server = c.to_reading("T", ua.DataValue(ua.Variant(2), ServerTimestamp=server))
    assert only_server is not None and only_server["sourceTime"] == "2026-11-22T05:33:12.000000Z"
    received = c.to_reading("T", ua.DataValue(ua.Variant(3.0)))  # no time at all: the bridge's receive time
    assert received is not None and received["sourceTime"] > "2026-11-22T05:33:12"
    assert c.to_reading("T", ua.DataValue(ua.Variant("text"))) is None and c.malformed == 1


def test_example_simulator_file_loads() -> None:
    from pathlib import Path

    from demo.simulator import load_simulator

    sim = load_simulator(Path(__file__).resolve().parents[1] / "device-bridge" / "example-simulator.toml")
    assert sim.opcua_endpoint and "127.0.0.1" in sim.opcua_endpoint and sim.mqtt_url == "mqtt://127.0.0.1:1883"
    kinds = {s.kind for s in sim.signals}
    assert {"temperature", "conductivity", "door", "particles_0_5"} <= kinds
    assert sim.node_id("CS-01-TT-01") == "ns=2;s=CS-01-TT-01"


def test_hostile_mqtt_payloads_are_counted_not_fatal() -> None:
    from device_bridge.mqtt import MqttConnector

    got: list[dict] = []
    c = MqttConnector("mqtt://127.0.0.1:1883", "SITE-01/#", "bridge-x", got.extend,
                      tags={"SITE-01/a/R1/_/DP": "R1-DP-01"})
    for payload in [b'{"value": 1' + b"0" * 400 + b"}", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe",
                    b'{"value": 1, "timestamp": 5}', b'{"value": 1, "quality": null}', b"x" * 1_000_001]:
        c.handle("SITE-01/a/R1/_/T", payload)
    assert c.malformed == 6 and got == []
    c.handle("SITE-01/a/R1/_/DP", b'{"value": true, "timestamp": "2026-11-22T05:33:11Z"}')
    assert got == [{"tag": "R1-DP-01", "value": 1.0, "quality": "GOOD", "sourceTime": "2026-11-22T05:33:11.000000Z"}]
