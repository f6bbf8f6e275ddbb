"""Retests, their review, quarantine state and QA release of plasma."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from resolvers import retest as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import ResultSource, RetestItem, RetestOutcome, UnitStatus
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class Retest:
    test: RetestItem
    result: RetestOutcome
    value: float | None
    method: str
    kit_lot: str
    instrument: str
    analyst: str
    tested_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    source: ResultSource


@strawberry.type
class QuarantineState:
    donation_number: str
    status: UnitStatus
    eligible: bool
    reasons: list[str]
    quarantine_ends: date


@strawberry.input
class RetestItemInput:
    test: RetestItem
    result: RetestOutcome
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
        return [of(Retest, r) for r in await res.results(info.context, donation_number)]

    @strawberry.field(description="Whether a unit may be released from quarantine, and why not",
                      extensions=can("plasma:unit", "read"))
    async def quarantine_state(self, info: Info[Context, None], donation_number: str) -> QuarantineState:
        return of(QuarantineState, await res.quarantine_state(info.context, donation_number))


@strawberry.type
class RetestMutation:
    @strawberry.mutation(description="Record retest results of a unit; signed PERFORMED.",
                         extensions=can("plasma:retest", "write"))
    async def record_retest(self, info: Info[Context, None], input: RecordRetestInput,
                            signature: SignatureInput) -> list[Retest]:
        tests = [res.TestInput(t.test, t.result, t.value, t.method, t.kit_lot, t.instrument) for t in input.tests]
        return [of(Retest, r) for r in await res.record(info.context, signed(info, signature), input.donation_number,
                                                        tests)]

    @strawberry.mutation(description="Review a unit's open results (not the analyst); signed REVIEWED.",
                         extensions=can("plasma:retest", "review"))
    async def review_retest(self, info: Info[Context, None], input: ReviewRetestInput,
                            signature: SignatureInput) -> list[Retest]:
        _, rows = await res.review(info.context, signed(info, signature), input.donation_number)
        return [of(Retest, r) for r in rows]

    @strawberry.mutation(description="QA releases a plasma lot from quarantine; all units eligible or none.",
                         extensions=can("plasma:release", "write"))
    async def release_plasma(self, info: Info[Context, None], input: ReleasePlasmaInput,
                             signature: SignatureInput) -> list[QuarantineState]:
        return [of(QuarantineState, q) for q in await res.release(info.context, signed(info, signature),
                                                                  input.donation_numbers, input.reason)]


@strawberry.type
class StationResultsMutation:
    @strawberry.mutation(description="A station sends its test results for one of its donations (PL-17); signed.",
                         extensions=can("plasma:station-results", "write"))
    async def submit_station_results(self, info: Info[Context, None], input: RecordRetestInput,
                                     signature: SignatureInput) -> list[Retest]:
        tests = [res.TestInput(t.test, t.result, t.value, t.method, t.kit_lot, t.instrument) for t in input.tests]
        return [of(Retest, r) for r in await res.station_results(info.context, signed(info, signature),
                                                                 input.donation_number, tests)]
