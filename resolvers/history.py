"""Sensor history for trends: raw points when few, else min/max/avg buckets, at most maxPoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.plant import Sensor
from records.readings import SensorReading

MAX_POINTS = 5000
MAX_SPAN = timedelta(days=400)


@dataclass(frozen=True)
class Point:
    time: datetime
    value: float | None
    min: float | None
    max: float | None
    count: int


def bucket(dialect: str, since: datetime, width: float) -> Any:
    col = SensorReading.source_time
    if dialect == "sqlite":
        start = since.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return cast((func.julianday(col) - func.julianday(start)) * 86400.0 / width, Integer)
    return func.floor(func.extract("epoch", col - since) / width)


async def history(s: AsyncSession, tag: str, since: datetime, until: datetime, max_points: int) -> list[Point]:
    if not 2 <= max_points <= MAX_POINTS:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"maxPoints must be between 2 and {MAX_POINTS}")
    if until <= since or until - since > MAX_SPAN:
        raise AppError(ErrorCode.VALIDATION_FAILED, "from must be before to, at most 400 days apart")
    sid = (await s.execute(select(Sensor.id).where(Sensor.tag == tag))).scalar_one_or_none()
    if sid is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no sensor {tag}")
    window = (SensorReading.sensor_id == sid, SensorReading.source_time >= since, SensorReading.source_time < until)
    n = (await s.execute(select(func.count()).select_from(SensorReading).where(*window))).scalar_one()
    if n <= max_points:
        rows = (await s.execute(select(SensorReading.source_time, SensorReading.value).where(*window)
                                .order_by(SensorReading.source_time))).all()
        return [Point(t, v, v, v, 1) for t, v in rows]
    width = (until - since).total_seconds() / max_points
    dialect = (await s.connection()).dialect.name
    b = bucket(dialect, since, width).label("b")
    buckets: list[Any] = list((await s.execute(
        select(b, func.min(SensorReading.value), func.max(SensorReading.value), func.avg(SensorReading.value),
               func.count()).where(*window).group_by(b).order_by(b))).all())
    return [Point(since + timedelta(seconds=float(bk) * width), avg, lo, hi, int(c)) for bk, lo, hi, avg, c in buckets]
