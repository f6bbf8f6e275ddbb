"""Sensor history for trends: raw points when few, else min/max/avg buckets, at most maxPoints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.plant import Sensor
from records.readings import SensorReading
from resolvers.context import Context

Parts = Select[*tuple[Any, ...]]  # the terms of a UNION ALL, one per window
MAX_POINTS = 5000
MAX_SPAN = timedelta(days=400)


@dataclass(frozen=True)
class Point:
    time: datetime
    value: float | None
    min: float | None
    max: float | None
    count: int


@dataclass(frozen=True)
class Window:
    """The key of one history: a tag's readings from `since` to `until`, in at most `max_points` points."""

    tag: str
    since: datetime
    until: datetime
    max_points: int


def bucket(dialect: str, since: datetime, width: float) -> Any:
    col = SensorReading.source_time
    if dialect == "sqlite":
        start = since.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return cast((func.julianday(col) - func.julianday(start)) * 86400.0 / width, Integer)
    return func.floor(func.extract("epoch", col - since) / width)


async def tag_history(ctx: Context, tag: str, since: datetime, until: datetime, max_points: int) -> list[Point]:
    """One field: a tag's history in its own read session."""
    async with ctx.db.read() as s:
        return await history(s, tag, since, until, max_points)


async def history(s: AsyncSession, tag: str, since: datetime, until: datetime, max_points: int) -> list[Point]:
    found = (await histories(s, [Window(tag, since, until, max_points)]))[0]
    if isinstance(found, AppError):
        raise found
    return found


async def histories(s: AsyncSession, windows: Sequence[Window]) -> list[list[Point] | AppError]:
    """The history of each window, in their order (a refused window gets its error): a fixed number of
    statements for any number of windows, each one counted, read or bucketed over its own range as
    `history` does for one. SQLite allows 500 UNION ALL terms: resolvers.loaders batches fewer."""
    refused: dict[int, AppError] = {k: e for k, w in enumerate(windows) if (e := _refusal(w)) is not None}
    tags = {w.tag for k, w in enumerate(windows) if k not in refused}
    ids: dict[str, int] = dict((await s.execute(select(Sensor.tag, Sensor.id).where(Sensor.tag.in_(tags)))).all()) \
        if tags else {}
    ranges: dict[int, tuple[Any, ...]] = {}
    for k, w in enumerate(windows):
        if k in refused:
            continue
        if w.tag not in ids:
            refused[k] = AppError(ErrorCode.NOT_FOUND, f"no sensor {w.tag}")
            continue
        ranges[k] = (SensorReading.sensor_id == ids[w.tag], SensorReading.source_time >= w.since,
                     SensorReading.source_time < w.until)
    points: dict[int, list[Point]] = {k: [] for k in ranges}
    if ranges:
        counts: dict[int, int] = dict((await s.execute(_union([
            select(literal(k).label("k"), func.count().label("n")).select_from(SensorReading).where(*where)
            for k, where in ranges.items()]))).all())
        raw = [k for k in ranges if counts.get(k, 0) <= windows[k].max_points]
        if raw:
            for k, t, v in await _ordered(s, "t", [
                    select(literal(k).label("k"), SensorReading.source_time.label("t"), SensorReading.value)
                    .where(*ranges[k]) for k in raw]):
                points[k].append(Point(t, v, v, v, 1))
        if len(raw) < len(ranges):
            await _buckets(s, windows, {k: where for k, where in ranges.items() if k not in raw}, points)
    return [refused[k] if k in refused else points[k] for k in range(len(windows))]


async def _buckets(s: AsyncSession, windows: Sequence[Window], ranges: dict[int, tuple[Any, ...]],
                   points: dict[int, list[Point]]) -> None:
    dialect = (await s.connection()).dialect.name
    parts: list[Parts] = []
    for k, where in ranges.items():
        b = bucket(dialect, windows[k].since, _width(windows[k])).label("b")
        parts.append(select(literal(k).label("k"), b, func.min(SensorReading.value).label("lo"),
                            func.max(SensorReading.value).label("hi"), func.avg(SensorReading.value).label("mean"),
                            func.count().label("n")).where(*where).group_by(b))
    for k, bk, lo, hi, mean, n in await _ordered(s, "b", parts):
        w = windows[k]
        points[k].append(Point(w.since + timedelta(seconds=float(bk) * _width(w)), mean, lo, hi, int(n)))


def _refusal(w: Window) -> AppError | None:
    if not 2 <= w.max_points <= MAX_POINTS:
        return AppError(ErrorCode.VALIDATION_FAILED, f"maxPoints must be between 2 and {MAX_POINTS}")
    if w.until <= w.since or w.until - w.since > MAX_SPAN:
        return AppError(ErrorCode.VALIDATION_FAILED, "from must be before to, at most 400 days apart")
    return None


def _width(w: Window) -> float:
    return (w.until - w.since).total_seconds() / w.max_points


def _union(parts: Sequence[Parts]) -> Any:
    return parts[0] if len(parts) == 1 else union_all(*parts)


async def _ordered(s: AsyncSession, by: str, parts: Sequence[Parts]) -> Sequence[Any]:
    u = _union(parts).subquery()
    return (await s.execute(select(u).order_by(u.c.k, u.c[by]))).all()
