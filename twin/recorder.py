"""Batched storage of readings: a writer task flushes queued readings in one INSERT per batch (every
`interval` seconds, or at once when someone waits for them). `durable()` is how ingest answers only
after the readings it took are committed: many waiters share one commit (group commit).

What is stored can be thinned by the plant's setting `readings.storeEverySeconds` (0, the default,
stores every reading): then a tag's reading is stored when that long has passed since its last
stored one, when its quality changed, when it is outside the sensor's limits, and when it is the
first back inside them; every reading still reaches the twin, the alarms and the subscribers. So an
excursion is in the history reading by reading, and a steady tag costs one row per interval. The
tags of a running phase's process parameters (`keep_all`) are stored in full: the batch record takes
their minimum, maximum, mean and trend from the stored readings (resolvers/execution.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from records.bulk import bulk, values_sql
from records.db import Database
from records.identity import Setting
from records.plant import Sensor
from records.readings import STORE_EVERY_KEY, SensorReading
from twin.state import Reading

log = logging.getLogger("plasmatwin.recorder")

# How often the writer reads the tags and the setting again (a layout import also reloads them at once).
RELOAD_SECONDS = 60.0
# A stored reading's columns, in the order of `pending`'s tuples; a reading already stored (same sensor
# and source time) is a replay: skipped, the batch kept.
COLUMNS = ("sensor_id", "source_time", "received_at", "value", "quality")
KEY = ("sensor_id", "source_time")


class Recorder:
    def __init__(self, db: Database, batch: int = 2000, interval: float = 0.5, durable_within: float = 5.0) -> None:
        self.db = db
        self.durable_within = durable_within
        self.batch = batch
        self.interval = interval
        self.queue: asyncio.Queue[Reading] = asyncio.Queue()
        self.sensor_ids: dict[str, int] = {}
        self.limits: dict[str, tuple[float | None, float | None]] = {}
        self.store_every = 0.0
        # Per tag: the source time and quality of its last stored reading, and whether it was outside limits.
        self._last: dict[str, tuple[datetime, str, bool]] = {}
        self.thinned = 0  # readings not stored under `readings.storeEverySeconds`
        self.keep_all: Callable[[str], bool] = lambda _tag: False
        self.stored = 0
        self.unknown_tags = 0
        # Drained from the queue but not yet committed, as the driver's parameters: kept until an insert succeeds.
        self.pending: list[tuple[Any, ...]] = []
        self._task: asyncio.Task[None] | None = None
        # Readings counted in queue order: recorded, taken from the queue, committed.
        self.recorded = 0
        self._taken = 0
        self.committed = 0
        self._wake = asyncio.Event()
        self._done = asyncio.Condition()
        self._lock = asyncio.Lock()

    async def load_sensors(self) -> None:
        """The tags it stores readings of (again after a layout import)."""
        async with self.db.read() as s:
            rows = (await s.execute(select(Sensor.tag, Sensor.id, Sensor.low_limit, Sensor.high_limit))).all()
            setting = await s.get(Setting, STORE_EVERY_KEY)
        self.sensor_ids = {r.tag: r.id for r in rows}
        self.limits = {r.tag: (r.low_limit, r.high_limit) for r in rows}
        self.store_every = float(setting.value) if setting is not None else 0.0

    def _keep(self, r: Reading) -> bool:
        if self.store_every <= 0 or self.keep_all(r.tag):
            return True
        low, high = self.limits.get(r.tag, (None, None))
        outside = r.value is not None and ((low is not None and r.value < low) or (high is not None and r.value > high))
        last = self._last.get(r.tag)
        keep = (last is None or outside or last[2] or r.quality.value != last[1]
                or (r.source_time - last[0]).total_seconds() >= self.store_every)
        if keep:
            self._last[r.tag] = (r.source_time, r.quality.value, outside)
        return keep

    async def start(self) -> None:
        await self.load_sensors()
        self._task = asyncio.create_task(self._run(), name="reading-recorder")

    def backlog(self) -> int:
        return self.queue.qsize() + len(self.pending)

    def record(self, r: Reading) -> None:
        self.queue.put_nowait(r)
        self.recorded += 1

    async def durable(self) -> bool:
        """Wait until every reading recorded so far is committed; False when that took longer than
        `durable_within` seconds (the database is slow or away: the caller keeps its copy and retries)."""
        target = self.recorded
        if self.committed >= target:
            return True
        self._wake.set()
        try:
            async with self._done:
                await asyncio.wait_for(self._done.wait_for(lambda: self.committed >= target), self.durable_within)
        except TimeoutError:
            return False
        return True

    async def flush(self) -> int:
        """Write everything queued now; returns how many readings were stored. On a database error
        the readings stay pending and the next flush tries again: nothing is lost."""
        async with self._lock:
            written = await self._flush()
        async with self._done:
            self._done.notify_all()
        return written

    async def _flush(self) -> int:
        time = self._time()
        while not self.queue.empty():
            r = self.queue.get_nowait()
            self._taken += 1
            sid = self.sensor_ids.get(r.tag)
            if sid is None:
                self.unknown_tags += 1
                continue
            if not self._keep(r):
                self.thinned += 1
                continue
            self.pending.append((sid, time(r.source_time), time(r.received_at), r.value, r.quality.value))
        written = 0
        driver = bulk(self.db)
        while self.pending:
            chunk = self.pending[:self.batch]
            if driver is not None:
                await driver.insert(SensorReading.__tablename__, COLUMNS, KEY, chunk)
            else:
                async with self.db.write_engine.begin() as conn:
                    await conn.exec_driver_sql(self._insert(), chunk)
            del self.pending[:len(chunk)]
            written += len(chunk)
        self.stored += written
        self.committed = self._taken
        return written

    def _time(self) -> Any:
        return _pg_time if self.db.write_engine.dialect.name == "postgresql" else sqlite_time

    def _insert(self) -> str:
        # The same insert through the write engine, where the driver cannot be reached (in-memory SQLite).
        # Written for the driver with its parameters converted here: SQLAlchemy's per-row processing of
        # the same insert was a seventh of the core's time at 20,000 readings/s.
        mark = "$" if self.db.write_engine.dialect.paramstyle == "numeric_dollar" else "?"
        return values_sql(SensorReading.__tablename__, COLUMNS, KEY, mark)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        reloaded = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                await self.flush()
                if loop.time() - reloaded >= RELOAD_SECONDS:
                    reloaded = loop.time()
                    await self.load_sensors()
            except Exception:  # keep the readings flowing; the failure is logged and retried next tick
                log.exception("storing readings failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


def sqlite_time(value: datetime) -> str:
    """A UTC column's value as SQLAlchemy stores it in SQLite (records.base.UTCDateTime over SQLite's
    DATETIME: naive UTC, `YYYY-MM-DD HH:MM:SS.ffffff`); the unique key of a reading compares these texts."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _pg_time(value: datetime) -> datetime:
    return value.astimezone(UTC)
