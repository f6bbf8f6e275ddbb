"""The plant graph: plants, areas, rooms (with floor-plan polygons), equipment, sensors."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from policies.errors import AppError, ErrorCode
from resolvers import equipment as equipment_res
from resolvers import plant as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import EquipmentStatus, Quality
from schema.node import Node
from schema.permissions import can
from schema.signing import Signature, SignatureInput, signed


@strawberry.type
class Sensor:
    tag: str
    name: str
    kind: str
    unit: str
    low_limit: float | None
    high_limit: float | None
    room_code: str
    equipment_code: str | None

    @strawberry.field(description="Last value seen by the twin, null before the first reading.")
    def value(self, info: Info[Context, None]) -> float | None:
        r = info.context.services.twin.last(self.tag)
        return r.value if r else None

    @strawberry.field(description="Null before the first reading.")
    def quality(self, info: Info[Context, None]) -> Quality | None:
        r = info.context.services.twin.last(self.tag)
        return r.quality if r else None

    @strawberry.field(description="Source timestamp of the last value.")
    def source_time(self, info: Info[Context, None]) -> datetime | None:
        r = info.context.services.twin.last(self.tag)
        return r.source_time if r else None


@strawberry.type
class Equipment(Node):
    """Appendix B.2 equipment identification: status, cleaning, sterilisation and calibration."""

    code: str
    name: str
    kind: str
    x: float
    y: float
    status: EquipmentStatus
    room_code: str
    cleaning_status: str | None
    cleaned_at: datetime | None
    cleaning_valid_until: date | None
    sterilization_status: str | None
    sterilized_at: datetime | None
    sterilization_valid_until: date | None
    calibration_status: str | None
    calibrated_on: date | None
    calibration_valid_until: date | None
    sensors: list[Sensor]


def equipment_of(e: res.Equipment) -> Equipment:
    """The type of an equipment item loaded with its room and sensors."""
    return _equipment(e, e.room.code)


def _equipment(e: res.Equipment, room_code: str) -> Equipment:
    return of(Equipment, e, room_code=room_code,
              sensors=[of(Sensor, s, room_code=room_code, equipment_code=e.code) for s in e.sensors])


@strawberry.type
class Room:
    id: strawberry.ID
    code: str
    name: str
    grade: str
    area_code: str
    polygon: list[list[float]]
    equipment: list[Equipment]
    sensors: list[Sensor] = strawberry.field(description="Every sensor in the room, with or without equipment.")


@strawberry.type
class Area:
    id: strawberry.ID
    code: str
    name: str
    room_codes: list[str]


@strawberry.type
class Plant:
    id: strawberry.ID
    code: str
    name: str
    width: float
    height: float
    areas: list[Area]
    rooms: list[Room]


def _plant(p: res.Plant) -> Plant:
    rooms = []
    for a in p.areas:
        for r in a.rooms:
            eq_codes = {e.id: e.code for e in r.equipment}
            rooms.append(of(Room, r, id=strawberry.ID(str(r.id)), area_code=a.code,
                            equipment=[_equipment(e, r.code) for e in r.equipment],
                            sensors=[of(Sensor, s, room_code=r.code, equipment_code=eq_codes.get(s.equipment_id or 0))
                                     for s in r.sensors]))
    areas = [of(Area, a, id=strawberry.ID(str(a.id)), room_codes=[r.code for r in a.rooms]) for a in p.areas]
    return of(Plant, p, id=strawberry.ID(str(p.id)), areas=areas, rooms=rooms)


def _signature(row: equipment_res.ESignature) -> Signature:
    return of(Signature, row, id=strawberry.ID(str(row.id)))


@strawberry.type
class PlantQuery:
    @strawberry.field(description="Every plant with its floor plan, rooms, equipment and sensors.",
                      extensions=can("plant:layout", "read"))
    async def plants(self, info: Info[Context, None]) -> list[Plant]:
        return [_plant(p) for p in await res.read_plants(info.context)]

    @strawberry.field(extensions=can("plant:layout", "read"))
    async def plant(self, info: Info[Context, None], id: strawberry.ID) -> Plant | None:
        try:
            pid = int(id)
        except ValueError as exc:
            raise AppError(ErrorCode.VALIDATION_FAILED, "plant id must be numeric") from exc
        found = await res.read_plants(info.context, pid)
        return _plant(found[0]) if found else None

    @strawberry.field(description="One equipment item by its code (SBBH).", extensions=can("plant:equipment", "read"))
    async def equipment(self, info: Info[Context, None], code: str) -> Equipment | None:
        e = await res.read_equipment(info.context, code)
        return _equipment(e, e.room.code) if e else None


@strawberry.input
class SetEquipmentStatusInput:
    code: str
    status: EquipmentStatus
    reason: str


@strawberry.type
class SetEquipmentStatusPayload:
    equipment: Equipment
    previous_status: EquipmentStatus
    signature: Signature


@strawberry.type
class PlantMutation:
    @strawberry.mutation(description="Change an equipment item's operating status (B.2 YXZT); signed.",
                         extensions=can("equipment:status", "write"))
    async def set_equipment_status(
        self, info: Info[Context, None], input: SetEquipmentStatusInput, signature: SignatureInput
    ) -> SetEquipmentStatusPayload:
        ctx = info.context
        change = await equipment_res.set_status(ctx, signed(info, signature), input.code, input.status.value,
                                                input.reason)
        e, sig_row = await equipment_res.changed(ctx, change)
        return SetEquipmentStatusPayload(equipment=_equipment(e, e.room.code),
                                         previous_status=EquipmentStatus(change.previous),
                                         signature=_signature(sig_row))


@strawberry.input
class VerifyEquipmentStatusChangeInput:
    signature_id: strawberry.ID = strawberry.field(description="The PERFORMED signature of the change")


@strawberry.type
class EquipmentVerificationMutation:
    @strawberry.mutation(description="A second person verifies a status change; signed VERIFIED.",
                         extensions=can("equipment:status", "verify"))
    async def verify_equipment_status_change(
        self, info: Info[Context, None], input: VerifyEquipmentStatusChangeInput, signature: SignatureInput
    ) -> Signature:
        ctx = info.context
        try:
            sid = int(input.signature_id)
        except ValueError as exc:
            raise AppError(ErrorCode.VALIDATION_FAILED, "signatureId must be numeric") from exc
        new_id = await equipment_res.verify_change(ctx, signed(info, signature), sid)
        return _signature(await equipment_res.signature(ctx, new_id))
