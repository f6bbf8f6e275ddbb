"""Product quality review (QM-11): one product's year assembled from its records, so the review starts from
the data and not from a spreadsheet: the batches and their outcome, deviations, OOS results and CAPA, and the
trend of every numeric test item over the year's batches with its specification limits.

A batch belongs to the year it started in. Trend statistics are over the reported (rounded) values of the
current result lines; Cpk is given only where both limits exist and the values vary.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from records.capa import Capa
from records.oos import OosRecord
from records.plasma import Batch
from records.qc_record import TestRecord, TestResult
from records.quality import Deviation
from records.specification import Specification
from resolvers.checks import invalid, text
from resolvers.context import Context
from resolvers.specifications import stored_items


@dataclass(frozen=True)
class TrendPoint:
    batch_number: str
    value: float
    reported: str


@dataclass
class Trend:
    specification_code: str
    stage: str
    item: str
    unit: str
    low: float | None
    high: float | None
    points: list[TrendPoint] = field(default_factory=list)

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def sd(self) -> float | None:
        return statistics.stdev(self.values) if len(self.points) > 1 else None

    @property
    def outside(self) -> int:
        return sum(1 for v in self.values if (self.low is not None and v < self.low)
                   or (self.high is not None and v > self.high))

    @property
    def cpk(self) -> float | None:
        sd = self.sd
        if self.low is None or self.high is None or not sd:
            return None
        return min(self.high - self.mean, self.mean - self.low) / (3 * sd)


@dataclass
class Review:
    product: str
    year: int
    batches: list[Batch]
    by_status: dict[str, int]
    deviations: list[Deviation]
    oos: list[OosRecord]
    capas: list[Capa]
    trends: list[Trend]


def _number(text_value: str | None) -> float | None:
    if text_value is None:
        return None
    try:
        d = Decimal(text_value.strip())
    except (InvalidOperation, ValueError):
        return None
    return float(d) if d.is_finite() else None


async def review(ctx: Context, product: str, year: int) -> Review:
    text("product", product, 64)
    if not 2000 <= year <= 2100:
        raise invalid("year: 2000-2100")
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    async with ctx.db.read() as s:
        batches = list((await s.execute(select(Batch).where(
            Batch.product == product.strip(), Batch.started_at >= start, Batch.started_at < end)
            .order_by(Batch.started_at, Batch.id))).scalars())
        ids = [b.id for b in batches]
        deviations = list((await s.execute(select(Deviation).where(Deviation.batch_id.in_(ids))
                                           .order_by(Deviation.id))).scalars())
        oos = list((await s.execute(select(OosRecord).where(OosRecord.batch_id.in_(ids))
                                    .order_by(OosRecord.id))).scalars())
        capas = list((await s.execute(select(Capa).where(
            Capa.oos_id.in_([o.id for o in oos]) | Capa.deviation_id.in_([d.id for d in deviations]))
            .order_by(Capa.id))).scalars())
        rows = (await s.execute(
            select(TestRecord.specification_id, TestRecord.stage, TestResult.item, TestResult.reported,
                   Batch.batch_number)
            .join(TestRecord, TestRecord.id == TestResult.record_id).join(Batch, Batch.id == TestRecord.batch_id)
            .where(TestRecord.batch_id.in_(ids), TestResult.current_key.is_not(None))
            .order_by(Batch.started_at, Batch.id, TestResult.id))).all()
        specs = {sp.id: sp for sp in (await s.execute(select(Specification).where(
            Specification.id.in_({r[0] for r in rows})))).scalars()}
    trends: dict[tuple[str, str, str], Trend] = {}
    for spec_id, stage, item, reported, batch_number in rows:
        value = _number(reported)
        if value is None:
            continue
        spec = specs[spec_id]
        key = (spec.code, stage, item)
        if key not in trends:
            found = next((i for i in stored_items(spec) if i.name == item), None)
            trends[key] = Trend(spec.code, stage, item, found.unit if found else "",
                                _number(found.low) if found else None, _number(found.high) if found else None)
        trends[key].points.append(TrendPoint(batch_number, value, reported))
    return Review(product.strip(), year, batches, dict(Counter(b.status for b in batches)), deviations, oos, capas,
                  list(trends.values()))
