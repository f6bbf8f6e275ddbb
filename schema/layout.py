"""The plant as built, imported through the API (rooms, equipment, sensors and their alarm limits)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import layout as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import Priority, RoomGrade
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.input
class SensorLayoutInput:
    tag: str
    name: str
    kind: str = strawberry.field(description="temperature, humidity, differential_pressure, conductivity …")
    unit: str
    low_limit: float | None = None
    high_limit: float | None = None
    alarm_delay_s: float = strawberry.field(default=0.0, description="Out of limits this long before an alarm")
    alarm_deadband: float = strawberry.field(default=0.0, description="Back inside by this much before it clears")
    alarm_priority: Priority = Priority.MEDIUM

    def plain(self) -> res.SensorLayout:
        return res.SensorLayout(self.tag, self.name, self.kind, self.unit, self.low_limit, self.high_limit,
                                self.alarm_delay_s, self.alarm_deadband, self.alarm_priority)


@strawberry.input
class EquipmentLayoutInput:
    code: str
    name: str
    kind: str
    x: float = strawberry.field(description="Plant metres, inside its room")
    y: float
    sensors: list[SensorLayoutInput] = strawberry.field(default_factory=list)
    precision: str | None = strawberry.field(default=None, description="A measuring instrument's smallest "
                                                                       "division, e.g. '0.01 kg' (B.4 CJJD)")

    def plain(self) -> res.EquipmentLayout:
        return res.EquipmentLayout(self.code, self.name, self.kind, self.x, self.y,
                                   tuple(s.plain() for s in self.sensors), self.precision)


@strawberry.input
class RoomLayoutInput:
    code: str
    name: str
    grade: RoomGrade
    polygon: list[list[float]] = strawberry.field(description="[[x, y], …] in plant metres, at least 3 points")
    equipment: list[EquipmentLayoutInput] = strawberry.field(default_factory=list)
    sensors: list[SensorLayoutInput] = strawberry.field(default_factory=list, description="The room's own sensors")

    def plain(self) -> res.RoomLayout:
        return res.RoomLayout(self.code, self.name, self.grade, tuple(tuple(p) for p in self.polygon),
                              tuple(e.plain() for e in self.equipment), tuple(s.plain() for s in self.sensors))


@strawberry.input
class AreaLayoutInput:
    code: str
    name: str
    rooms: list[RoomLayoutInput]


@strawberry.input
class ImportPlantLayoutInput:
    site_code: str
    site_name: str
    code: str
    name: str
    width: float = strawberry.field(description="The floor-plan canvas in metres")
    height: float
    areas: list[AreaLayoutInput]
    reason: str

    def plain(self) -> res.PlantLayout:
        return res.PlantLayout(self.site_code, self.site_name, self.code, self.name, self.width, self.height,
                               tuple(res.AreaLayout(a.code, a.name, tuple(r.plain() for r in a.rooms))
                                     for a in self.areas))


@strawberry.type
class ImportedLayout:
    code: str
    rooms: int
    equipment: int
    sensors: int


@strawberry.type
class LayoutMutation:
    @strawberry.mutation(description="Add a plant from its layout; signed PERFORMED by the system administrator "
                                     "and APPROVED by QA. Codes and tags in use are refused; nothing existing "
                                     "changes.", extensions=can("plant:layout", "write"))
    async def import_plant_layout(self, info: Info[Context, None], input: ImportPlantLayoutInput,
                                  signature: SignatureInput, approval: SignatureInput) -> ImportedLayout:
        req = signed(info, signature, approval)
        return of(ImportedLayout, await res.import_layout(info.context, req, input.plain(), input.reason))
