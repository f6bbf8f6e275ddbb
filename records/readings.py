"""Raw sensor readings (automatic data capture): append-only, the source timestamp beside the
server's receive time, quality kept (never silently dropped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId

# The plant's setting that thins stored readings (twin/recorder.py); 0 or unset stores every reading.
STORE_EVERY_KEY = "readings.storeEverySeconds"


class Quality(StrEnum):
    """OPC UA's quality of a value; STALE marks a tag silent past its limit (device-bridge)."""

    GOOD = "GOOD"
    UNCERTAIN = "UNCERTAIN"
    BAD = "BAD"
    STALE = "STALE"


class SensorReading(Base):
    __tablename__ = "sensor_reading"
    # The idempotency key of a reading: a bridge replaying its buffer after an outage stores nothing twice.
    __table_args__ = (Index("uq_sensor_reading_sensor_time", "sensor_id", "source_time", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sensor.id"))
    source_time: Mapped[datetime]
    received_at: Mapped[datetime]
    value: Mapped[float | None] = mapped_column(Float)
    # GOOD, UNCERTAIN, BAD or STALE
    quality: Mapped[str] = mapped_column(String(10))


@dataclass(frozen=True)
class Reading:
    """One value of a tag as the twin takes it in, with its quality and the device's time."""

    tag: str
    value: float | None
    quality: Quality
    source_time: datetime
    received_at: datetime
