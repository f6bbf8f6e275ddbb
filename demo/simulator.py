"""The demo plant simulator: serves `demo.signals.Plant` signals over OPC UA and/or MQTT.

OPC UA: an asyncua Server on the given endpoint (127.0.0.1), one Double variable per signal with
node id `ns=<idx>;s=<tag>` under Objects/Plant. Each sample is written with its source timestamp
and status code (bad for the `bad` fault). MQTT: QoS 1 JSON on each signal's UNS topic, one object
per message or a list of `mqtt_batch` samples.

Fault injection for tests and demos: `inject(tag, "stuck" | "drift" | "dropout" | "bad" | None)`,
`excursion(tag, delta, seconds)`, `place(tag, load)` (a load stood on a scale), and
`await disconnect(seconds)` (the OPC UA listener and MQTT publishing go away for that long, then come back).

Run standalone: `python -m demo.simulator --config FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal as os_signal
import time
import tomllib
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiomqtt
from asyncua import ua
from asyncua.server.binary_server_asyncio import BinaryServer
from asyncua.server.server import Server
from asyncua.ua.status_codes import StatusCodes

from demo.signals import FAULTS, Plant, Sample, Signal
from device_bridge.model import format_time, utc_now

log = logging.getLogger(__name__)

NAMESPACE = "urn:plasmatwin:plant-simulator"


class Simulator:
    def __init__(self, signals: Sequence[Signal], *, interval: float = 1.0, seed: int | None = None,
                 opcua_endpoint: str | None = None, mqtt_url: str | None = None,
                 mqtt_client_id: str = "plasmatwin-simulator", mqtt_batch: int = 1) -> None:
        if not opcua_endpoint and not mqtt_url:
            raise ValueError("the simulator needs an OPC UA endpoint, an MQTT url, or both")
        self.signals = list(signals)
        self.plant = Plant(self.signals, seed=seed)
        self.interval = interval
        self.opcua_endpoint = opcua_endpoint
        self.mqtt_url = mqtt_url
        self.mqtt_client_id = mqtt_client_id
        self.mqtt_batch = max(1, mqtt_batch)
        self.namespace_index = 2
        self.published = 0
        self.dropped = 0  # samples the MQTT side could not send (broker away): a sensor has no buffer
        self.last: dict[str, float] = {}
        # what actually left the simulator: (channel, tag, sourceTime, value, quality); tests compare against it
        self.sent: deque[tuple[str, str, str, float | None, str]] = deque(maxlen=100_000)
        self._server: Server | None = None
        self._nodes: dict[str, ua.NodeId] = {}
        self._opcua_up = False
        self._mqtt_paused = False
        self._mqtt_queue: asyncio.Queue[tuple[str, bytes, list[dict[str, Any]]]] = asyncio.Queue(maxsize=10_000)
        self._mqtt_batches: dict[str, list[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # ---- public API ---------------------------------------------------------------------------
    def node_id(self, tag: str) -> str:
        return f"ns={self.namespace_index};s={tag}"

    def inject(self, tag: str, fault: str | None, rate: float | None = None) -> None:
        """Faults: stuck (value frozen), drift (offset grows by `rate` per second, default 5 % of the
        span), dropout (nothing published), bad (published with bad quality), None (healthy)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        self.plant.inject(tag, fault, rate)

    def excursion(self, tag: str, delta: float, seconds: float) -> None:
        """Push the tag's value by `delta` for `seconds` (simulated), e.g. out of its limits."""
        self.plant.excursion(tag, delta, seconds)

    def place(self, tag: str, load: float | None) -> None:
        """Stand `load` on the scale whose weight is `tag`; None puts back its nominal load."""
        self.plant.place(tag, load)

    async def disconnect(self, seconds: float) -> None:
        """Stop the OPC UA listener (dropping its clients) and MQTT publishing for `seconds`."""
        self._mqtt_paused = True
        await self._stop_listener()
        try:
            await asyncio.sleep(seconds)
        finally:
            self._mqtt_paused = False
            if self._server is not None:
                await self._start_listener()

    async def start(self) -> None:
        if self.opcua_endpoint:
            await self._start_opcua(self.opcua_endpoint)
        if self.mqtt_url:
            self._tasks.append(asyncio.create_task(self._mqtt_loop(), name="simulator-mqtt"))
        self._tasks.append(asyncio.create_task(self._tick_loop(), name="simulator-ticks"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._server is not None:
            await self._server.stop()
            self._server = None
            self._opcua_up = False

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- OPC UA ------------------------------------------------------------------------------
    async def _start_opcua(self, endpoint: str) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(endpoint)
        server.set_server_name("PlasmaTwin plant simulator")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        idx = await server.register_namespace(NAMESPACE)
        self.namespace_index = idx
        # explicit QualifiedName: a plain string browse name would land in namespace 0
        folder = await server.nodes.objects.add_folder(ua.NodeId(ua.String("Plant"), ua.Int16(idx)),
                                                        ua.QualifiedName("Plant", idx))
        for s in self.signals:
            node = await folder.add_variable(ua.NodeId(ua.String(s.tag), ua.Int16(idx)), ua.QualifiedName(s.tag, idx),
                                             ua.Variant(float(s.nominal), ua.VariantType.Double))
            self._nodes[s.tag] = node.nodeid
        await server.start()
        self._server = server
        self._opcua_up = True

    async def _stop_listener(self) -> None:
        # Only the network side goes: the address space (and the plant) keep running.
        if self._server is not None and self._server.bserver is not None and self._opcua_up:
            self._opcua_up = False
            await self._server.bserver.stop()

    async def _start_listener(self) -> None:
        server = self._server
        assert server is not None
        host, port = server.endpoint.hostname or "127.0.0.1", server.endpoint.port or 4840
        bserver = BinaryServer(server.iserver, host, port, server.limits)
        bserver.set_policies(server.bserver._policies if server.bserver else [])  # same policies as before
        for attempt in range(50):  # the port can take a moment to be released
            try:
                await bserver.start()
                break
            except OSError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
        server.bserver = bserver
        self._opcua_up = True

    async def _write_opcua(self, samples: list[Sample], stamp: Any) -> None:
        server = self._server
        if server is None or not self._opcua_up:
            return
        for smp in samples:
            code = StatusCodes.BadSensorFailure if smp.quality == "BAD" else StatusCodes.Good
            status = ua.StatusCode(ua.UInt32(code))
            dv = ua.DataValue(ua.Variant(float(smp.value), ua.VariantType.Double), StatusCode=status,
                              SourceTimestamp=stamp, ServerTimestamp=stamp)
            await server.write_attribute_value(self._nodes[smp.tag], dv)
            # a bad status makes the server drop the value (OPC UA Part 4 7.7.1)
            self.sent.append(("opcua", smp.tag, format_time(stamp), None if smp.quality == "BAD" else smp.value,
                              smp.quality))

    # ---- MQTT --------------------------------------------------------------------------------
    def _queue_mqtt(self, samples: list[Sample], stamp: str) -> None:
        for smp in samples:
            topic = self.plant.signals[smp.tag].topic
            if not topic:
                continue
            if self._mqtt_paused:
                self.dropped += 1
                continue
            unit = self.plant.signals[smp.tag].unit_name
            obj = {"tag": smp.tag, "value": smp.value, "unit": unit, "timestamp": stamp, "quality": smp.quality}
            batch = self._mqtt_batches.setdefault(topic, [])
            batch.append(obj)
            if len(batch) >= self.mqtt_batch:
                wire = [{k: v for k, v in o.items() if k != "tag"} for o in batch]
                payload = wire[0] if self.mqtt_batch == 1 else wire
                self._mqtt_batches[topic] = []
                try:
                    self._mqtt_queue.put_nowait((topic, json.dumps(payload).encode(), batch))
                except asyncio.QueueFull:
                    self.dropped += len(batch)

    async def _mqtt_loop(self) -> None:
        assert self.mqtt_url is not None
        url = urlparse(self.mqtt_url)
        delay = 0.2
        while True:
            try:
                async with aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883,
                                          identifier=self.mqtt_client_id, keepalive=10) as client:
                    delay = 0.2
                    while True:
                        topic, payload, samples = await self._mqtt_queue.get()
                        if self._mqtt_paused:
                            self.dropped += len(samples)
                            continue
                        try:
                            await client.publish(topic, payload, qos=1)
                        except aiomqtt.MqttError:
                            self.dropped += len(samples)
                            raise
                        self.published += 1
                        self.sent.extend(("mqtt", o["tag"], o["timestamp"], o["value"], o["quality"])
                                         for o in samples)
            except aiomqtt.MqttError as e:
                log.info("simulator MQTT: %s; retrying in %.1fs", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    # ---- the clock ---------------------------------------------------------------------------
    async def _tick_loop(self) -> None:
        while True:
            started = time.monotonic()
            samples = self.plant.step(self.interval)
            now = utc_now()
            for smp in samples:
                self.last[smp.tag] = smp.value
            if self.mqtt_url:
                self._queue_mqtt(samples, format_time(now))
            await self._write_opcua(samples, now)  # awaits per write: notifications keep flowing
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))


# ---- standalone -------------------------------------------------------------------------------
def load_simulator(path: str | Path) -> Simulator:
    """[simulator] interval, seed, opcua_endpoint, mqtt_url, mqtt_client_id, mqtt_batch;
    [[signals]] tag, kind, nominal, low, high, topic, unit, profile."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    sim = dict(data.get("simulator", {}))
    signals = [Signal(**s) for s in data.get("signals", [])]
    if not signals:
        raise ValueError(f"{path}: no [[signals]]")
    return Simulator(signals, **sim)


async def _serve(path: str) -> None:
    sim = load_simulator(path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (os_signal.SIGINT, os_signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with sim:
        log.info("simulator running: %d signals, OPC UA %s, MQTT %s", len(sim.signals), sim.opcua_endpoint,
                 sim.mqtt_url)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="simulator TOML file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_serve(args.config))
    except (OSError, ValueError, TypeError, tomllib.TOMLDecodeError) as e:
        print(f"simulator: {e}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
