"""Reviews of the audit trail (IT-07..IT-10): the system trail's summary for a period, the signed conclusion of
its review, the reviews so far and when the next periodic one is due."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import audit_review as res
from resolvers.context import Context
from schema.enums import AuditReviewConclusion, AuditReviewContext
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class TrailCount:
    what: str = strawberry.field(description='"entity ACTION", e.g. "app_user SIGN_IN_FAILED"')
    count: int


@strawberry.type
class TrailSummary:
    events: int
    counts: list[TrailCount]


@strawberry.type(description="A review of an audit trail: who, department, context, period, what it held, the "
                             "conclusion and the deviation a finding opened")
class AuditReview:
    id: int
    context: AuditReviewContext
    scope: str
    period_from: datetime
    period_to: datetime
    reviewer: str
    department: str
    events: int
    counts: list[TrailCount]
    conclusion: AuditReviewConclusion
    findings: str
    deviation_number: str | None


@strawberry.type
class AuditReviewDue:
    every_days: int
    last_period_to: datetime | None
    due_at: datetime | None
    overdue: bool


def _counts(c: dict[str, int]) -> list[TrailCount]:
    return [TrailCount(what=k, count=v) for k, v in sorted(c.items())]


def _review(r: res.AuditReview, numbers: dict[int, str]) -> AuditReview:
    return AuditReview(id=r.id, context=AuditReviewContext(r.context), scope=r.scope, period_from=r.period_from,
                       period_to=r.period_to, reviewer=r.reviewer, department=r.department, events=r.events,
                       counts=_counts(r.categories), conclusion=AuditReviewConclusion(r.conclusion),
                       findings=r.findings, deviation_number=numbers.get(r.deviation_id or 0))


@strawberry.input
class ConcludeAuditReviewInput:
    context: AuditReviewContext
    period_from: datetime
    period_to: datetime
    department: str
    conclusion: AuditReviewConclusion
    findings: str = strawberry.field(default="", description="Required when an issue was found")


@strawberry.type
class AuditReviewQuery:
    @strawberry.field(description="What the system's audit trail holds for a period, per entity and action",
                      extensions=can("audit:review", "read"))
    async def system_trail_summary(self, info: Info[Context, None], period_from: datetime,
                                   period_to: datetime) -> TrailSummary:
        n, counts = await res.system_summary(info.context, period_from, period_to)
        return TrailSummary(events=n, counts=_counts(counts))

    @strawberry.field(description="Reviews of audit trails, newest first", extensions=can("audit:review", "read"))
    async def audit_reviews(self, info: Info[Context, None], context: AuditReviewContext | None = None
                            ) -> list[AuditReview]:
        rows = await res.listing(info.context, context.value if context else None)
        numbers = await res.deviation_numbers(info.context, [r.deviation_id for r in rows if r.deviation_id])
        return [_review(r, numbers) for r in rows]

    @strawberry.field(description="When the next periodic review of the system trail is due (audit.review.days)",
                      extensions=can("audit:review", "read"))
    async def audit_review_due(self, info: Info[Context, None]) -> AuditReviewDue:
        d = await res.due(info.context)
        return AuditReviewDue(every_days=d.every_days, last_period_to=d.last_period_to, due_at=d.due_at,
                              overdue=d.overdue)


@strawberry.type
class AuditReviewMutation:
    @strawberry.mutation(description="Conclude a review of the system's audit trail, signed REVIEWED; an issue "
                                     "found opens a deviation", extensions=can("audit:review", "write"))
    async def conclude_audit_review(self, info: Info[Context, None], input: ConcludeAuditReviewInput,
                                    signature: SignatureInput) -> AuditReview:
        row = await res.conclude(info.context, signed(info, signature), res.ReviewInput(
            input.context.value, input.period_from, input.period_to, input.department, input.conclusion.value,
            input.findings))
        numbers = await res.deviation_numbers(info.context, [row.deviation_id] if row.deviation_id else [])
        return _review(row, numbers)
