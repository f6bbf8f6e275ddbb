"""Donor deferral, lookback and recall impact; station notices and their acknowledgement."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.plasma import PlasmaStation, StationNotice
from resolvers import lookback as res
from resolvers.context import Context
from schema.permissions import can
from schema.signing import SignatureInput, signed
from schema.trace import TraceGraph


@strawberry.type(description="Everything a donor's lookback units reached: the recall impact report.")
class RecallImpact:
    card_number: str
    window_units: list[str] = strawberry.field(description="Donation numbers in the lookback window")
    blocked_units: list[str]
    pools: list[str]
    batches: list[str]
    intermediates: list[str]
    final_lots: list[str]
    packaging_units: int
    graph: TraceGraph

    @classmethod
    def of(cls, i: res.Impact) -> RecallImpact:
        def codes(kind: str) -> list[str]:
            return sorted(n.code for n in i.graph.nodes.values() if n.kind == kind)

        return cls(card_number=i.card_number, window_units=i.window_units, blocked_units=i.blocked,
                   pools=codes("POOL"), batches=codes("BATCH"), intermediates=codes("INTERMEDIATE"),
                   final_lots=codes("FINAL_LOT"), packaging_units=len(codes("PACKAGING_UNIT")),
                   graph=TraceGraph.of(i.graph, 50_000))


@strawberry.input
class DeferDonorInput:
    card_number: str
    status: str = strawberry.field(description="DEFERRED or PERMANENTLY_DEFERRED")
    reason: str
    lookback_days: int = 60


@strawberry.type
class StationNoticeType:
    id: strawberry.ID
    station_code: str
    kind: str
    donation_number: str | None
    donor_card_number: str | None
    reason: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


def _notice(n: StationNotice, station: str) -> StationNoticeType:
    return StationNoticeType(id=strawberry.ID(str(n.id)), station_code=station, kind=n.kind,
                             donation_number=n.donation_number, donor_card_number=n.donor_card_number,
                             reason=n.reason, created_at=n.created_at, acknowledged_at=n.acknowledged_at,
                             acknowledged_by=n.acknowledged_by)


async def _notices(ctx: Context, only_open: bool, notice_id: int | None = None) -> list[StationNoticeType]:
    scope = ctx.scope()
    stmt = select(StationNotice, PlasmaStation.code).join(PlasmaStation,
                                                          PlasmaStation.id == StationNotice.station_id)
    if not scope.unrestricted:
        stmt = stmt.where(PlasmaStation.code.in_(scope.stations or ()))
    if only_open:
        stmt = stmt.where(StationNotice.acknowledged_at.is_(None))
    if notice_id is not None:
        stmt = stmt.where(StationNotice.id == notice_id)
    async with ctx.db.read() as s:
        return [_notice(n, code) for n, code in (await s.execute(stmt.order_by(StationNotice.id)))]


@strawberry.type
class LookbackQuery:
    @strawberry.field(description="Preview: the donor's lookback units and everything they reached.",
                      extensions=can("trace:graph", "read"))
    async def lookback_impact(self, info: Info[Context, None], card_number: str, days: int = 60) -> RecallImpact:
        return RecallImpact.of(await res.preview(info.context, card_number, days))

    @strawberry.field(description="Notices to plasma stations; a station token sees its own.",
                      extensions=can("plasma:notice", "read"))
    async def station_notices(self, info: Info[Context, None], open_only: bool = True) -> list[StationNoticeType]:
        return await _notices(info.context, open_only)


@strawberry.type
class LookbackMutation:
    @strawberry.mutation(description="Defer a donor: block the lookback units, report the impact, notify the "
                                     "station; signed APPROVED.", extensions=can("plasma:donor", "write"))
    async def defer_donor(self, info: Info[Context, None], input: DeferDonorInput,
                          signature: SignatureInput) -> RecallImpact:
        return RecallImpact.of(await res.defer(info.context, signed(info, signature), input.card_number,
                                               input.status, input.reason, input.lookback_days))

    @strawberry.mutation(description="The station confirms it received a notice.",
                         extensions=can("plasma:notice", "write"))
    async def acknowledge_notice(self, info: Info[Context, None], id: strawberry.ID) -> StationNoticeType:
        ctx = info.context
        p = ctx.signed_in()
        found = await _notices(ctx, False, int(id) if id.isdigit() else -1)
        if not found:
            raise AppError(ErrorCode.NOT_FOUND if not p.is_scoped else ErrorCode.OUT_OF_SCOPE, "no such notice")
        async with ctx.db.write(ctx.audit_context("notice acknowledged")) as s:
            n = await s.get(StationNotice, int(id))
            assert n is not None
            if n.acknowledged_at is not None:
                raise AppError(ErrorCode.CONFLICT, "already acknowledged")
            n.acknowledged_at, n.acknowledged_by = utcnow(), p.username
        return (await _notices(ctx, False, int(id)))[0]


@strawberry.input
class ReportDonorStatusInput:
    card_number: str
    status: str = strawberry.field(description="DEFERRED or PERMANENTLY_DEFERRED")
    reason: str


@strawberry.type
class StationDonorMutation:
    @strawberry.mutation(description="A station reports a donor deferral (its own donors); the lookback runs at "
                                     "once; signed PERFORMED.", extensions=can("plasma:donor-status", "write"))
    async def report_donor_status(self, info: Info[Context, None], input: ReportDonorStatusInput,
                                  signature: SignatureInput) -> RecallImpact:
        return RecallImpact.of(await res.report_status(info.context, signed(info, signature), input.card_number,
                                                       input.status, input.reason))
