"""Alarm performance over a period, as ISA-18.2 and EEMUA 191 measure it: alarms per 10 minutes (average and the
peak window), floods (windows with more than 10), the most frequent sources (bad actors), chattering sources
(as many alarms within the window as the chatter settings say, 3 within a minute by default), the tags the alarm
rules hold declared chattering now, and the alarms standing now (not yet acknowledged, or active for a day)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from policies.errors import AppError, ErrorCode
from records.alarms import (
    CHATTER_COUNT,
    CHATTER_COUNT_KEY,
    CHATTER_SECONDS,
    CHATTER_SECONDS_KEY,
    UNCLEARED,
    Alarm,
    AlarmChatter,
    AlarmState,
)
from records.base import utcnow
from records.identity import Setting
from records.plant import Equipment
from resolvers.context import Context

WINDOW = timedelta(minutes=10)
FLOOD = 10  # alarms in one window (ISA-18.2: more than 10 per 10 minutes per operator)
STALE = timedelta(hours=24)
MAX_PERIOD = timedelta(days=31)


@dataclass(frozen=True)
class Source:
    source: str  # the tag, else the equipment or camera code, else the alarm's source
    alarms: int


@dataclass(frozen=True)
class Declared:
    """A tag the alarm rules declared chattering: no new alarm for it until it settles."""

    tag: str
    declared_at: datetime
    alarms: int
    window_s: int


@dataclass(frozen=True)
class Kpis:
    since: datetime
    until: datetime
    total: int
    by_priority: dict[str, int]
    per_window_average: float
    per_window_peak: int
    peak_window_start: datetime | None
    flood_windows: int
    bad_actors: list[Source]
    chattering: list[Source]
    chattering_now: list[Declared]
    standing: int  # not yet acknowledged now, whenever raised
    stale: int  # in alarm now for more than a day


async def kpis(ctx: Context, since: datetime, until: datetime | None) -> Kpis:
    ctx.signed_in()
    end = until or utcnow()
    if end <= since or end - since > MAX_PERIOD:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"the period must be positive and at most {MAX_PERIOD.days} days")
    async with ctx.db.read() as s:
        rows = (await s.execute(
            select(Alarm.raised_at, Alarm.priority, Alarm.tag, Equipment.code, Alarm.camera_code, Alarm.source)
            .outerjoin(Equipment, Equipment.id == Alarm.equipment_id)
            .where(Alarm.raised_at >= since, Alarm.raised_at < end).order_by(Alarm.raised_at))).all()
        now = utcnow()
        open_rows = (await s.execute(select(Alarm.state, Alarm.raised_at).where(
            Alarm.state != AlarmState.CLOSED))).all()
        declared = (await s.execute(select(AlarmChatter).where(AlarmChatter.ended_at.is_(None))
                                    .order_by(AlarmChatter.declared_at))).scalars().all()
        settings: dict[str, Any] = dict((await s.execute(select(Setting.key, Setting.value).where(
            Setting.key.in_((CHATTER_COUNT_KEY, CHATTER_SECONDS_KEY))))).all())
    n = int(settings.get(CHATTER_COUNT_KEY, CHATTER_COUNT))
    span = timedelta(seconds=int(settings.get(CHATTER_SECONDS_KEY, CHATTER_SECONDS)))
    windows = Counter(int((r.raised_at - since) / WINDOW) for r in rows)
    count = max(1, -(-(end - since) // WINDOW))
    peak = max(windows.items(), key=lambda kv: (kv[1], -kv[0]), default=None)
    times: dict[str, list[datetime]] = defaultdict(list)
    for r in rows:
        times[r.tag or r.code or r.camera_code or r.source].append(r.raised_at)
    chattering = [Source(k, len(v)) for k, v in times.items()
                  if any(v[i + n - 1] - v[i] <= span for i in range(len(v) - n + 1))]
    return Kpis(
        since=since, until=end, total=len(rows), by_priority=dict(Counter(r.priority for r in rows)),
        per_window_average=round(len(rows) / count, 2), per_window_peak=peak[1] if peak else 0,
        peak_window_start=since + WINDOW * peak[0] if peak else None,
        flood_windows=sum(1 for n in windows.values() if n > FLOOD),
        bad_actors=sorted((Source(k, len(v)) for k, v in times.items()), key=lambda x: (-x.alarms, x.source))[:10],
        chattering=sorted(chattering, key=lambda x: (-x.alarms, x.source)),
        chattering_now=[Declared(c.tag, c.declared_at, c.alarms, c.window_s) for c in declared],
        standing=sum(1 for st, _ in open_rows if st in (AlarmState.ACTIVE, AlarmState.CLEARED)),
        stale=sum(1 for st, raised in open_rows if st in UNCLEARED and now - raised > STALE))
