"""The ingest interface: batches of readings as the device bridge sends them (JSON objects with tag,
value, quality and sourceTime), checked one by one so a bad reading never blocks the good ones."""

from __future__ import annotations

import asyncio
import contextlib
import math
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from records.readings import Quality
from twin.state import PlantState

MAX_BATCH = 20_000
# Readings applied per turn of the event loop: 2,000 in one go held the core's sockets for ~50 ms.
CHUNK = 250
# Readings waiting for storage beyond which ingest says "busy": the bridge keeps them in its own
# durable buffer and retries, so a core that cannot keep up neither loses readings nor grows in memory.
MAX_BACKLOG = 100_000


# By name: `Quality.__members__` builds a new mapping on every call, once per reading.
QUALITIES = {q.name: q for q in Quality}


class Busy(Exception):
    pass


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    unknown_tags: set[str] = field(default_factory=set)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "unknownTags": sorted(self.unknown_tags),
                "rejected": self.rejected}


def _parse(r: Any) -> tuple[str, float | None, Quality, datetime]:
    if not isinstance(r, dict):
        raise ValueError("a reading is a JSON object")
    tag, value, quality, when = r.get("tag"), r.get("value"), r.get("quality", "GOOD"), r.get("sourceTime")
    if not isinstance(tag, str) or not tag or len(tag) > 64:
        raise ValueError("tag must be a string of 1-64 characters")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if value is not None and (not number or not math.isfinite(value)):
        raise ValueError("value must be a finite number or null")
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {', '.join(Quality)}")
    if not isinstance(when, str):
        raise ValueError("sourceTime (RFC 3339, UTC) is required")
    try:
        at = datetime.fromisoformat(when)
    except ValueError as e:
        raise ValueError(f"sourceTime is not RFC 3339: {when!r}") from e
    if at.tzinfo is None:
        raise ValueError("sourceTime needs a UTC offset")
    return tag, None if value is None else float(value), QUALITIES[quality], at


def ingest_batch(twin: PlantState, readings: Any) -> IngestResult:
    out = _admit(twin, readings)
    _apply(twin, readings, 0, len(readings), out)
    return out


def _admit(twin: PlantState, readings: Any) -> IngestResult:
    if not isinstance(readings, list):
        raise ValueError("readings must be a list")
    if len(readings) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} readings per batch")
    if (waiting := twin.backlog()) > MAX_BACKLOG:
        raise Busy(f"storage is behind ({waiting} readings waiting); keep the batch and retry")
    return IngestResult()


def _apply(twin: PlantState, readings: list[Any], lo: int, hi: int, out: IngestResult) -> None:
    for i in range(lo, min(hi, len(readings))):
        try:
            tag, value, quality, at = _parse(readings[i])
        except ValueError as e:
            out.rejected.append({"index": i, "reason": str(e)})
            continue
        if twin.tags is not None and tag not in twin.tags:
            out.unknown_tags.add(tag)
            continue
        if twin.ingest(tag, value, quality, at) is None:
            out.duplicates += 1
        else:
            out.accepted += 1


async def take(twin: PlantState, readings: Any, turn: AbstractAsyncContextManager[None] | None = None) -> IngestResult:
    """`ingest_batch`, answered only once everything taken so far is stored: a caller that deletes its
    copy on the answer loses nothing. Busy when the store did not commit in time (keep and retry).
    `turn` (twin.sequence.Sequencer.turn) holds the batch until the bridge's earlier ones are applied;
    it is left before the commit wait, so the next batch is applied while this one is being stored."""
    async with turn or contextlib.nullcontext():
        result = _admit(twin, readings)
        for lo in range(0, len(readings), CHUNK):
            if lo:  # a big batch lets the sockets and other requests run between its chunks
                await asyncio.sleep(0)
            _apply(twin, readings, lo, lo + CHUNK, result)
    if twin.durable is not None and not await twin.durable():
        raise Busy("readings taken but not stored yet; keep the batch and retry (replays are harmless)")
    return result
