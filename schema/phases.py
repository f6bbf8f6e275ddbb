"""Guided execution of a batch's phases: start in order on usable equipment, complete with values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import execution as res
from resolvers import running as now
from resolvers.context import Context
from schema.convert import of
from schema.enums import PhaseStatus, ValueSource
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class TrendPoint:
    time: datetime
    value: float | None = strawberry.field(description="The reading, or the bucket's average")
    min: float | None
    max: float | None


@strawberry.type(description="A parameter or in-process control as recorded when the phase completed.")
class RecordedValue:
    name: str
    unit: str
    low: float | None
    high: float | None
    tag: str | None
    source: ValueSource
    value: float | None = strawberry.field(description="The value entered (MANUAL)")
    min: float | None = strawberry.field(description="Over the phase (TWIN)")
    max: float | None
    avg: float | None
    count: int | None
    within: bool
    problem: str | None
    entered_by: str | None
    reason: str | None
    attachment_id: str | None = strawberry.field(description="The evidence file the value was read from (PR-03)")
    trend: list[TrendPoint] = strawberry.field(description="The tag's trend over the phase (TWIN), at most 200 points")


def _value(d: dict[str, Any]) -> RecordedValue:
    keys = ("tag", "value", "min", "max", "avg", "count", "problem", "reason")
    trend = [TrendPoint(time=datetime.fromisoformat(x["time"]), value=x["value"], min=x["min"], max=x["max"])
             for x in d.get("trend", [])]
    return of(RecordedValue, {**dict.fromkeys(keys), **d, "entered_by": d.get("enteredBy")}, trend=trend,
              attachment_id=str(d["attachment"]["id"]) if d.get("attachment") else None)


@strawberry.type
class CareState:
    kind: str = strawberry.field(description="cleaning, sterilization or calibration")
    state: str | None
    valid_until: str | None


@strawberry.type(description="The equipment as it was when the phase started (PR-47).")
class EquipmentAtUse:
    code: str
    name: str
    status: str
    care: list[CareState]


def _at_use(state: dict[str, Any] | None) -> EquipmentAtUse | None:
    if state is None:
        return None
    care = [CareState(kind=k, state=state[k]["state"], valid_until=state[k]["validUntil"])
            for k in ("cleaning", "sterilization", "calibration")]
    return EquipmentAtUse(code=state["code"], name=state["name"], status=state["status"], care=care)


@strawberry.type(description="One executed phase of a batch (eBR: GXKSSJ/GXJSSJ, operators, CPPs, IPCs, yield).")
class PhaseRun:
    phase_code: str
    status: PhaseStatus
    equipment_code: str
    started_at: datetime
    started_by: str
    completed_at: datetime | None
    completed_by: str | None
    verified_by: str | None
    parameters: list[RecordedValue]
    controls: list[RecordedValue]
    output: float | None = strawberry.field(description="What the phase gave, in the recipe's output unit")
    losses: float | None = strawberry.field(description="Collected losses: samples, hold-up, spills")
    yield_pct: float | None = strawberry.field(description="GXWLPH: output against the theoretical output, computed")
    balance_pct: float | None = strawberry.field(description="Material balance: (output + losses) against the "
                                                             "theoretical output, computed")
    exception: bool = strawberry.field(description="A value was outside its limits: a deviation was raised")
    equipment_at_start: EquipmentAtUse | None


def run_of(r: res.PhaseRun, equipment_code: str) -> PhaseRun:
    return of(PhaseRun, r, equipment_code=equipment_code, parameters=[_value(x) for x in r.parameters or []],
              controls=[_value(x) for x in r.controls or []], equipment_at_start=_at_use(r.equipment_state))


@strawberry.input
class StartPhaseInput:
    batch_number: str
    phase_code: str
    equipment_code: str
    confirmed: list[str] = strawberry.field(description="The pre-operation check items confirmed (preOperationCheck)")


@strawberry.input
class EnteredValueInput:
    name: str
    value: float
    reason: str | None = None
    attachment_id: strawberry.ID | None = strawberry.field(default=None, description="An uploaded photo or "
                                                                                     "printout the value was read from")


@strawberry.input
class CompletePhaseInput:
    batch_number: str
    phase_code: str
    manual: list[EnteredValueInput] = strawberry.field(default_factory=list,
                                                       description="Parameters the recipe gives no tag for")
    controls: list[EnteredValueInput] = strawberry.field(default_factory=list)
    output: float | None = strawberry.field(default=None, description="What the phase gave, where the recipe "
                                                                      "gives a theoretical output")
    losses: float = strawberry.field(default=0.0, description="Collected losses: samples, hold-up, spills")


def _entry(e: EnteredValueInput) -> res.Entry:
    return res.Entry(e.name, e.value, e.reason, str(e.attachment_id) if e.attachment_id else None)


@strawberry.type(description="A phase running now: its batch, equipment and room.")
class RunningPhase:
    batch_number: str
    product: str
    phase_code: str
    phase_name: str
    equipment_code: str
    room_code: str
    started_at: datetime
    started_by: str


@strawberry.type
class ExecutionQuery:
    @strawberry.field(description="The items an operator confirms before a phase starts (PR-38).",
                      extensions=can("batch:phase", "read"))
    def pre_operation_check(self) -> list[str]:
        return list(res.PRE_CHECK)

    @strawberry.field(description="A batch's executed phases, in start order.", extensions=can("batch:phase", "read"))
    async def batch_phases(self, info: Info[Context, None], batch_number: str) -> list[PhaseRun]:
        return [run_of(r, code) for r, code in await res.runs(info.context, batch_number)]

    @strawberry.field(description="The phases running now, by room; batches out of a scoped token's scope are left "
                                  "out.", extensions=can("batch:phase", "read"))
    async def running_phases(self, info: Info[Context, None], room_code: str | None = None) -> list[RunningPhase]:
        return [of(RunningPhase, r) for r in await now.running(info.context, room_code)]


@strawberry.type
class ExecutionMutation:
    @strawberry.mutation(description="Start a phase in the recipe's order on usable equipment; signed PERFORMED.",
                         extensions=can("batch:phase", "write"))
    async def start_phase(self, info: Info[Context, None], input: StartPhaseInput,
                          signature: SignatureInput) -> PhaseRun:
        r = await res.start(info.context, signed(info, signature), input.batch_number, input.phase_code,
                            input.equipment_code, input.confirmed)
        return run_of(r, input.equipment_code)

    @strawberry.mutation(description="Complete a running phase with its values; signed PERFORMED, and VERIFIED by a "
                                     "second person where the recipe asks.", extensions=can("batch:phase", "write"))
    async def complete_phase(self, info: Info[Context, None], input: CompletePhaseInput, signature: SignatureInput,
                             verification: SignatureInput | None = None) -> PhaseRun:
        r = await res.complete(info.context, signed(info, signature, verification), input.batch_number,
                               input.phase_code, [_entry(e) for e in input.manual], [_entry(e) for e in input.controls],
                               input.output,
                               input.losses)
        runs = await res.runs(info.context, input.batch_number)
        return next(run_of(x, code) for x, code in runs if x.id == r.id)
