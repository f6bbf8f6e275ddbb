"""Cleaning, sterilisation and calibration records of equipment (B.2), with their validity, and the
equipment logbook."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from resolvers import equipment_care as res
from resolvers import logbook
from resolvers import plant as plant_res
from resolvers.context import Context
from schema.convert import of
from schema.enums import CareKind, LogKind
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


@strawberry.type(description="A line of an equipment logbook (B.2).")
class EquipmentLogEntry:
    equipment_code: str
    at: datetime
    kind: LogKind
    text: str
    by: str = strawberry.field(description="Who wrote it; 'system' for a line the system wrote from the event")
    manual: bool = strawberry.field(description="Written by hand, not by the system from the event itself")
    batch_number: str | None
    reference: str | None = strawberry.field(description="What the line came from: phase_run:N, alarm:N, "
                                                         "signature:N")


def _entry(line: logbook.Line) -> EquipmentLogEntry:
    return of(EquipmentLogEntry, line.entry, equipment_code=line.equipment_code, batch_number=line.batch_number)


@strawberry.input
class AddEquipmentLogEntryInput:
    equipment_code: str
    kind: LogKind = strawberry.field(description="MAINTENANCE, NOTE or USE; the others come from their own records")
    text: str
    batch_number: str | None = None


@strawberry.type
class EquipmentLogQuery:
    @strawberry.field(description="An equipment item's logbook, newest first (B.2).",
                      extensions=can("plant:equipment", "read"))
    async def equipment_logbook(self, info: Info[Context, None], code: str, since: datetime | None = None,
                                until: datetime | None = None, first: int = 100) -> list[EquipmentLogEntry]:
        return [_entry(x) for x in await logbook.lines(info.context, code, since, until, first)]


@strawberry.type
class EquipmentLogMutation:
    @strawberry.mutation(description="Write a maintenance, use or note line in an equipment logbook by hand; "
                                     "signed PERFORMED.", extensions=can("equipment:logbook", "write"))
    async def add_equipment_log_entry(self, info: Info[Context, None], input: AddEquipmentLogEntryInput,
                                      signature: SignatureInput) -> EquipmentLogEntry:
        line = await logbook.add(info.context, signed(info, signature), input.equipment_code, input.kind, input.text,
                                 input.batch_number)
        return _entry(line)
