"""Deviations: raise (signed) and approve closure (signed, independent of the raiser)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import deviations as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import DeviationStatus
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class Deviation:
    number: str
    title: str
    status: DeviationStatus
    raised_by: str
    raised_at: datetime
    closed_at: datetime | None
    occurred_at: datetime | None
    emergency_measures: str | None
    alarm_id: int | None = strawberry.field(description="The alarm it was escalated from")


@strawberry.input
class RaiseDeviationInput:
    title: str
    description: str
    batch_number: str | None = None
    occurred_at: datetime | None = strawberry.field(default=None, description="When it happened (B.7 PCFSSJ); "
                                                                              "the time it is raised if not given")
    emergency_measures: str | None = strawberry.field(default=None, description="B.7 JJCLCS")


@strawberry.input
class EscalateAlarmInput:
    alarm_id: int
    emergency_measures: str = strawberry.field(description="B.7 JJCLCS: what was done at once")
    title: str | None = strawberry.field(default=None, description="The alarm's content if not given")


@strawberry.input
class ApproveDeviationClosureInput:
    number: str


@strawberry.type
class DeviationMutation:
    @strawberry.mutation(description="Raise a deviation; signed PERFORMED.",
                         extensions=can("quality:deviation", "write"))
    async def raise_deviation(self, info: Info[Context, None], input: RaiseDeviationInput,
                              signature: SignatureInput) -> Deviation:
        return of(Deviation, await res.raise_deviation(info.context, signed(info, signature), input.title,
                                                       input.description, input.batch_number, input.occurred_at,
                                                       input.emergency_measures))

    @strawberry.mutation(description="Confirm an alarm as a quality deviation, pre-filled from the alarm (PR-55); "
                                     "signed PERFORMED.", extensions=can("quality:deviation", "write"))
    async def escalate_alarm(self, info: Info[Context, None], input: EscalateAlarmInput,
                             signature: SignatureInput) -> Deviation:
        return of(Deviation, await res.from_alarm(info.context, signed(info, signature), input.alarm_id,
                                                  input.emergency_measures, input.title))

    @strawberry.mutation(description="Approve closure (QA); the raiser cannot be the only approver.",
                         extensions=can("quality:closure", "write"))
    async def approve_deviation_closure(self, info: Info[Context, None], input: ApproveDeviationClosureInput,
                                        signature: SignatureInput) -> Deviation:
        return of(Deviation, await res.approve_closure(info.context, signed(info, signature), input.number))
