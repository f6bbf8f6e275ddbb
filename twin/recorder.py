"""Batched storage of readings: ingest never waits for the database; a writer task flushes
queued readings in one INSERT per batch (every `interval` seconds or `batch` readings)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite

from records.db import Database
from records.plant import Sensor
from records.readings import SensorReading
from twin.state import Reading

log = logging.getLogger("plasmatwin.recorder")


class Recorder:
    def __init__(self, db: Database, batch: int = 2000, interval: float = 0.5) -> None:
        self.db = db
        self.batch = batch
        self.interval = interval
        self.queue: asyncio.Queue[Reading] = asyncio.Queue()
        self.sensor_ids: dict[str, int] = {}
        self.stored = 0
        self.unknown_tags = 0
        # Drained from the queue but not yet committed: kept until an insert succeeds.
        self.pending: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def load_sensors(self) -> None:
        """The tags it stores readings of (again after a layout import)."""
        async with self.db.read() as s:
            self.sensor_ids = {t: i for t, i in (await s.execute(select(Sensor.tag, Sensor.id))).all()}

    async def start(self) -> None:
        await self.load_sensors()
        self._task = asyncio.create_task(self._run(), name="reading-recorder")

    def backlog(self) -> int:
        return self.queue.qsize() + len(self.pending)

    def record(self, r: Reading) -> None:
        self.queue.put_nowait(r)

    async def flush(self) -> int:
        """Write everything queued now; returns how many readings were stored. On a database error
        the readings stay pending and the next flush tries again: nothing is lost."""
        while not self.queue.empty():
            r = self.queue.get_nowait()
            sid = self.sensor_ids.get(r.tag)
            if sid is None:
                self.unknown_tags += 1
                continue
            self.pending.append({"sensor_id": sid, "source_time": r.source_time, "received_at": r.received_at,
                                 "value": r.value, "quality": r.quality.value})
        written = 0
        while self.pending:
            chunk = self.pending[:self.batch]
            async with self.db.write_engine.begin() as conn:
                await conn.execute(self._insert(), chunk)
            del self.pending[:len(chunk)]
            written += len(chunk)
        self.stored += written
        return written

    def _insert(self) -> Insert:
        # A reading already stored (same sensor and source time) is a replay: skip it, keep the batch.
        dialect = postgresql if self.db.write_engine.dialect.name == "postgresql" else sqlite
        insert: Insert = dialect.insert(SensorReading).on_conflict_do_nothing(
            index_elements=["sensor_id", "source_time"])
        return insert

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception:  # keep the readings flowing; the failure is logged and retried next tick
                log.exception("storing readings failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
