"""Stale detection: a tag that stops reporting gets one STALE reading, carrying its last value.

"No new reading" means no reading with a newer sourceTime: a replayed old sample (an OPC UA
subscription re-sending the current value after a reconnect) does not make a stale tag fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from device_bridge.model import Reading, ReceiveClock, make_reading


@dataclass
class _TagState:
    value: float | None
    source_time: str
    seen_at: float  # monotonic
    stale: bool = False


class StaleWatch:
    def __init__(self, stale_after: float, emit: Callable[[list[Reading]], None], *,
                 clock: ReceiveClock | None = None) -> None:
        if stale_after <= 0:
            raise ValueError("stale_after must be positive")
        self.stale_after = stale_after
        self._emit = emit
        self._clock = clock or ReceiveClock()
        self._tags: dict[str, _TagState] = {}
        self._task: asyncio.Task[None] | None = None
        self.marked = 0

    def expect(self, tags: Iterable[str]) -> None:
        """Tags that should report even if they never did (configured OPC UA nodes)."""
        now = time.monotonic()
        for tag in tags:
            self._tags.setdefault(tag, _TagState(None, "", now))

    def observe(self, readings: list[Reading]) -> None:
        now = time.monotonic()
        for r in readings:
            state = self._tags.get(r["tag"])
            if state is None:
                self._tags[r["tag"]] = _TagState(r["value"], r["sourceTime"], now)
            elif r["sourceTime"] > state.source_time:  # fixed-width UTC strings sort in time order
                state.value, state.source_time, state.seen_at, state.stale = r["value"], r["sourceTime"], now, False

    def check(self) -> list[Reading]:
        """Mark tags silent for longer than stale_after; return (and emit) their STALE readings."""
        now = time.monotonic()
        out: list[Reading] = []
        for tag, state in self._tags.items():
            if not state.stale and now - state.seen_at >= self.stale_after:
                state.stale = True
                # sourceTime is the moment the bridge noticed: the last sample's own time is already
                # taken by that sample, and reusing it would make the core drop this as a duplicate.
                out.append(make_reading(tag, state.value, "STALE", self._clock.stamp(tag)))
        if out:
            self.marked += len(out)
            self._emit(out)
        return out

    def stale_tags(self) -> list[str]:
        return sorted(t for t, s in self._tags.items() if s.stale)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="bridge-stale-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        period = min(1.0, self.stale_after / 4)
        while True:
            await asyncio.sleep(period)
            self.check()
