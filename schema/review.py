"""Review by exception of a batch record, QA's conclusion, and the QP's rejection."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from resolvers import review as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import BatchStatus, ReviewKind
from schema.permissions import can
from schema.plasma import Batch, batch_of
from schema.signing import SignatureInput, signed


@strawberry.type(description="One exception of a batch record, with QA's conclusion once reviewed.")
class ReviewItem:
    key: str = strawberry.field(description="Stable key, such as alarm:12 or phase_run:3")
    kind: ReviewKind
    at: datetime
    phase_code: str | None
    summary: str
    entity: str = strawberry.field(description="The audit trail's entity: drill down with auditTrail(filter: "
                                               "{entity, entityId})")
    entity_id: str
    open: bool = strawberry.field(description="The thing itself still open: a deviation not closed, an alarm "
                                              "not acknowledged")
    reviewed: bool
    conclusion: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None


def item_of(i: res.Item) -> ReviewItem:
    r = i.reviewed
    return of(ReviewItem, i, reviewed=r is not None, conclusion=r.conclusion if r else None,
              reviewed_by=r.reviewed_by if r else None, reviewed_at=r.reviewed_at if r else None)


@strawberry.type(description="QA's opinion on the whole record (PR-72).")
class ReviewConclusion:
    opinion: str
    items: int = strawberry.field(description="Exceptions reviewed when it was concluded")
    concluded_by: str
    concluded_at: datetime


@strawberry.type
class BatchReview:
    batch_number: str
    status: BatchStatus
    items: list[ReviewItem]
    total: int = strawberry.field(description="Exceptions of the batch, before the filter")
    unreviewed: int
    blockers: list[str] = strawberry.field(description="What stands between the record and its release")
    conclusion: ReviewConclusion | None


@strawberry.enum
class ReviewSort(Enum):
    OLDEST = "OLDEST"
    NEWEST = "NEWEST"
    KIND = "KIND"


@strawberry.input
class ReviewBatchItemsInput:
    batch_number: str
    keys: list[str]
    conclusion: str


@strawberry.input
class ConcludeBatchReviewInput:
    batch_number: str
    opinion: str


@strawberry.input
class RejectBatchInput:
    batch_number: str
    reason: str


@strawberry.type
class ReviewQuery:
    @strawberry.field(description="Every exception of a batch record (PR-70): phases outside limits, alarms, "
                                  "deviations, manual entries and data changes, filterable and sortable.",
                      extensions=can("batch:review", "read"))
    async def batch_review(self, info: Info[Context, None], batch_number: str, kinds: list[ReviewKind] | None = None,
                           unreviewed_only: bool = False, sort: ReviewSort = ReviewSort.OLDEST) -> BatchReview:
        b, found, concluded = await res.listing(info.context, batch_number)
        shown = [i for i in found if (not kinds or i.kind in kinds) and not (unreviewed_only and i.reviewed)]
        if sort is ReviewSort.NEWEST:
            shown.reverse()
        elif sort is ReviewSort.KIND:
            shown.sort(key=lambda i: (i.kind.value, i.at))
        return BatchReview(batch_number=b.batch_number, status=BatchStatus(b.status), items=[item_of(i) for i in shown],
                           total=len(found), unreviewed=sum(i.reviewed is None for i in found),
                           blockers=res.blockers(found),
                           conclusion=of(ReviewConclusion, concluded) if concluded else None)


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(description="QA's conclusion on one or more exceptions of a batch; signed REVIEWED.",
                         extensions=can("batch:review", "write"))
    async def review_batch_items(self, info: Info[Context, None], input: ReviewBatchItemsInput,
                                 signature: SignatureInput) -> list[ReviewItem]:
        done = await res.review_items(info.context, signed(info, signature), input.batch_number, input.keys,
                                      input.conclusion)
        return [item_of(i) for i in done]

    @strawberry.mutation(description="QA's opinion on the whole record once every exception is reviewed and every "
                                     "deviation closed; signed REVIEWED. The batch waits for the QP's decision.",
                         extensions=can("batch:review", "write"))
    async def conclude_batch_review(self, info: Info[Context, None], input: ConcludeBatchReviewInput,
                                    signature: SignatureInput) -> ReviewConclusion:
        row = await res.conclude(info.context, signed(info, signature), input.batch_number, input.opinion)
        return of(ReviewConclusion, row)

    @strawberry.mutation(description="The QP's decision not to release a batch (QM-01); signed REJECTED.",
                         extensions=can("batch:decision", "reject"))
    async def reject_batch(self, info: Info[Context, None], input: RejectBatchInput,
                           signature: SignatureInput) -> Batch:
        return batch_of(await res.reject(info.context, signed(info, signature), input.batch_number, input.reason))
