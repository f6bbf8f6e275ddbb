"""Reagents, reference standards, test solutions and test kits of the QC laboratory (QC-22..QC-24): the lot
with its movement log, the signed steps of its life, and reminders of expiry and retest dates (a query and a
subscription)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime

import strawberry
from strawberry.types import Info

from resolvers import reagents as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import ReagentKind, ReagentMovementKind, ReagentStatus, ReminderDue
from schema.node import Node
from schema.permissions import can
from schema.signing import SignatureInput, signed

# How often a reagentReminders subscription looks again (seconds); dates move at midnight, lots when signed.
REMINDER_POLL_SECONDS = 60.0


@strawberry.type(description="One line of a reagent lot's movement log (QC-23): appended, never changed.")
class ReagentMovement:
    kind: ReagentMovementKind
    quantity: float | None
    balance: float = strawberry.field(description="On hand in the store after this line")
    at: datetime
    by: str
    note: str | None
    other_code: str | None = strawberry.field(description="PREPARE: the lot it was made from, or made into")
    factor: str | None = strawberry.field(description="STANDARDISE / CALIBRATE: the factor found")
    retest_on: date | None = strawberry.field(description="STANDARDISE / CALIBRATE: the new retest date")
    method: str | None
    used_for: str | None = strawberry.field(description="USE: the kind of record (test_result, retest_result)")
    used_for_id: str | None


@strawberry.type(description="A lot of a reagent, reference standard, test solution or test kit.")
class ReagentLot(Node):
    code: str = strawberry.field(description="The code on its label, scanned at use")
    kind: ReagentKind
    name: str
    lot_number: str
    supplier: str = strawberry.field(description="Supplier or manufacturer; the laboratory for a prepared solution")
    quantity: float = strawberry.field(description="On hand in the store")
    issued: float = strawberry.field(description="Out on the bench, not returned")
    unit: str
    location: str
    conditions: str = strawberry.field(description="Storage conditions")
    expires_on: date
    retest_on: date | None
    factor: str | None = strawberry.field(description="The latest standardisation or calibration factor")
    status: ReagentStatus
    received_at: datetime
    received_by: str
    released_at: datetime | None
    released_by: str | None
    movements: list[ReagentMovement] = strawberry.field(description="The movement log, oldest first")


def lot_of(v: res.LotView) -> ReagentLot:
    return of(ReagentLot, v.lot, status=res.shown_status(v.lot, datetime.now(UTC).date()),
              movements=[of(ReagentMovement, m) for m in v.movements])


@strawberry.type(description="A lot whose expiry or retest date falls within the window or has passed (QC-24).")
class ReagentReminder:
    code: str
    name: str
    kind: ReagentKind
    lot_number: str
    status: ReagentStatus
    due: ReminderDue
    due_on: date
    days_left: int = strawberry.field(description="Days from today to the date; negative when it has passed")


@strawberry.input
class ReceiveReagentInput:
    code: str = strawberry.field(description="The code on the lot's label")
    kind: ReagentKind
    name: str
    lot_number: str
    supplier: str
    quantity: float
    unit: str
    location: str
    conditions: str
    expires_on: date
    retest_on: date | None = None


@strawberry.input
class ReleaseReagentInput:
    code: str
    reason: str


@strawberry.input
class ParentLotInput:
    code: str
    quantity: float = strawberry.field(description="Taken from that lot, in its unit")


@strawberry.input
class PrepareSolutionInput:
    code: str
    name: str
    lot_number: str = strawberry.field(description="The preparation's number")
    quantity: float
    unit: str
    location: str
    conditions: str
    expires_on: date = strawberry.field(description="Not after the expiry of any lot it is made from")
    parents: list[ParentLotInput]
    retest_on: date | None = None


@strawberry.input
class StandardiseReagentInput:
    code: str
    kind: ReagentMovementKind = strawberry.field(description="STANDARDISE or CALIBRATE")
    factor: str = strawberry.field(description="Decimal text")
    method: str
    retest_on: date | None = strawberry.field(default=None, description="The new retest date, if it renews the lot")


@strawberry.input
class IssueReagentInput:
    code: str
    quantity: float
    to: str = strawberry.field(description="To whom or which bench")


@strawberry.input
class ReturnReagentInput:
    code: str
    quantity: float
    note: str


@strawberry.input
class DestroyReagentInput:
    code: str
    method: str
    reason: str


async def _lot(info: Info[Context, None], code: str) -> ReagentLot:
    v = await res.get(info.context, code)
    assert v is not None  # just written
    return lot_of(v)


def _receipt(i: ReceiveReagentInput | PrepareSolutionInput, kind: ReagentKind, supplier: str) -> res.Receipt:
    return res.Receipt(i.code, kind, i.name, i.lot_number, supplier, i.quantity, i.unit, i.location, i.conditions,
                       i.expires_on, i.retest_on)


@strawberry.type
class ReagentQuery:
    @strawberry.field(description="A reagent lot by its code, with its movement history (QC-23).",
                      extensions=can("quality:reagent", "read"))
    async def reagent(self, info: Info[Context, None], code: str) -> ReagentLot | None:
        v = await res.get(info.context, code)
        return lot_of(v) if v is not None else None

    @strawberry.field(description="Reagent lots, newest first (at most 500).",
                      extensions=can("quality:reagent", "read"))
    async def reagents(self, info: Info[Context, None], kind: ReagentKind | None = None,
                       status: ReagentStatus | None = None) -> list[ReagentLot]:
        return [lot_of(v) for v in await res.listing(info.context, kind, status)]

    @strawberry.field(description="Lots whose expiry or retest date is within withinDays (default: the setting "
                                  "reagent.reminderDays) or has passed, soonest first (QC-24).",
                      extensions=can("quality:reagent", "read"))
    async def reagent_reminders(self, info: Info[Context, None],
                                within_days: int | None = None) -> list[ReagentReminder]:
        return [of(ReagentReminder, r) for r in await res.reminders(info.context, within_days)]


@strawberry.type
class ReagentSubscription:
    @strawberry.subscription(description="The reagent reminders now, then again each time the list changes.")
    async def reagent_reminders(self, info: Info[Context, None],
                                within_days: int | None = None) -> AsyncGenerator[list[ReagentReminder], None]:
        ctx = info.context
        await ctx.require("quality:reagent", "read")
        last: list[res.Reminder] | None = None
        while True:
            now = await res.reminders(ctx, within_days)
            if now != last:
                last = now
                yield [of(ReagentReminder, r) for r in now]
            await asyncio.sleep(REMINDER_POLL_SECONDS)


@strawberry.type
class ReagentMutation:
    @strawberry.mutation(description="Receive a lot into quarantine (QC analysts); signed PERFORMED.",
                         extensions=can("quality:reagent", "write"))
    async def receive_reagent(self, info: Info[Context, None], input: ReceiveReagentInput,
                              signature: SignatureInput) -> ReagentLot:
        lot = await res.receive(info.context, signed(info, signature), _receipt(input, input.kind, input.supplier))
        return await _lot(info, lot.code)

    @strawberry.mutation(description="Release a received or prepared lot for use (QC reviewers, QA), not by whoever "
                                     "received it; signed APPROVED.", extensions=can("quality:reagent", "release"))
    async def release_reagent(self, info: Info[Context, None], input: ReleaseReagentInput,
                              signature: SignatureInput) -> ReagentLot:
        lot = await res.release(info.context, signed(info, signature), input.code, input.reason)
        return await _lot(info, lot.code)

    @strawberry.mutation(description="Prepare a test solution from released lots (QC analysts); signed PERFORMED. "
                                     "It is released like a received lot.",
                         extensions=can("quality:reagent", "write"))
    async def prepare_solution(self, info: Info[Context, None], input: PrepareSolutionInput,
                               signature: SignatureInput) -> ReagentLot:
        p = res.Preparation(_receipt(input, ReagentKind.TEST_SOLUTION, "prepared in the laboratory"),
                            tuple((x.code, x.quantity) for x in input.parents))
        lot = await res.prepare(info.context, signed(info, signature), p)
        return await _lot(info, lot.code)

    @strawberry.mutation(description="Record a standardisation or calibration with its factor (QC analysts); "
                                     "signed PERFORMED.", extensions=can("quality:reagent", "write"))
    async def standardise_reagent(self, info: Info[Context, None], input: StandardiseReagentInput,
                                  signature: SignatureInput) -> ReagentLot:
        lot = await res.standardise(info.context, signed(info, signature), input.code, input.kind, input.factor,
                                    input.method, input.retest_on)
        return await _lot(info, lot.code)

    @strawberry.mutation(description="Issue stock of a usable lot to the bench (QC analysts); signed PERFORMED.",
                         extensions=can("quality:reagent", "write"))
    async def issue_reagent(self, info: Info[Context, None], input: IssueReagentInput,
                            signature: SignatureInput) -> ReagentLot:
        lot = await res.issue(info.context, signed(info, signature), input.code, input.quantity, input.to)
        return await _lot(info, lot.code)

    @strawberry.mutation(description="Return unused stock from the bench (QC analysts); signed PERFORMED.",
                         extensions=can("quality:reagent", "write"))
    async def return_reagent(self, info: Info[Context, None], input: ReturnReagentInput,
                             signature: SignatureInput) -> ReagentLot:
        lot = await res.give_back(info.context, signed(info, signature), input.code, input.quantity, input.note)
        return await _lot(info, lot.code)

    @strawberry.mutation(description="Destroy a lot with the method and reason (QC reviewers, QA); signed PERFORMED.",
                         extensions=can("quality:reagent", "destroy"))
    async def destroy_reagent(self, info: Info[Context, None], input: DestroyReagentInput,
                              signature: SignatureInput) -> ReagentLot:
        lot = await res.destroy(info.context, signed(info, signature), input.code, input.method, input.reason)
        return await _lot(info, lot.code)
