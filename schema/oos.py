"""OOS records and their investigation (QC-25..QC-27), out-of-trend control charts (QC-01) and CAPA (QM-10)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from policies.errors import AppError, ErrorCode
from resolvers import capa as capas
from resolvers import oos as res
from resolvers.context import Context
from resolvers.history import Point
from schema.convert import of
from schema.enums import CapaKind, CapaStatus, Effectiveness, OosConclusion, OosStatus, OotRule
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type(description="An out-of-specification result, opened by the server when a result is judged FAIL "
                             "(QC-25), investigated in signed steps (QC-26).")
class OosRecord:
    id: int
    number: str
    status: OosStatus
    opened_at: datetime
    subject_kind: str = strawberry.field(description="What was tested: PRODUCT, INTERMEDIATE, PLASMA_UNIT, ...")
    subject_code: str = strawberry.field(description="The sample's subject: product, intermediate or unit code")
    stage: str | None
    sample_code: str | None
    batch_number: str | None
    item: str
    value: str = strawberry.field(description="The reported value as judged")
    limits: str
    reason: str
    specification_code: str | None
    specification_version: int | None
    analyst: str
    instrument: str
    method: str
    tested_at: datetime
    source: str = strawberry.field(description="The record the result came from, e.g. test_result:12")
    phase1_by: str | None
    phase1_at: datetime | None
    phase1_findings: str | None
    phase2_by: str | None
    phase2_at: datetime | None
    phase2_findings: str | None
    conclusion: OosConclusion | None
    assignable_cause: str | None
    closed_by: str | None
    closed_at: datetime | None


def oos_of(v: res.OosView) -> OosRecord:
    return of(OosRecord, v.oos, batch_number=v.batch_number)


@strawberry.type(description="A corrective or preventive action (QM-10) for an OOS or a deviation.")
class Capa:
    number: str
    kind: CapaKind
    action: str
    owner: str
    due_date: date
    status: CapaStatus
    oos_number: str | None
    deviation_number: str | None
    created_by: str
    created_at: datetime
    done_by: str | None
    done_at: datetime | None
    done_note: str | None
    effectiveness: Effectiveness | None = strawberry.field(description="The effectiveness check's result")
    checked_by: str | None
    checked_at: datetime | None
    check_note: str | None
    overdue: bool = strawberry.field(description="Open and past its due date")


def capa_of(v: capas.CapaView) -> Capa:
    return of(Capa, v.capa, oos_number=v.oos_number, deviation_number=v.deviation_number, overdue=v.overdue)


@strawberry.type(description="The batch an OOS belongs to.")
class OosBatch:
    batch_number: str
    product: str
    status: str


@strawberry.type(description="A sample taken from the OOS's batch.")
class OosSample:
    code: str
    kind: str
    taken_at: datetime
    taken_by: str
    storage_location: str | None


@strawberry.type(description="A reagent or kit lot used for the result (recorded at the test).")
class OosReagent:
    code: str
    name: str
    kind: str
    lot_number: str
    expires_on: date
    used_at: datetime


@strawberry.type(description="A reading (or a bucket of readings) of a room sensor.")
class EnvironmentPoint:
    time: datetime
    value: float | None
    min: float | None
    max: float | None


@strawberry.type(description="The readings of one sensor of the instrument's room around the test time.")
class EnvironmentSeries:
    tag: str
    name: str
    kind: str
    unit: str
    low_limit: float | None
    high_limit: float | None
    points: list[EnvironmentPoint]


@strawberry.type(description="An out-of-trend alert: a result that broke a trend rule of its control chart.")
class OotAlert:
    id: int
    specification_code: str
    item: str
    batch_number: str
    value: str
    rules: list[OotRule]
    rules_version: str
    mean: float | None
    sigma: float | None
    points: int
    raised_at: datetime
    alarm_id: int | None


@strawberry.type(description="An OOS with everything linked to it, one query away (QC-27).")
class OosInvestigation:
    oos: OosRecord
    batch: OosBatch | None
    samples: list[OosSample]
    tested_samples: list[str] = strawberry.field(description="The codes of the samples the result was measured on")
    test_record_id: int | None
    test_record_reviewed_by: str | None
    raw_value: str | None = strawberry.field(description="The raw value as entered or imported")
    rounding: str | None
    reagents: list[OosReagent] = strawberry.field(description="Reagent and kit lots used for the result")
    room_code: str | None = strawberry.field(description="The instrument's room, where the plant knows it")
    environment: list[EnvironmentSeries] = strawberry.field(
        description=f"Each sensor of that room, {res.ENVIRONMENT_SPAN} before and after the test")
    method_document: str | None = strawberry.field(description="The method's controlled document version in "
                                                               "force at the test, where one is known")
    oot_alerts: list[OotAlert]
    capas: list[Capa]


@strawberry.type(description="One result on a control chart, with the trend rules it breaks.")
class ChartPoint:
    result_id: int
    batch_number: str
    value: float
    reported: str
    time: datetime
    rules: list[OotRule]


@strawberry.type(description="A Shewhart chart of one specification item (OOT): centre line, sigma lines and the "
                             "specification limits.")
class ControlChart:
    specification_code: str
    item: str
    unit: str
    mean: float | None
    sigma: float | None
    plus1: float | None
    plus2: float | None
    plus3: float | None
    minus1: float | None
    minus2: float | None
    minus3: float | None
    spec_low: str | None
    spec_high: str | None
    rules_version: str
    points: list[ChartPoint]


def _env(p: Point) -> EnvironmentPoint:
    return EnvironmentPoint(time=p.time, value=p.value, min=p.min, max=p.max)


def chart_of(c: res.ControlChart) -> ControlChart:
    def line(k: int) -> float | None:
        return c.mean + k * c.sigma if c.mean is not None and c.sigma is not None else None

    return ControlChart(
        specification_code=c.specification_code, item=c.item, unit=c.unit, mean=c.mean, sigma=c.sigma,
        plus1=line(1), plus2=line(2), plus3=line(3), minus1=line(-1), minus2=line(-2), minus3=line(-3),
        spec_low=c.spec_low, spec_high=c.spec_high, rules_version=c.rules_version,
        points=[ChartPoint(result_id=p.result_id, batch_number=p.batch_number, value=p.value, reported=p.reported,
                           time=p.at, rules=list(p.rules)) for p in c.points])


def alert_of(a: res.OotAlert, batch_number: str) -> OotAlert:
    return of(OotAlert, a, batch_number=batch_number)


@strawberry.input
class OosStepInput:
    oos_id: int


@strawberry.input
class EscalateOosInput:
    oos_id: int
    findings: str = strawberry.field(description="The laboratory investigation's findings: no assignable cause")


@strawberry.input
class CloseOosInput:
    oos_id: int
    conclusion: OosConclusion
    findings: str
    assignable_cause: str | None = strawberry.field(default=None, description="Required to invalidate")


@strawberry.input
class CreateCapaInput:
    kind: CapaKind
    action: str
    owner: str = strawberry.field(description="The username who carries it out")
    due_date: date
    oos_id: int | None = None
    deviation_number: str | None = None


@strawberry.input
class CompleteCapaInput:
    number: str
    note: str


@strawberry.input
class CheckCapaInput:
    number: str
    result: Effectiveness
    note: str


async def _oos(info: Info[Context, None], oos_id: int) -> OosRecord:
    v = await res.get(info.context, oos_id)
    if v is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no OOS record {oos_id}")
    return oos_of(v)


async def _capa(info: Info[Context, None], number: str) -> Capa:
    return capa_of(await capas.get(info.context, number))


@strawberry.type
class OosQuery:
    @strawberry.field(description="An OOS with its batch, samples, analyst, instrument, method document, reagent "
                                  "lots, room readings around the test, trend alerts and CAPA (QC-27).",
                      extensions=can("quality:oos", "read"))
    async def oos(self, info: Info[Context, None], id: int) -> OosInvestigation | None:
        v = await res.get(info.context, id)
        if v is None:
            return None
        inv = await res.investigation(info.context, v.oos)
        linked = await capas.listed(info.context, oos_id=id)
        b, r = inv.batch, inv.result
        return OosInvestigation(
            oos=oos_of(v), batch=OosBatch(batch_number=b.batch_number, product=b.product, status=b.status) if b
            else None, samples=[of(OosSample, x) for x in inv.samples], tested_samples=inv.tested_samples,
            test_record_id=inv.test_record.id if inv.test_record else None,
            test_record_reviewed_by=inv.test_record.reviewed_by if inv.test_record else None,
            raw_value=r.raw if r else None, rounding=r.rounding if r else None,
            reagents=[of(OosReagent, x) for x in inv.reagents], room_code=inv.room_code,
            environment=[of(EnvironmentSeries, e, points=[_env(p) for p in e.points]) for e in inv.environment],
            method_document=inv.method_document,
            oot_alerts=[alert_of(a, v.batch_number or "") for a in inv.alerts], capas=[capa_of(c) for c in linked])

    @strawberry.field(description="OOS records, newest first; by status or batch.",
                      extensions=can("quality:oos", "read"))
    async def oos_records(self, info: Info[Context, None], status: OosStatus | None = None,
                          batch_number: str | None = None) -> list[OosRecord]:
        return [oos_of(v) for v in await res.listed(info.context, status.value if status else None, batch_number)]

    @strawberry.field(description="The control chart of a specification item over its last results, with the trend "
                                  "rules each point breaks (OOT).", extensions=can("quality:oos", "read"))
    async def control_chart(self, info: Info[Context, None], specification_code: str, item: str,
                            last: int = 25) -> ControlChart:
        return chart_of(await res.chart(info.context, specification_code, item, last))

    @strawberry.field(description="The latest out-of-trend alerts, newest first.",
                      extensions=can("quality:oos", "read"))
    async def oot_alerts(self, info: Info[Context, None], specification_code: str | None = None,
                         last: int = 50) -> list[OotAlert]:
        return [alert_of(a, n) for a, n in await res.alerts(info.context, specification_code, last)]

    @strawberry.field(description="CAPA, newest first; overdueOnly: still open past the due date, most overdue first.",
                      extensions=can("quality:capa", "read"))
    async def capas(self, info: Info[Context, None], overdue_only: bool = False) -> list[Capa]:
        return [capa_of(v) for v in await capas.listed(info.context, overdue_only)]


@strawberry.type
class OosMutation:
    @strawberry.mutation(description="Start an OOS's laboratory investigation (PHASE_1); signed PERFORMED.",
                         extensions=can("quality:oos", "investigate"))
    async def start_oos_investigation(self, info: Info[Context, None], input: OosStepInput,
                                      signature: SignatureInput) -> OosRecord:
        o = await res.start(info.context, signed(info, signature), input.oos_id)
        return await _oos(info, o.id)

    @strawberry.mutation(description="Escalate an OOS to a full investigation (PHASE_2) with the laboratory "
                                     "findings; signed PERFORMED.", extensions=can("quality:oos", "investigate"))
    async def escalate_oos(self, info: Info[Context, None], input: EscalateOosInput,
                           signature: SignatureInput) -> OosRecord:
        o = await res.escalate(info.context, signed(info, signature), input.oos_id, input.findings)
        return await _oos(info, o.id)

    @strawberry.mutation(description="Close an OOS with its conclusion (QA; not the result's analyst); signed "
                                     "APPROVED.", extensions=can("quality:oos", "close"))
    async def close_oos(self, info: Info[Context, None], input: CloseOosInput, signature: SignatureInput) -> OosRecord:
        o = await res.close(info.context, signed(info, signature), input.oos_id, input.conclusion.value,
                            input.findings, input.assignable_cause)
        return await _oos(info, o.id)

    @strawberry.mutation(description="Draw up a CAPA for an OOS or a deviation; signed PERFORMED.",
                         extensions=can("quality:capa", "write"))
    async def create_capa(self, info: Info[Context, None], input: CreateCapaInput, signature: SignatureInput) -> Capa:
        c = await capas.create(info.context, signed(info, signature), capas.NewCapa(
            input.kind.value, input.action, input.owner, input.due_date, input.oos_id, input.deviation_number))
        return await _capa(info, c.number)

    @strawberry.mutation(description="The owner signs a CAPA done; signed PERFORMED.",
                         extensions=can("quality:capa", "complete"))
    async def complete_capa(self, info: Info[Context, None], input: CompleteCapaInput,
                            signature: SignatureInput) -> Capa:
        c = await capas.complete(info.context, signed(info, signature), input.number, input.note)
        return await _capa(info, c.number)

    @strawberry.mutation(description="QA checks a done CAPA's effectiveness (not its owner); signed APPROVED.",
                         extensions=can("quality:capa", "approve"))
    async def check_capa_effectiveness(self, info: Info[Context, None], input: CheckCapaInput,
                                       signature: SignatureInput) -> Capa:
        c = await capas.check_effectiveness(info.context, signed(info, signature), input.number, input.result.value,
                                            input.note)
        return await _capa(info, c.number)
