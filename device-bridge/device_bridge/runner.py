"""The Bridge: connectors -> durable buffer -> forwarder -> sink (the core's ingest interface).

In process (the demo server):

    bridge = Bridge("demo", CallableSink(ingest), "var/bridge-demo.db")
    bridge.add_opcua(OpcuaConfig(endpoint, {"ns=2;s=CS-01-TT-01": "CS-01-TT-01"}))
    await bridge.start() ... await bridge.stop()

Standalone: `run_from_config(path)` (what `plasmatwin bridge --config FILE` runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from pathlib import Path
from typing import Any

from device_bridge.backoff import Backoff
from device_bridge.buffer import Buffer, Forwarder
from device_bridge.config import BridgeConfig, ConfigError, MqttConfig, OpcuaConfig, SerialConfig, load_config
from device_bridge.connector import Connector
from device_bridge.model import Reading, format_time, utc_now, validate_reading
from device_bridge.mqtt import MqttConnector
from device_bridge.opcua import OpcuaConnector
from device_bridge.serial_scale import SerialScaleConnector
from device_bridge.sink import HttpSink, Sink

log = logging.getLogger(__name__)


class Bridge:
    def __init__(self, name: str, sink: Sink, buffer_path: str | Path, *, batch_max: int = 500, window: int = 4,
                 stale_after: float | None = 60.0, retry_initial: float = 0.2, retry_max: float = 10.0,
                 reconnect_initial: float = 0.2, reconnect_max: float = 10.0, owns_sink: bool = False) -> None:
        self.name = name
        self.sink = sink
        self.buffer_path = Path(buffer_path)
        self.batch_max = batch_max
        self.window = window
        self.stale_after = stale_after
        self.retry = (retry_initial, retry_max)
        self.reconnect = (reconnect_initial, reconnect_max)
        self.owns_sink = owns_sink
        self.connectors: list[Connector] = []
        self.received = 0
        self.started_at: str | None = None
        self._buffer: Buffer | None = None
        self._forwarder: Forwarder | None = None

    # ---- wiring -------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: BridgeConfig, sink: Sink | None = None) -> Bridge:
        """Without a sink, readings go to [core] url over HTTP with the token from [core] token_env."""
        owns = sink is None
        if sink is None:
            if not config.core.url:
                raise ConfigError(f"{config.source}: [core] url is needed when no in-process sink is given")
            sink = HttpSink(config.core.url, config.core.token(), config.core.timeout, bridge=config.name)
        bridge = cls(config.name, sink, config.buffer, batch_max=config.batch_max, window=config.window,
                     stale_after=config.stale_after,
                     retry_initial=config.retry_initial, retry_max=config.retry_max, owns_sink=owns)
        for o in config.opcua:
            bridge.add_opcua(o)
        for m in config.mqtt:
            bridge.add_mqtt(m)
        for s in config.serial:
            bridge.add_serial(s)
        return bridge

    def _backoff(self) -> Backoff:
        return Backoff(*self.reconnect)

    def add(self, connector: Connector) -> Connector:
        self.connectors.append(connector)
        return connector

    def add_opcua(self, cfg: OpcuaConfig) -> OpcuaConnector:
        c = OpcuaConnector(cfg.endpoint, cfg.tags, self._accept, publishing_interval_ms=cfg.publishing_interval_ms,
                           queue_size=cfg.queue_size, probe_interval=cfg.probe_interval,
                           request_timeout=cfg.request_timeout, stale_after=cfg.stale_after or self.stale_after,
                           backoff=self._backoff(), name=cfg.name)
        self.add(c)
        return c

    def add_mqtt(self, cfg: MqttConfig) -> MqttConnector:
        c = MqttConnector(cfg.url, cfg.topic, cfg.client_id, self._accept, tags=cfg.tags, keepalive=cfg.keepalive,
                          stale_after=cfg.stale_after or self.stale_after, backoff=self._backoff(), name=cfg.name)
        self.add(c)
        return c

    def add_serial(self, cfg: SerialConfig) -> SerialScaleConnector:
        c = SerialScaleConnector(cfg.port, cfg.tag, self._accept, unit=cfg.unit, interval=cfg.interval,
                                 baudrate=cfg.baudrate, framing=cfg.framing, xonxoff=cfg.xonxoff,
                                 command=cfg.command, timeout=cfg.timeout,
                                 stale_after=cfg.stale_after or self.stale_after, backoff=self._backoff(),
                                 name=cfg.name)
        self.add(c)
        return c

    # ---- readings -----------------------------------------------------------------------------
    def _accept(self, readings: list[Reading]) -> None:
        if self._forwarder is None:
            raise RuntimeError("bridge is not started")
        self.received += len(readings)
        self._forwarder.submit(readings)

    def submit(self, readings: list[dict[str, Any]]) -> None:
        """Readings from an in-process source: validated here (connectors validate their own)."""
        self._accept([validate_reading(r) for r in readings])

    # ---- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self._forwarder is not None:
            return
        self._buffer = await asyncio.to_thread(Buffer, self.buffer_path)
        if self._buffer.depth:
            log.info("bridge %s: %d readings left in %s from the last run; replaying them first", self.name,
                     self._buffer.depth, self.buffer_path)
        self._forwarder = Forwarder(self._buffer, self.sink, batch_max=self.batch_max, window=self.window,
                                    backoff=Backoff(*self.retry))
        if isinstance(self.sink, HttpSink):
            buffer = self._buffer
            self.sink.depth = lambda: buffer.depth
        await self._forwarder.start()
        self.started_at = format_time(utc_now())
        for c in self.connectors:
            await c.start()

    async def stop(self) -> None:
        """Connectors first (each hands over what it already received), then the buffer is written
        and closed. Readings not yet accepted by the core stay in the file for the next start."""
        for c in self.connectors:
            await c.stop()
        if self._forwarder is not None:
            await self._forwarder.stop()
            self._forwarder = None
        if self._buffer is not None:
            await asyncio.to_thread(self._buffer.close)
            self._buffer = None
        if self.owns_sink:
            aclose = getattr(self.sink, "aclose", None)
            if aclose is not None:
                await aclose()

    async def __aenter__(self) -> Bridge:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def status(self) -> dict[str, Any]:
        fwd = self._forwarder.status() if self._forwarder else {"state": "stopped"}
        depth = self._buffer.depth if self._buffer else None
        sink_status = getattr(self.sink, "status", None)
        return {
            "name": self.name,
            "running": self._forwarder is not None,
            "startedAt": self.started_at,
            "received": self.received,
            "forwarded": fwd.get("forwarded", 0),
            "bufferDepth": depth,
            "bufferPath": str(self.buffer_path),
            "malformed": sum(c.malformed for c in self.connectors),
            "staleMarked": sum(c.watch.marked for c in self.connectors if c.watch),
            "lastForwardError": fwd.get("lastError"),
            "forwarder": fwd,
            "sink": sink_status() if callable(sink_status) else None,
            "connectors": [c.status() for c in self.connectors],
        }


async def run_from_config(path: str | Path, *, stop: asyncio.Event | None = None,
                          status_every: float = 60.0) -> None:
    """Run a bridge until SIGINT/SIGTERM (or `stop` is set), logging its status now and then."""
    config = load_config(path)
    bridge = Bridge.from_config(config)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        await bridge.start()
        log.info("bridge %s running: %d connector(s), buffer %s", config.name, len(bridge.connectors), config.buffer)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), status_every)
            log.info("bridge status %s", json.dumps(_summary(bridge.status())))
    finally:
        await bridge.stop()
        for sig in handled:
            loop.remove_signal_handler(sig)


def _summary(status: dict[str, Any]) -> dict[str, Any]:
    keys = ("received", "forwarded", "bufferDepth", "malformed", "staleMarked", "lastForwardError")
    return {**{k: status[k] for k in keys},
            "connectors": {c["name"]: c["state"] for c in status["connectors"]}}
