"""The plant as built, entered through the API: site, plant, areas, rooms with their floor-plan
polygons, equipment and sensors with their alarm limits, in one signed import.

A layout is GMP configuration (the rooms' grades, the limits alarms are raised on): the system
administrator signs it PERFORMED and QA approves it in the same request. An import adds a new plant;
codes and tags already in use anywhere are refused, so nothing existing is changed by it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.alarms import Priority
from records.plant import Area, Equipment, EquipmentStatus, Plant, Room, Sensor, Site
from resolvers.checks import invalid, text
from resolvers.context import Context
from resolvers.signed import Second, Signatures, SignedRequest, perform
from subscriptions.topics import CONFIG_TOPIC

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_OBJECTS = 5000  # areas + rooms + equipment + sensors in one import


class RoomGrade(StrEnum):
    """GMP cleanliness grade; CNC: controlled, not classified."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    CNC = "CNC"


@dataclass(frozen=True)
class SensorLayout:
    tag: str
    name: str
    kind: str
    unit: str
    low_limit: float | None = None
    high_limit: float | None = None
    alarm_delay_s: float = 0.0
    alarm_deadband: float = 0.0
    alarm_priority: Priority = Priority.MEDIUM


@dataclass(frozen=True)
class EquipmentLayout:
    code: str
    name: str
    kind: str
    x: float
    y: float
    sensors: tuple[SensorLayout, ...] = ()
    precision: str | None = None  # a measuring instrument's smallest division (a scale: "0.01 kg")


@dataclass(frozen=True)
class RoomLayout:
    code: str
    name: str
    grade: RoomGrade
    polygon: tuple[tuple[float, ...], ...]  # [x, y] points
    equipment: tuple[EquipmentLayout, ...] = ()
    sensors: tuple[SensorLayout, ...] = ()  # the room's own; equipment sensors sit on the equipment


@dataclass(frozen=True)
class AreaLayout:
    code: str
    name: str
    rooms: tuple[RoomLayout, ...]


@dataclass(frozen=True)
class PlantLayout:
    site_code: str
    site_name: str
    code: str
    name: str
    width: float
    height: float
    areas: tuple[AreaLayout, ...] = field(default_factory=tuple)

    def rooms(self) -> Iterator[RoomLayout]:
        return (r for a in self.areas for r in a.rooms)

    def sensors(self) -> Iterator[SensorLayout]:
        for r in self.rooms():
            yield from r.sensors
            for e in r.equipment:
                yield from e.sensors

    def content(self) -> dict[str, Any]:
        """What the signatures are bound to: the whole layout as imported."""
        return asdict(self)


def _once(what: str, values: Iterable[str]) -> None:
    twice = sorted(v for v, n in Counter(values).items() if n > 1)
    if twice:
        raise invalid(f"{what} used more than once in the layout: {', '.join(twice[:10])}")


def inside(x: float, y: float, polygon: Sequence[tuple[float, ...]]) -> bool:
    """Ray casting: is the point inside the polygon (edges count as inside)?"""
    hit = False
    for (x1, y1), (x2, y2) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        if min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2) and \
                (x2 - x1) * (y - y1) == (y2 - y1) * (x - x1):
            return True
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            hit = not hit
    return hit


def _sensor(s: SensorLayout, where: str) -> None:
    if not TAG.fullmatch(s.tag):
        raise invalid(f"{where}: tag {s.tag!r}: 1-64 letters, digits, '_', '.', ':' or '-'")
    text(f"sensor {s.tag} name", s.name)
    text(f"sensor {s.tag} kind", s.kind, 32)
    text(f"sensor {s.tag} unit", s.unit, 16)
    if s.low_limit is not None and s.high_limit is not None and s.low_limit >= s.high_limit:
        raise invalid(f"sensor {s.tag}: lowLimit must be below highLimit")
    if not 0 <= s.alarm_delay_s <= 3600 or s.alarm_deadband < 0:
        raise invalid(f"sensor {s.tag}: alarmDelayS 0-3600 and alarmDeadband at least 0")


def _room(r: RoomLayout, width: float, height: float) -> None:
    if not CODE.fullmatch(r.code):
        raise invalid(f"room code {r.code!r}: 1-32 letters, digits, '_', '.' or '-'")
    text(f"room {r.code} name", r.name)
    if any(len(pt) != 2 for pt in r.polygon):
        raise invalid(f"room {r.code}: each polygon point is [x, y]")
    if len(r.polygon) < 3 or any(not (0 <= x <= width and 0 <= y <= height) for x, y in r.polygon):
        raise invalid(f"room {r.code}: the polygon needs at least 3 points inside the plant's {width} x {height} m")
    for e in r.equipment:
        if not CODE.fullmatch(e.code):
            raise invalid(f"equipment code {e.code!r}: 1-32 letters, digits, '_', '.' or '-'")
        text(f"equipment {e.code} name", e.name)
        text(f"equipment {e.code} kind", e.kind, 64)
        if e.precision is not None:
            text(f"equipment {e.code} precision", e.precision, 32)
        if not inside(e.x, e.y, r.polygon):
            raise invalid(f"equipment {e.code} at ({e.x}, {e.y}) is not inside room {r.code}")
        for s in e.sensors:
            _sensor(s, f"equipment {e.code}")
    for s in r.sensors:
        _sensor(s, f"room {r.code}")


def check(p: PlantLayout) -> None:
    """Everything that can be told from the layout alone."""
    for what, code in (("siteCode", p.site_code), ("code", p.code)):
        if not CODE.fullmatch(code):
            raise invalid(f"{what} {code!r}: 1-32 letters, digits, '_', '.' or '-'")
    text("siteName", p.site_name)
    text("name", p.name)
    if not (0 < p.width <= 10_000 and 0 < p.height <= 10_000):
        raise invalid("width and height: metres, above 0 and at most 10000")
    rooms = list(p.rooms())
    equipment = [e for r in rooms for e in r.equipment]
    sensors = list(p.sensors())
    if not rooms:
        raise invalid("a layout has at least one room")
    if len(p.areas) + len(rooms) + len(equipment) + len(sensors) > MAX_OBJECTS:
        raise invalid(f"at most {MAX_OBJECTS} areas, rooms, equipment and sensors in one import")
    for a in p.areas:
        if not CODE.fullmatch(a.code):
            raise invalid(f"area code {a.code!r}: 1-32 letters, digits, '_', '.' or '-'")
        text(f"area {a.code} name", a.name)
    _once("area codes", (a.code for a in p.areas))
    _once("room codes", (r.code for r in rooms))
    _once("equipment codes", (e.code for e in equipment))
    _once("sensor tags", (s.tag for s in sensors))
    for r in rooms:
        _room(r, p.width, p.height)


async def _taken(s: AsyncSession, p: PlantLayout) -> list[str]:
    """Codes and tags of the layout already in use."""
    rooms = list(p.rooms())
    asks = [(Plant.code, [p.code]), (Area.code, [a.code for a in p.areas]), (Room.code, [r.code for r in rooms]),
            (Equipment.code, [e.code for r in rooms for e in r.equipment]), (Sensor.tag, [x.tag for x in p.sensors()])]
    taken: list[str] = []
    for column, values in asks:
        for i in range(0, len(values), 500):
            taken += (await s.execute(select(column).where(column.in_(values[i:i + 500])))).scalars().all()
    return sorted(taken)


def _sensor_row(x: SensorLayout, room: Room) -> Sensor:
    return Sensor(tag=x.tag, name=x.name.strip(), kind=x.kind.strip(), unit=x.unit.strip(), room=room,
                  low_limit=x.low_limit, high_limit=x.high_limit, alarm_delay_s=x.alarm_delay_s,
                  alarm_deadband=x.alarm_deadband, alarm_priority=Priority(x.alarm_priority).value)


async def create(s: AsyncSession, p: PlantLayout) -> Plant:
    """The rows of a checked layout, in the caller's transaction."""
    site = (await s.execute(select(Site).where(Site.code == p.site_code))).scalar_one_or_none()
    if site is None:
        site = Site(code=p.site_code, name=p.site_name.strip())
    plant = Plant(site=site, code=p.code, name=p.name.strip(), width=p.width, height=p.height)
    for a in p.areas:
        area = Area(plant=plant, code=a.code, name=a.name.strip())
        for r in a.rooms:
            room = Room(area=area, code=r.code, name=r.name.strip(), grade=RoomGrade(r.grade).value,
                        polygon=[[x, y] for x, y in r.polygon])
            for x in r.sensors:
                _sensor_row(x, room)  # joins room.sensors through the relationship
            for e in r.equipment:
                eq = Equipment(room=room, code=e.code, name=e.name.strip(), kind=e.kind.strip(), x=e.x, y=e.y,
                               status=EquipmentStatus.IDLE.value, precision=e.precision)
                for x in e.sensors:
                    _sensor_row(x, room).equipment = eq
    # Added once the graph is built: SQLAlchemy 2 does not cascade backrefs into the session.
    s.add(plant)
    await s.flush()
    return plant


@dataclass(frozen=True)
class Imported:
    code: str
    rooms: int
    equipment: int
    sensors: int


async def import_layout(ctx: Context, req: SignedRequest, layout: PlantLayout, reason: str) -> Imported:
    """A new plant from its layout: signed PERFORMED by the administrator, APPROVED by QA."""
    async def clean() -> PlantLayout:
        if not reason.strip():
            raise invalid("a reason is required")
        check(layout)
        return layout

    async def save(s: AsyncSession, p: PlantLayout, signatures: Signatures[PlantLayout]) -> Imported:
        taken = await _taken(s, p)
        if taken:
            raise AppError(ErrorCode.CONFLICT, f"already in use: {', '.join(taken[:20])}"
                                               f"{' …' if len(taken) > 20 else ''}")
        plant = await create(s, p)
        await signatures.bind(s, "plant", str(plant.id), p.content())
        rooms = list(p.rooms())
        return Imported(p.code, len(rooms), sum(len(r.equipment) for r in rooms), len(list(p.sensors())))

    def publish(_: Imported) -> None:
        # Every node reloads its known tags and alarm rules (api/app.py).
        ctx.services.bus.publish(CONFIG_TOPIC, "layout")

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, publish=publish,
                         second=Second(("APPROVED",), "QA's approval"),
                         conflict="a code or tag of this layout was taken meanwhile")
