"""The plantState stream: a snapshot of every tag and equipment state of a plant, then only what
changed, at most one message per interval (state streams coalesce: the newest value wins).

One channel per plant and interval collects the changes for all its subscribers and builds each
delta once; each distinct rendering of it (a query's selection, written as JSON by the live fast
path) is made once per delta, however many control rooms watch. A subscriber that falls more than a
few deltas behind is sent a fresh snapshot instead of the deltas it missed, so a slow client costs
memory bounded by the plant, and never a wrong picture.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from policies.errors import AppError, ErrorCode
from records.plant import Area, Equipment, Plant, Room, Sensor
from records.readings import Quality as Quality  # the value list, for the schema
from records.readings import Reading as Reading  # the value the schema converts
from resolvers.context import Context
from subscriptions.bus import Bus
from subscriptions.topics import EQUIPMENT_TOPIC, SENSOR_TOPIC

if TYPE_CHECKING:  # the twin reaches resolvers through the Services the composition root builds
    from twin.state import PlantState

BEHIND = 8  # deltas a subscriber may have waiting before it is resynchronised with a snapshot
RESYNC = object()


@dataclass(frozen=True)
class StateMessage:
    snapshot: bool
    readings: list[Reading]
    # (equipment code, status)
    equipment: list[tuple[str, str]]
    # Tag values replaced by newer ones within the interval before this delta was built.
    coalesced: int


Render = Callable[[StateMessage], Any]


@dataclass(eq=False)
class _Subscriber:
    render: Render
    queue: asyncio.Queue[Any] = field(default_factory=lambda: asyncio.Queue(BEHIND))
    # A snapshot is owed: deltas built meanwhile are older than it and are not queued.
    resync: bool = False


class Channel:
    def __init__(self, bus: Bus, twin: PlantState, tags: frozenset[str], equipment: dict[str, str],
                 interval: float) -> None:
        self.twin = twin
        self.tags = tags
        self.equipment = equipment
        self.interval = interval
        self.subscribers: set[_Subscriber] = set()
        self.changed: dict[str, Reading] = {}
        self.changed_eq: dict[str, str] = {}
        self.coalesced = 0
        self.wake = asyncio.Event()
        self.stack = ExitStack()
        self.stack.enter_context(bus.listen(SENSOR_TOPIC, self._reading, lambda r: r.tag in tags))
        self.stack.enter_context(bus.listen(EQUIPMENT_TOPIC, self._equipment, lambda e: e["code"] in equipment))
        self.task = asyncio.create_task(self._run(), name="plant-state-channel")

    def _reading(self, r: Reading) -> None:
        if r.tag in self.changed:
            self.coalesced += 1
        self.changed[r.tag] = r
        self.wake.set()

    def _equipment(self, e: dict[str, Any]) -> None:
        self.equipment[e["code"]] = self.changed_eq[e["code"]] = e["status"]
        self.wake.set()

    def snapshot(self) -> StateMessage:
        current = [r for t in sorted(self.tags) if (r := self.twin.last(t)) is not None]
        return StateMessage(True, current, sorted(self.equipment.items()), 0)

    async def _run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            msg = StateMessage(False, list(self.changed.values()), sorted(self.changed_eq.items()), self.coalesced)
            self.changed, self.changed_eq, self.coalesced = {}, {}, 0
            rendered: dict[Render, Any] = {}
            for sub in tuple(self.subscribers):
                if sub.render not in rendered:
                    rendered[sub.render] = sub.render(msg)
                self._offer(sub, rendered[sub.render])
            await asyncio.sleep(self.interval)

    @staticmethod
    def _offer(sub: _Subscriber, item: Any) -> None:
        if sub.resync:
            return
        if sub.queue.full():  # too far behind: drop its backlog, it gets a fresh snapshot next
            while not sub.queue.empty():
                sub.queue.get_nowait()
            sub.resync = True
            sub.queue.put_nowait(RESYNC)
            return
        sub.queue.put_nowait(item)

    async def close(self) -> None:
        self.stack.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class PlantStateHub:
    def __init__(self) -> None:
        self.channels: dict[tuple[int, float], Channel] = {}
        self.lock = asyncio.Lock()

    async def _channel(self, ctx: Context, plant_id: int, interval: float) -> Channel:
        async with self.lock:
            channel = self.channels.get((plant_id, interval))
            if channel is None:
                tags, equipment = await _plant(ctx, plant_id)
                channel = Channel(ctx.services.bus, ctx.services.twin, tags, equipment, interval)
                self.channels[(plant_id, interval)] = channel
            return channel

    async def stream(self, ctx: Context, plant_id: int, interval: float, render: Render) -> AsyncGenerator[Any, None]:
        channel = await self._channel(ctx, plant_id, interval)
        sub = _Subscriber(render)
        channel.subscribers.add(sub)
        try:
            yield render(channel.snapshot())
            while True:
                item = await sub.queue.get()
                if item is RESYNC:
                    sub.resync = False
                    item = render(channel.snapshot())
                yield item
        finally:
            channel.subscribers.discard(sub)
            if not channel.subscribers:
                async with self.lock:
                    if not channel.subscribers and self.channels.get((plant_id, interval)) is channel:
                        del self.channels[(plant_id, interval)]
                        await channel.close()


async def _plant(ctx: Context, plant_id: int) -> tuple[frozenset[str], dict[str, str]]:
    async with ctx.db.read() as s:
        if await s.get(Plant, plant_id) is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no plant {plant_id}")
        rooms = select(Room.id).join(Area, Area.id == Room.area_id).where(Area.plant_id == plant_id)
        tags = frozenset((await s.execute(select(Sensor.tag).where(Sensor.room_id.in_(rooms)))).scalars())
        eq = dict((await s.execute(select(Equipment.code, Equipment.status).where(
            Equipment.room_id.in_(rooms)))).all())
    return tags, eq


def hub(ctx: Context) -> PlantStateHub:
    """The process's hub, made on first use."""
    if ctx.services.live is None:
        ctx.services.live = PlantStateHub()
    assert isinstance(ctx.services.live, PlantStateHub)
    return ctx.services.live


def plant_state(ctx: Context, plant_id: int, interval: float) -> AsyncGenerator[StateMessage, None]:
    """The stream as StateMessage objects (the schema's resolver renders them field by field)."""
    return hub(ctx).stream(ctx, plant_id, interval, _identity)


def _identity(m: StateMessage) -> StateMessage:
    return m


def listen_readings(ctx: Context, tags: list[str] | None) -> Callable[[Callable[[Reading], None]], Any]:
    """How to be called with each reading (of `tags`, or every tag) in the twin's turn, while a block runs."""
    keys = frozenset(tags) if tags else None
    return lambda deliver: ctx.services.bus.listen(SENSOR_TOPIC, deliver, keys=keys)


async def readings(ctx: Context, tags: list[str] | None) -> AsyncGenerator[Reading, None]:
    """Readings as the twin takes them in; keyed by tag, so a reading costs the bus only its own
    tag's subscribers."""
    async with ctx.services.bus.subscribe(SENSOR_TOPIC, keys=frozenset(tags) if tags else None) as stream:
        async for r in stream:
            yield r
