"""Last value of every sensor tag, with its quality and both timestamps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from records.base import utcnow
from subscriptions.bus import Bus

SENSOR_TOPIC = "sensor"


class Quality(StrEnum):
    GOOD = "GOOD"
    UNCERTAIN = "UNCERTAIN"
    BAD = "BAD"
    STALE = "STALE"


@dataclass(frozen=True)
class Reading:
    tag: str
    value: float | None
    quality: Quality
    source_time: datetime
    received_at: datetime


class PlantState:
    """The twin's memory of the plant; ingest updates it and publishes each reading after."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.readings: dict[str, Reading] = {}
        # Set by the composition root when readings are stored (twin.recorder.Recorder.record).
        self.store: Callable[[Reading], None] | None = None

    def ingest(self, tag: str, value: float | None, quality: Quality = Quality.GOOD,
               source_time: datetime | None = None) -> Reading:
        now = utcnow()
        reading = Reading(tag, value, quality, source_time or now, now)
        self.readings[tag] = reading
        if self.store is not None:
            self.store(reading)
        self.bus.publish(SENSOR_TOPIC, reading)
        return reading

    def last(self, tag: str) -> Reading | None:
        return self.readings.get(tag)
