"""What the OPC UA, MQTT and serial connectors share: the reconnect loop, counters, status and stale watch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from device_bridge.backoff import Backoff
from device_bridge.model import Reading, ReceiveClock, format_time, utc_now
from device_bridge.stale import StaleWatch

log = logging.getLogger(__name__)

Emit = Callable[[list[Reading]], None]
HISTORY = 20


class ConnectionLost(Exception):
    """The device side went away; reconnect."""


class Link:
    """Connection state for the status: connecting / connected / reconnecting / stopped."""

    def __init__(self) -> None:
        self.state = "stopped"
        self.since = format_time(utc_now())
        self.attempts = 0  # failed attempts since the last good connection
        self.reconnects = 0
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        # recent transitions, so a short outage stays visible after it is over
        self.history: list[tuple[str, str]] = []

    def set(self, state: str) -> None:
        if state == self.state:
            return
        if state == "connected":
            if any(s == "connected" for s, _ in self.history):
                self.reconnects += 1
            self.attempts = 0
        self.state = state
        self.since = format_time(utc_now())
        self.history = [*self.history[-(HISTORY - 1):], (state, self.since)]

    def failed(self, error: BaseException | str) -> None:
        self.attempts += 1
        self.last_error = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.last_error_at = format_time(utc_now())

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "since": self.since, "attempts": self.attempts, "reconnects": self.reconnects,
                "lastError": self.last_error, "lastErrorAt": self.last_error_at,
                "history": [{"state": s, "at": t} for s, t in self.history]}


class Connector(ABC):
    """Base class: subclasses implement `_session()`, which connects, sets the link to connected, then
    delivers readings until the device side is lost (raise) or `self.stopping` is set (return)."""

    kind = "connector"

    def __init__(self, name: str, emit: Emit, *, stale_after: float | None = None,
                 backoff: Backoff | None = None) -> None:
        self.name = name
        self._emit = emit
        self.clock = ReceiveClock()
        self.watch = StaleWatch(stale_after, emit, clock=self.clock) if stale_after else None
        self.backoff = backoff or Backoff(0.2, 10.0)
        self.link = Link()
        self.received = 0
        self.malformed = 0
        self.last_malformed: str | None = None
        self.stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def deliver(self, readings: list[Reading]) -> None:
        if not readings:
            return
        self.received += len(readings)
        if self.watch is not None:
            self.watch.observe(readings)
        self._emit(readings)

    def reject(self, reason: str) -> None:
        """A payload we cannot turn into readings: count it, log it (not too often), carry on."""
        self.malformed += 1
        self.last_malformed = reason[:300]
        if self.malformed <= 10 or self.malformed % 1000 == 0:
            log.warning("%s %s: malformed input #%d: %s", self.kind, self.name, self.malformed, reason[:300])

    async def start(self) -> None:
        if self._task is not None:
            return
        self.stopping.clear()
        self.link.set("connecting")
        if self.watch is not None:
            await self.watch.start()
        self._task = asyncio.create_task(self._run(), name=f"bridge-{self.kind}-{self.name}")

    async def stop(self, grace: float = 5.0) -> None:
        """Ask the session to finish (it drains what it already received), cancel it if it does not."""
        self.stopping.set()
        if self._task is not None:
            done, _ = await asyncio.wait([self._task], timeout=grace)
            if not done:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.watch is not None:
            await self.watch.stop()
        self.link.set("stopped")

    async def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                await self._session()
            except Exception as e:
                self.link.failed(e)
                if self.link.attempts in (1, 10) or self.link.attempts % 100 == 0:
                    log.warning("%s %s: %s: %s (attempt %d)", self.kind, self.name,
                                "connection lost" if self.link.state == "connected" else "cannot connect",
                                self.link.last_error, self.link.attempts)
            if self.stopping.is_set():
                break
            self.link.set("reconnecting" if self._was_connected() else "connecting")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.backoff.next_delay())

    def _was_connected(self) -> bool:
        return any(s == "connected" for s, _ in self.link.history)

    def connected(self) -> None:
        """Subclasses call this once subscribed."""
        self.link.set("connected")
        self.backoff.reset()

    @abstractmethod
    async def _session(self) -> None:
        """One connected session of the concrete connector (OPC UA, MQTT, serial)."""

    def status(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, **self.link.as_dict(), "received": self.received,
                "malformed": self.malformed, "lastMalformed": self.last_malformed,
                "staleMarked": self.watch.marked if self.watch else 0,
                "staleTags": self.watch.stale_tags() if self.watch else []}
