"""Retests, their review, quarantine state and QA release of plasma."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.plasma import PlasmaUnit, RetestResult
from resolvers import retest as res
from resolvers.context import Context
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class Retest:
    test: str
    result: str
    value: float | None
    method: str
    kit_lot: str
    instrument: str
    analyst: str
    tested_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    source: str = strawberry.field(description="PLANT (our retest) or STATION (the station's result)")

    @classmethod
    def of(cls, r: RetestResult) -> Retest:
        return cls(test=r.test, result=r.result, value=r.value, method=r.method, kit_lot=r.kit_lot,
                   instrument=r.instrument, analyst=r.analyst, tested_at=r.tested_at, reviewed_by=r.reviewed_by,
                   reviewed_at=r.reviewed_at, source=r.source)


@strawberry.type
class QuarantineState:
    donation_number: str
    status: str
    eligible: bool
    reasons: list[str]
    quarantine_ends: date

    @classmethod
    def of(cls, q: res.QuarantineState) -> QuarantineState:
        return cls(donation_number=q.donation_number, status=q.status, eligible=q.eligible, reasons=q.reasons,
                   quarantine_ends=q.quarantine_ends)


@strawberry.input
class RetestItemInput:
    test: str = strawberry.field(description="HBSAG, ANTI_HCV, ANTI_HIV, SYPHILIS, ALT or NAT")
    result: str = strawberry.field(description="NEGATIVE or REACTIVE")
    value: float | None = None
    method: str
    kit_lot: str
    instrument: str


@strawberry.input
class RecordRetestInput:
    donation_number: str
    tests: list[RetestItemInput]


@strawberry.input
class ReviewRetestInput:
    donation_number: str


@strawberry.input
class ReleasePlasmaInput:
    donation_numbers: list[str]
    reason: str = ""


@strawberry.type
class RetestQuery:
    @strawberry.field(description="Retest results of a unit", extensions=can("plasma:unit", "read"))
    async def retests(self, info: Info[Context, None], donation_number: str) -> list[Retest]:
        if info.context.signed_in().is_scoped:
            raise AppError(ErrorCode.OUT_OF_SCOPE, "retest details are internal")
        async with info.context.db.read() as s:
            rows = (await s.execute(select(RetestResult).join(PlasmaUnit, PlasmaUnit.id == RetestResult.unit_id)
                                    .where(PlasmaUnit.donation_number == donation_number)
                                    .order_by(RetestResult.id))).scalars()
            return [Retest.of(r) for r in rows]

    @strawberry.field(description="Whether a unit may be released from quarantine, and why not",
                      extensions=can("plasma:unit", "read"))
    async def quarantine_state(self, info: Info[Context, None], donation_number: str) -> QuarantineState:
        async with info.context.db.read() as s:
            u = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number == donation_number))
                 ).scalar_one_or_none()
            if info.context.signed_in().is_scoped:  # internal; the same answer whether or not the unit exists
                raise AppError(ErrorCode.OUT_OF_SCOPE, "quarantine details are internal")
            if u is None:
                raise AppError(ErrorCode.NOT_FOUND, "no such unit")
            return QuarantineState.of(await res.evaluate(s, u, utcnow().date()))


@strawberry.type
class RetestMutation:
    @strawberry.mutation(description="Record retest results of a unit; signed PERFORMED.",
                         extensions=can("plasma:retest", "write"))
    async def record_retest(self, info: Info[Context, None], input: RecordRetestInput,
                            signature: SignatureInput) -> list[Retest]:
        tests = [res.TestInput(t.test, t.result, t.value, t.method, t.kit_lot, t.instrument) for t in input.tests]
        return [Retest.of(r) for r in await res.record(info.context, signed(info, signature), input.donation_number,
                                                       tests)]

    @strawberry.mutation(description="Review a unit's open results (not the analyst); signed REVIEWED.",
                         extensions=can("plasma:retest", "review"))
    async def review_retest(self, info: Info[Context, None], input: ReviewRetestInput,
                            signature: SignatureInput) -> list[Retest]:
        _, rows = await res.review(info.context, signed(info, signature), input.donation_number)
        return [Retest.of(r) for r in rows]

    @strawberry.mutation(description="QA releases a plasma lot from quarantine; all units eligible or none.",
                         extensions=can("plasma:release", "write"))
    async def release_plasma(self, info: Info[Context, None], input: ReleasePlasmaInput,
                             signature: SignatureInput) -> list[QuarantineState]:
        return [QuarantineState.of(q) for q in await res.release(info.context, signed(info, signature),
                                                                 input.donation_numbers, input.reason)]


@strawberry.type
class StationResultsMutation:
    @strawberry.mutation(description="A station sends its test results for one of its donations (PL-17); signed.",
                         extensions=can("plasma:station-results", "write"))
    async def submit_station_results(self, info: Info[Context, None], input: RecordRetestInput,
                                     signature: SignatureInput) -> list[Retest]:
        tests = [res.TestInput(t.test, t.result, t.value, t.method, t.kit_lot, t.instrument) for t in input.tests]
        return [Retest.of(r) for r in await res.station_results(info.context, signed(info, signature),
                                                                input.donation_number, tests)]
