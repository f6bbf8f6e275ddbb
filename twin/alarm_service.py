"""Alarms of the live plant, stored and announced: the rules engine (twin/alarm_rules.py) fed by the
twin, alarm records written by one task, and an event on the bus after each commit (never before: a
subscriber never sees an alarm that is not stored).

Limit alarms come from the sensors' limits and alarm settings. A chattering tag (twin/alarm_rules.py, with the
settings `alarms.chatterCount` and `alarms.chatterSeconds`) is recorded and audited as ALARM_CHATTERING when
declared and ALARM_CHATTER_ENDED when the declaration ends. Event alarms (video analytics and other
sources) are momentary: stored already returned to normal and waiting for acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import insert, select

from records import audit
from records.alarms import (
    CHATTER_COUNT,
    CHATTER_COUNT_KEY,
    CHATTER_SECONDS,
    CHATTER_SECONDS_KEY,
    UNCLEARED,
    Alarm,
    AlarmChatter,
    AlarmEvent,
    AlarmShelf,
    AlarmSource,
    AlarmState,
    alarm_unit,
    snapshot,
)
from records.audit import AuditContext, PendingEvent
from records.base import utcnow
from records.db import Database
from records.identity import Setting
from records.plant import Equipment, LogKind, Room, Sensor, log_line
from records.plasma import PlasmaUnit
from subscriptions.bus import Bus
from subscriptions.topics import ALARM_TOPIC
from twin.alarm_rules import AlarmEngine, Chatter, Priority, Rule, Transition
from twin.process_watch import Excursion, ProcessWatch
from twin.state import Reading

log = logging.getLogger("plasmatwin.alarms")

SYSTEM = AuditContext("system", reason="alarm rules")
# Waiting transitions the writer takes at once; consecutive RAISED ones among them share one transaction.
RAISE_TOGETHER = 200


def _groups(items: list[Transition | Excursion]) -> list[list[Transition | Excursion]]:
    """The items in order, consecutive limit alarms RAISED together in one group, every other alone (a
    tag's RAISED and its CLEARED never trade places)."""
    out: list[list[Transition | Excursion]] = []
    for item in items:
        raising = isinstance(item, Transition) and item.kind == "RAISED"
        if raising and out and isinstance(out[-1][0], Transition) and out[-1][0].kind == "RAISED":
            out[-1].append(item)
        else:
            out.append([item])
    return out
# Equipment states in which its tags' limit alarms are suppressed (ISA-18.2 suppression by state): held back,
# audited, and raised when the equipment leaves the state while the value is still out of its limits.
SUPPRESSING = frozenset({"MAINTENANCE", "OUT_OF_SERVICE"})
RELEASE_EVERY = 5.0
# Units still lying in a cold store (not yet pooled, disposed or shipped back).
STORED_STATES = ("RECEIVED", "QUARANTINED", "RELEASED", "BLOCKED")


async def chatter_setting(s: Any) -> Chatter:
    """The chattering rule from the plain settings, else the defaults (3 alarms within 60 s)."""
    rows = dict((await s.execute(select(Setting.key, Setting.value).where(
        Setting.key.in_((CHATTER_COUNT_KEY, CHATTER_SECONDS_KEY))))).all())
    return Chatter(int(rows.get(CHATTER_COUNT_KEY, CHATTER_COUNT)),
                   timedelta(seconds=int(rows.get(CHATTER_SECONDS_KEY, CHATTER_SECONDS))))


@dataclass(frozen=True)
class Place:
    sensor_id: int
    room_id: int
    room_code: str
    equipment_id: int | None
    equipment_code: str | None
    name: str
    unit: str
    cold_store: bool


@dataclass
class AlarmService:
    db: Database
    bus: Bus
    engine: AlarmEngine = field(default_factory=AlarmEngine)
    places: dict[str, Place] = field(default_factory=dict)
    rooms: dict[int, str] = field(default_factory=dict)
    equipment: dict[int, str] = field(default_factory=dict)
    # Open limit alarm id per tag, and the extreme value seen while it stands.
    open_ids: dict[str, int] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=dict)
    # The running phases' critical parameters, against their recipe's limits (PR-51).
    process: ProcessWatch = field(default_factory=ProcessWatch)
    raised = 0
    # Limit alarms held back while their equipment is in a suppressing state, by tag.
    held: dict[str, Transition] = field(default_factory=dict)
    # The open chattering declaration (alarm_chatter row) per tag.
    chatter_ids: dict[str, int] = field(default_factory=dict)
    _queue: asyncio.Queue[Transition | Excursion] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None
    _releaser: asyncio.Task[None] | None = None
    _reloads: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        await self.load()
        self._task = asyncio.create_task(self._run(), name="alarm-writer")
        self._releaser = asyncio.create_task(self._release_loop(), name="alarm-suppression")

    async def _release_loop(self) -> None:
        while True:
            await asyncio.sleep(RELEASE_EVERY)
            try:
                await self.release_held()
                async with self.db.read() as s:  # a changed chatter setting takes effect within seconds
                    self.engine.chatter = await chatter_setting(s)
            except Exception:  # the next round tries again
                log.exception("releasing suppressed alarms failed")

    async def _suppressed_by(self, tag: str, place: Place) -> str | None:
        """Why the tag's alarms are held back now: shelved by an operator, or its equipment's state."""
        now = utcnow()
        async with self.db.read() as s:
            shelf = (await s.execute(select(AlarmShelf.shelved_by).where(
                AlarmShelf.tag == tag, AlarmShelf.ended_at.is_(None), AlarmShelf.until > now).limit(1))
                     ).scalar_one_or_none()
            if shelf is not None:
                return f"shelved by {shelf}"
            if place.equipment_id is None:
                return None
            status = (await s.execute(select(Equipment.status).where(Equipment.id == place.equipment_id))
                      ).scalar_one_or_none()
        return f"equipment {place.equipment_code} is {status}" if status in SUPPRESSING else None

    async def release_held(self) -> None:
        """Raise the alarms held back while their equipment was in maintenance or out of service, now that it
        is not (the value is still out of its limits: the engine has not cleared them)."""
        for tag, t in list(self.held.items()):
            place = self.places.get(tag)
            if place is None or await self._suppressed_by(tag, place) is None:
                if self.held.pop(tag, None) is not None:
                    self._queue.put_nowait(replace(t, at=utcnow()))

    def phases_changed(self, _: object = None) -> None:
        """A phase started or completed on some node (the PHASE topic): reload the watched parameters."""
        task = asyncio.get_running_loop().create_task(self.load_phases(), name="alarm-phases")
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def load_phases(self) -> None:
        try:
            async with self.db.read() as s:
                await self.process.load(s)
        except Exception:  # the next phase event or a restart loads them again
            log.exception("loading the running phases' parameters failed")

    async def settled(self) -> None:
        """Wait for the phase reloads under way (tests)."""
        while self._reloads:
            await asyncio.gather(*self._reloads)

    async def load(self) -> None:
        """Rules from the sensors; alarms still standing from before a restart are picked up, not raised again."""
        async with self.db.read() as s:
            self.rooms = dict((await s.execute(select(Room.id, Room.code))).all())
            self.equipment = dict((await s.execute(select(Equipment.id, Equipment.code))).all())
            rules: dict[str, Rule] = {}
            for sn in (await s.execute(select(Sensor))).scalars():
                code = self.rooms[sn.room_id]
                self.places[sn.tag] = Place(
                    sn.id, sn.room_id, code, sn.equipment_id, self.equipment.get(sn.equipment_id or -1),
                    sn.name, sn.unit, sn.kind == "temperature" and code.startswith("CS") and sn.equipment_id is None)
                if sn.high_limit is None and sn.low_limit is None:
                    continue
                rules[sn.tag] = Rule(sn.tag, high=sn.high_limit, low=sn.low_limit,
                                     on_delay=timedelta(seconds=sn.alarm_delay_s), deadband=sn.alarm_deadband,
                                     priority=Priority(sn.alarm_priority))
            self.engine.rules = rules
            self.engine.chatter = await chatter_setting(s)
            standing = (await s.execute(select(Alarm).where(
                Alarm.source == AlarmSource.LIMIT, Alarm.state.in_(UNCLEARED)))).scalars().all()
            declared = (await s.execute(select(AlarmChatter).where(AlarmChatter.ended_at.is_(None)))).scalars().all()
            await self.process.load(s)
        for a in standing:
            if a.tag is not None:
                self.open_ids[a.tag] = a.id
                self.engine.restore(a.tag, a.condition, a.began_at)
        for c in declared:
            self.chatter_ids[c.tag] = c.id
            self.engine.restore_chattering(c.tag, c.declared_at)

    async def take_over(self) -> None:
        """This process starts evaluating the rules (it took the lead among the API processes): it starts
        from what the database holds now, since another process may have raised or cleared alarms meanwhile."""
        self.engine, self.process = AlarmEngine(), ProcessWatch()
        self.open_ids.clear()
        self.peaks.clear()
        self.held.clear()
        self.chatter_ids.clear()
        await self.load()

    def feed(self, r: Reading) -> None:
        """Called by the twin with every new last value; never waits for the database."""
        if r.value is not None and r.tag in self.open_ids:
            peak = self.peaks.get(r.tag, r.value)
            self.peaks[r.tag] = max(peak, r.value) if self.engine.condition(r.tag) == "HIGH" else min(peak, r.value)
        for t in self.engine.feed(r.tag, r.value, r.source_time):
            if t.kind == "RAISED":
                self.peaks[t.tag] = t.value
            self._queue.put_nowait(t)
        for x in self.process.feed(r.tag, r.value, r.source_time):
            self._queue.put_nowait(x)

    async def drain(self) -> None:
        """Wait until every transition fed so far is stored and published (tests, shutdown)."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            items = [await self._queue.get()]
            while len(items) < RAISE_TOGETHER and not self._queue.empty():
                items.append(self._queue.get_nowait())
            try:
                for group in _groups(items):
                    for attempt in range(1, 1_000_000):
                        try:
                            if len(group) > 1:
                                await self._raise(cast("list[Transition]", group))
                            else:
                                await self._apply(group[0])
                            break
                        except Exception:  # keep the alarm: retry until the database takes it
                            log.exception("storing alarm transition %s failed (attempt %d)", group[0], attempt)
                            await asyncio.sleep(min(5.0, 0.1 * 2 ** attempt))
            finally:
                for _ in items:
                    self._queue.task_done()

    async def _apply(self, item: Transition | Excursion) -> None:
        if isinstance(item, Excursion):
            await self._apply_process(item)
            return
        t = item
        place = self.places.get(t.tag)
        if place is None:
            return
        if t.kind in ("CHATTERING", "CHATTER_ENDED"):
            await self._apply_chatter(t, place)
            return
        if t.kind == "RAISED":
            await self._raise([t])
            return
        if self.held.pop(t.tag, None) is not None:  # back within limits while suppressed: nothing to raise
            return
        alarm_id = self.open_ids.pop(t.tag, None)
        peak = self.peaks.pop(t.tag, None)
        if alarm_id is None:
            return
        async with self.db.write(AuditContext("system", reason="returned to normal")) as s:
            a = await s.get_one(Alarm, alarm_id)
            a.cleared_at = t.at
            a.peak = peak if peak is not None else a.peak
            a.state = AlarmState(a.state).cleared()
            if a.equipment_id is not None:
                s.add(log_line(a.equipment_id, LogKind.ALARM, f"returned to normal: {a.message}", "system", at=t.at,
                               reference=f"alarm:{a.id}"))
        self._publish("CLEARED", a)

    async def _raise(self, ts: list[Transition]) -> None:
        """Raise limit alarms, all in one transaction: in an alarm flood, one write (and on SQLite one hold
        of the write lock) for every transition waiting, not one each. A suppressed one is held back and
        audited once; it leaves `ts`, so a retry after a failed write does not audit it again."""
        prepared: list[tuple[Transition, Place, str]] = []
        for t in list(ts):
            place = self.places.get(t.tag)
            if place is None:
                ts.remove(t)
                continue
            word = "above high limit" if t.condition == "HIGH" else "below low limit"
            msg = f"{place.name} {t.value:g} {place.unit} {word} {t.limit:g} {place.unit}"
            why = await self._suppressed_by(t.tag, place)
            if why is not None:
                self.held[t.tag] = t
                await self.db.record(AuditContext("system", reason=why),
                                     PendingEvent("ALARM_SUPPRESSED", "alarm_suppression", t.tag, {
                                         "condition": [None, t.condition], "value": [None, t.value],
                                         "limit": [None, t.limit], "why": [None, why], "message": [None, msg]}))
                ts.remove(t)
                continue
            prepared.append((t, place, msg))
        if not prepared:
            return
        raised: list[Alarm] = []
        async with self.db.write(SYSTEM) as s:
            for t, place, msg in prepared:
                link = self.process.watched.get(t.tag)  # the tag is a parameter of a running phase
                a = Alarm(source="LIMIT", condition=t.condition, priority=t.priority.value, state="ACTIVE",
                          tag=t.tag, room_id=place.room_id, equipment_id=place.equipment_id, message=msg,
                          value=t.value, limit_value=t.limit, peak=t.value, began_at=t.since, raised_at=t.at,
                          batch_number=link.batch_number if link else None,
                          phase_code=link.phase_code if link else None)
                s.add(a)
                await s.flush()
                if place.equipment_id is not None:  # the equipment's logbook (B.2) notes it as it happens
                    s.add(log_line(place.equipment_id, LogKind.ALARM, f"alarm raised: {msg}", "system", at=t.at,
                                   reference=f"alarm:{a.id}"))
                if place.cold_store:
                    await self._link_stored_units(s, a.id, place.room_code)
                raised.append(a)
        for (t, _, _), a in zip(prepared, raised, strict=True):
            self.open_ids[t.tag] = a.id
            self.raised += 1
            self._publish("RAISED", a)

    async def _apply_chatter(self, t: Transition, place: Place) -> None:
        """Declared chattering (no new alarm for the tag meanwhile), or the declaration ended: recorded, audited."""
        chatter = self.engine.chatter
        if t.kind == "CHATTERING":
            assert chatter is not None
            seconds = int(chatter.window.total_seconds())
            why = f"{chatter.count} alarms within {seconds} s"
            async with self.db.write(AuditContext("system", reason=f"chattering: {why}")) as s:
                c = AlarmChatter(tag=t.tag, alarms=chatter.count, window_s=seconds, declared_at=t.at)
                s.add(c)
                await s.flush()
                await audit.add(s, PendingEvent("ALARM_CHATTERING", "alarm_chatter", t.tag, {
                    "alarms": [None, chatter.count], "windowSeconds": [None, seconds],
                    "firstRaisedAt": [None, audit.iso(t.since)], "message": [None, f"{place.name}: {why}"]}))
                if place.equipment_id is not None:
                    s.add(log_line(place.equipment_id, LogKind.ALARM, f"chattering ({why}): {place.name}", "system",
                                   at=t.at, reference=f"alarm-chatter:{c.id}"))
            self.chatter_ids[t.tag] = c.id
            return
        chatter_id = self.chatter_ids.pop(t.tag, None)
        how = "an excursion lasted the chatter window" if t.condition else "within limits for the chatter window"
        async with self.db.write(AuditContext("system", reason=f"chattering ended: {how}")) as s:
            if chatter_id is not None:
                (await s.get_one(AlarmChatter, chatter_id)).ended_at = t.at
            await audit.add(s, PendingEvent("ALARM_CHATTER_ENDED", "alarm_chatter", t.tag, {
                "declaredAt": [None, audit.iso(t.since)], "why": [None, how]}))

    async def _apply_process(self, x: Excursion) -> None:
        """A running phase's parameter left its recipe's limits, or came back (PR-51)."""
        t, w, place = x.transition, x.watched, self.places.get(x.transition.tag)
        if t.kind == "RAISED":
            word = "above its high limit" if t.condition == "HIGH" else "below its low limit"
            msg = f"{w.batch_number} {w.phase_code}: {w.name} {t.value:g} {w.unit} {word} {t.limit:g} {w.unit}"
            async with self.db.write(AuditContext("system", reason="recipe limits")) as s:
                a = Alarm(source=AlarmSource.PROCESS.value, condition=t.condition, priority=t.priority.value,
                          state="ACTIVE", tag=t.tag, room_id=place.room_id if place else None,
                          equipment_id=place.equipment_id if place else None, message=msg, value=t.value,
                          limit_value=t.limit, peak=t.value, began_at=t.since, raised_at=t.at,
                          batch_number=w.batch_number, phase_code=w.phase_code)
                s.add(a)
                await s.flush()
                if a.equipment_id is not None:
                    s.add(log_line(a.equipment_id, LogKind.ALARM, f"alarm raised: {msg}", "system", at=t.at,
                                   reference=f"alarm:{a.id}"))
            self.process.open_ids[t.tag] = a.id
            self.raised += 1
            self._publish("RAISED", a)
            return
        alarm_id = self.process.open_ids.pop(t.tag, None)
        if alarm_id is None:
            return
        async with self.db.write(AuditContext("system", reason="back within the recipe's limits")) as s:
            a = await s.get_one(Alarm, alarm_id)
            if a.cleared_at is not None:  # the phase completed meanwhile and cleared it
                return
            a.cleared_at = t.at
            a.state = AlarmState(a.state).cleared()
            if a.equipment_id is not None:
                s.add(log_line(a.equipment_id, LogKind.ALARM, f"returned to normal: {a.message}", "system", at=t.at,
                               reference=f"alarm:{a.id}"))
        self._publish("CLEARED", a)

    async def _link_stored_units(self, s: Any, alarm_id: int, room_code: str) -> None:
        # PL-12: the abnormality is linked to every unit lying in that cold store when it was raised.
        ids = (await s.execute(select(PlasmaUnit.id).where(
            PlasmaUnit.storage_location.like(f"{room_code}-%"), PlasmaUnit.status.in_(STORED_STATES)))).scalars().all()
        if ids:
            await s.execute(insert(alarm_unit), [{"alarm_id": alarm_id, "plasma_unit_id": i} for i in ids])

    async def raise_event(self, *, source: str, condition: str, room_code: str, message: str,
                          priority: Priority = Priority.MEDIUM, camera_code: str | None = None,
                          equipment_code: str | None = None, at: datetime | None = None,
                          actor: AuditContext | None = None) -> int:
        """A momentary alarm (such as a video-analytics event): stored returned to normal, awaiting
        acknowledgement. Returns the alarm id."""
        room_id = next((i for i, c in self.rooms.items() if c == room_code), None)
        if room_id is None:
            raise KeyError(f"unknown room {room_code}")
        eq_id = next((i for i, c in self.equipment.items() if c == equipment_code), None) if equipment_code else None
        when = at or utcnow()
        async with self.db.write(actor or AuditContext("system", reason=f"{source} event")) as s:
            a = Alarm(source=source, condition=condition, priority=priority.value, state="CLEARED", room_id=room_id,
                      equipment_id=eq_id, camera_code=camera_code, message=message, began_at=when, raised_at=when,
                      cleared_at=when)
            s.add(a)
            if eq_id is not None:
                await s.flush()
                s.add(log_line(eq_id, LogKind.ALARM, f"{source} event: {message}", "system", at=when,
                               reference=f"alarm:{a.id}"))
        self.raised += 1
        self._publish("RAISED", a)
        return a.id

    def _publish(self, kind: str, a: Alarm) -> None:
        self.bus.publish(ALARM_TOPIC, AlarmEvent(kind, snapshot(
            a, self.rooms.get(a.room_id or -1), self.equipment.get(a.equipment_id or -1))))

    def published(self, kind: str, a: Alarm) -> None:
        """For writers outside this service (acknowledgement): publish after their commit."""
        self._publish(kind, a)

    async def stop(self) -> None:
        if self._releaser is not None:
            self._releaser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._releaser
        await self.settled()
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.drain(), 10)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
