"""Last value of every sensor tag, with its quality and both timestamps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from records.base import utcnow
from records.readings import Quality as Quality  # callers of the twin name them here too
from records.readings import Reading as Reading
from subscriptions.bus import Bus
from subscriptions.topics import SENSOR_TOPIC as SENSOR_TOPIC


class PlantState:
    """The twin's memory of the plant; ingest updates it and publishes each reading after.

    A reading's identity is (tag, source time). The same reading again (a bridge replaying its buffer)
    is dropped; an older one (late or replayed out of an outage) is stored but changes neither the
    last value nor the alarms, which must see time move forwards.
    """

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.readings: dict[str, Reading] = {}
        # Set by the composition root when readings are stored (twin.recorder.Recorder.record).
        self.store: Callable[[Reading], None] | None = None
        # Called with each new last value (the alarm service); set by the composition root.
        self.watch: Callable[[Reading], None] | None = None
        # Known tags, when the composition root loaded them; None accepts every tag.
        self.tags: frozenset[str] | None = None
        # Readings taken but not yet stored (the recorder's backlog); ingest refuses work beyond a limit.
        self.backlog: Callable[[], int] = lambda: 0
        # Waits until the readings taken so far are stored (twin.recorder.Recorder.durable); False: not in time.
        self.durable: Callable[[], Awaitable[bool]] | None = None
        self.ingested = 0
        self.duplicates = 0

    def ingest(self, tag: str, value: float | None, quality: Quality = Quality.GOOD,
               source_time: datetime | None = None) -> Reading | None:
        """The reading, or None for a duplicate."""
        now = utcnow()
        reading = Reading(tag, value, quality, source_time or now, now)
        last = self.readings.get(tag)
        if last is not None and reading.source_time <= last.source_time:
            if reading.source_time == last.source_time:
                self.duplicates += 1
                return None
            if self.store is not None:
                self.store(reading)
            self.ingested += 1
            return reading
        self.readings[tag] = reading
        self.ingested += 1
        if self.store is not None:
            self.store(reading)
        if self.watch is not None:
            self.watch(reading)
        self.bus.publish(SENSOR_TOPIC, reading, key=tag)
        return reading

    def observe(self, r: Reading) -> bool:
        """A reading another API node ingested (through the bus): it becomes the last value here too.
        True when it did (it is newer than the last one known here)."""
        last = self.readings.get(r.tag)
        if last is None or r.source_time > last.source_time:
            self.readings[r.tag] = r
            return True
        return False

    def last(self, tag: str) -> Reading | None:
        return self.readings.get(tag)
