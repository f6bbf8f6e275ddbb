"""Cleaning, sterilisation and calibration records of equipment (B.2), with their validity."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from resolvers import equipment_care as res
from resolvers import plant as plant_res
from resolvers.context import Context
from schema.enums import CareKind
from schema.permissions import can
from schema.plant import Equipment, equipment_of
from schema.signing import SignatureInput, signed


@strawberry.input
class RecordEquipmentCareInput:
    equipment_code: str
    kind: CareKind
    passed: bool
    performed_at: datetime
    valid_until: date | None = strawberry.field(default=None, description="Required when passed; none when failed")
    reference: str = strawberry.field(description="The SOP, work order or calibration certificate")
    note: str | None = None


@strawberry.type
class EquipmentCareMutation:
    @strawberry.mutation(description="Record a cleaning, sterilisation or calibration with its result and validity; "
                                     "signed PERFORMED.", extensions=can("equipment:care", "write"))
    async def record_equipment_care(self, info: Info[Context, None], input: RecordEquipmentCareInput,
                                    signature: SignatureInput) -> Equipment:
        care = res.Care(input.kind, input.passed, input.performed_at, input.valid_until, input.reference)
        await res.record(info.context, signed(info, signature), input.equipment_code, care, input.note)
        e = await plant_res.read_equipment(info.context, input.equipment_code)
        assert e is not None
        return equipment_of(e)
