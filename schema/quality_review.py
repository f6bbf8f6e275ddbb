"""Product quality review (QM-11): a product's year assembled from its records."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import quality_review as res
from resolvers.context import Context
from schema.permissions import can


@strawberry.type
class ReviewBatch:
    batch_number: str
    status: str
    started_at: datetime | None


@strawberry.type
class StatusCount:
    status: str
    count: int


@strawberry.type
class ReviewRecord:
    number: str
    status: str
    title: str = strawberry.field(description="A deviation's title, an OOS's item and value, a CAPA's action")
    batch_number: str | None


@strawberry.type
class ReviewPoint:
    batch_number: str
    value: float
    reported: str


@strawberry.type(description="One numeric test item over the year's batches, with its specification limits")
class ReviewTrend:
    specification_code: str
    stage: str
    item: str
    unit: str
    low: float | None
    high: float | None
    points: list[ReviewPoint]
    mean: float
    sd: float | None = strawberry.field(description="Sample standard deviation; none below two batches")
    minimum: float
    maximum: float
    outside_limits: int
    cpk: float | None = strawberry.field(description="min(high - mean, mean - low) / 3 sd, where both limits exist")


@strawberry.type(description="A product's year: batches, deviations, OOS, CAPA and trends, from the records")
class ProductQualityReview:
    product: str
    year: int
    batches: list[ReviewBatch]
    batches_by_status: list[StatusCount]
    deviations: list[ReviewRecord]
    oos: list[ReviewRecord]
    capas: list[ReviewRecord]
    trends: list[ReviewTrend]


def _of(r: res.Review) -> ProductQualityReview:
    numbers = {b.id: b.batch_number for b in r.batches}
    return ProductQualityReview(
        product=r.product, year=r.year,
        batches=[ReviewBatch(batch_number=b.batch_number, status=b.status, started_at=b.started_at) for b in r.batches],
        batches_by_status=[StatusCount(status=k, count=v) for k, v in sorted(r.by_status.items())],
        deviations=[ReviewRecord(number=d.number, status=d.status, title=d.title, batch_number=numbers.get(
            d.batch_id or 0)) for d in r.deviations],
        oos=[ReviewRecord(number=o.number, status=o.conclusion or o.status, title=f"{o.item} {o.value}",
                          batch_number=numbers.get(o.batch_id or 0)) for o in r.oos],
        capas=[ReviewRecord(number=c.number, status=c.status, title=c.action, batch_number=None) for c in r.capas],
        trends=[ReviewTrend(specification_code=t.specification_code, stage=t.stage, item=t.item, unit=t.unit,
                            low=t.low, high=t.high, mean=t.mean, sd=t.sd, minimum=min(t.values),
                            maximum=max(t.values), outside_limits=t.outside, cpk=t.cpk,
                            points=[ReviewPoint(batch_number=p.batch_number, value=p.value, reported=p.reported)
                                    for p in t.points]) for t in r.trends])


@strawberry.type
class QualityReviewQuery:
    @strawberry.field(description="The product quality review data of one product and year (QM-11)",
                      extensions=can("quality:review", "read"))
    async def product_quality_review(self, info: Info[Context, None], product: str, year: int
                                     ) -> ProductQualityReview:
        return _of(await res.review(info.context, product, year))
