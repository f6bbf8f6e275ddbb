"""Donor deferral, lookback and recall impact; station notices and their acknowledgement."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import lookback as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import Deferral, NoticeKind
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
    status: Deferral
    reason: str
    lookback_days: int = 60


@strawberry.type
class StationNoticeType:
    id: strawberry.ID
    station_code: str
    kind: NoticeKind
    donation_number: str | None
    donor_card_number: str | None
    reason: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


def _notice(n: res.StationNotice, station_code: str) -> StationNoticeType:
    return of(StationNoticeType, n, id=strawberry.ID(str(n.id)), station_code=station_code)


@strawberry.type
class LookbackQuery:
    @strawberry.field(description="Preview: the donor's lookback units and everything they reached.",
                      extensions=can("trace:graph", "read"))
    async def lookback_impact(self, info: Info[Context, None], card_number: str, days: int = 60) -> RecallImpact:
        return RecallImpact.of(await res.preview(info.context, card_number, days))

    @strawberry.field(description="Notices to plasma stations; a station token sees its own.",
                      extensions=can("plasma:notice", "read"))
    async def station_notices(self, info: Info[Context, None], open_only: bool = True) -> list[StationNoticeType]:
        return [_notice(n, code) for n, code in await res.notices(info.context, only_open=open_only)]


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
        return _notice(*await res.acknowledge(info.context, id))


@strawberry.input
class ReportDonorStatusInput:
    card_number: str
    status: Deferral
    reason: str


@strawberry.type
class StationDonorMutation:
    @strawberry.mutation(description="A station reports a donor deferral (its own donors); the lookback runs at "
                                     "once; signed PERFORMED.", extensions=can("plasma:donor-status", "write"))
    async def report_donor_status(self, info: Info[Context, None], input: ReportDonorStatusInput,
                                  signature: SignatureInput) -> RecallImpact:
        return RecallImpact.of(await res.report_status(info.context, signed(info, signature), input.card_number,
                                                       input.status, input.reason))
