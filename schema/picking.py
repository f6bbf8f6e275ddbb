"""Electronic plasma picking (PR-34, PR-35): lists generated from the units that may be pooled, each
unit scanned and matched where it lies."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from resolvers import picking as res
from resolvers import storage
from resolvers.context import Context
from schema.enums import PickingStatus, UnitStatus
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type(description="One unit to pick: the unit, where it lay when the list was made, and its pick.")
class PickingLine:
    position: int
    donation_number: str
    material_code: str | None = strawberry.field(description="The code on the plant's label of the unit")
    donor_card_number: str
    station_code: str
    blood_type: str
    collected_on: date
    weight_g: float
    unit_status: UnitStatus = strawberry.field(description="The unit's status now")
    location: str | None = strawberry.field(description="Cold store-rack-position when the list was made")
    cold_store: str | None = strawberry.field(description="The cold store's room code")
    picked: bool
    picked_at: datetime | None
    picked_by: str | None
    scanned: bool | None = strawberry.field(description="False: the code was typed, not scanned (flagged)")
    picker: str | None = strawberry.field(description="The automated picker that confirmed it (PR-35)")


def _line(x: res.PickingLine) -> PickingLine:
    u = x.unit
    return PickingLine(position=x.position, donation_number=u.donation_number, material_code=u.material_code,
                       donor_card_number=u.donor.card_number, station_code=u.station.code, blood_type=u.blood_type,
                       collected_on=u.collected_on, weight_g=u.weight_g, unit_status=UnitStatus(u.status),
                       location=x.location, cold_store=storage.room_of(x.location), picked=x.picked_at is not None,
                       picked_at=x.picked_at, picked_by=x.picked_by, scanned=x.scanned, picker=x.picker)


@strawberry.type(description="A list of released units to pick from the cold stores for a pool (挑浆).")
class PickingList:
    code: str
    product: str
    requested: int
    status: PickingStatus
    created_by: str
    created_at: datetime
    pool_code: str | None = strawberry.field(description="The pool its picked units were charged into")
    closed_at: datetime | None
    closed_by: str | None
    cancel_reason: str | None
    picked: int
    lines: list[PickingLine] = strawberry.field(description="In picking order: oldest collection first")


def list_of(x: res.PickingList) -> PickingList:
    return PickingList(code=x.code, product=x.product, requested=x.requested, status=PickingStatus(x.status),
                       created_by=x.created_by, created_at=x.created_at, pool_code=x.pool.code if x.pool else None,
                       closed_at=x.closed_at, closed_by=x.closed_by, cancel_reason=x.cancel_reason,
                       picked=sum(1 for line in x.lines if line.picked_at is not None),
                       lines=[_line(line) for line in x.lines])


@strawberry.input
class CreatePickingListInput:
    product: str
    units: int = strawberry.field(description="How many units to pick")


@strawberry.input
class PickPlasmaUnitInput:
    list_code: str
    donation_number: str = strawberry.field(description="As scanned: the donation number, or the material code "
                                                        "of the plant's label")
    scanned: bool = strawberry.field(default=True, description="False when the code was typed (flagged)")
    picker: str | None = strawberry.field(default=None, description="The automated picker that confirmed the "
                                                                     "unit (PR-35)")


@strawberry.input
class CancelPickingListInput:
    code: str
    reason: str


@strawberry.type
class PickingQuery:
    @strawberry.field(description="A picking list with its units and their picks.",
                      extensions=can("plasma:picking", "read"))
    async def picking_list(self, info: Info[Context, None], code: str) -> PickingList | None:
        x = await res.get(info.context, code)
        return list_of(x) if x else None

    @strawberry.field(description="Picking lists, newest first (at most 200).",
                      extensions=can("plasma:picking", "read"))
    async def picking_lists(self, info: Info[Context, None], status: PickingStatus | None = None) -> list[PickingList]:
        return [list_of(x) for x in await res.listing(info.context, status)]


@strawberry.type
class PickingMutation:
    @strawberry.mutation(description="Generate a picking list from released units that may be pooled, oldest "
                                     "collection first, with where each lies; signed PERFORMED.",
                         extensions=can("plasma:picking", "write"))
    async def create_picking_list(self, info: Info[Context, None], input: CreatePickingListInput,
                                  signature: SignatureInput) -> PickingList:
        return list_of(await res.create(info.context, signed(info, signature), input.product, input.units))

    @strawberry.mutation(description="Pick a unit of a list by scanning it; a unit not on the list, picked "
                                     "already or no longer released is refused. Signed PERFORMED.",
                         extensions=can("plasma:picking", "write"))
    async def pick_plasma_unit(self, info: Info[Context, None], input: PickPlasmaUnitInput,
                               signature: SignatureInput) -> PickingList:
        x = await res.pick(info.context, signed(info, signature), input.list_code, input.donation_number,
                           input.scanned, input.picker)
        return list_of(x)

    @strawberry.mutation(description="Cancel a list not yet charged into a pool, freeing its units; signed "
                                     "PERFORMED.", extensions=can("plasma:picking", "write"))
    async def cancel_picking_list(self, info: Info[Context, None], input: CancelPickingListInput,
                                  signature: SignatureInput) -> PickingList:
        return list_of(await res.cancel(info.context, signed(info, signature), input.code, input.reason))
