"""A test sample's life in the QC laboratory (Appendix B.10-B.15): receipt, storage, tests, disposal of the
leftover, retained samples and their reminder, and the history of each sample."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from resolvers import sample_life as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import SampleEventKind, SampleKind, SampleStatus
from schema.node import Node
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type(description="B.13: a test that used the sample, with its analyst (the event's `by`) and reviewer")
class SampleTestUse:
    test_record_id: int
    batch_number: str
    item: str
    method: str
    reported: str
    verdict: str
    specification: str
    reviewed_by: str | None
    reviewed_at: datetime | None


@strawberry.type(description="One step of a sample's life, with who and when")
class SampleEventInfo:
    kind: SampleEventKind
    at: datetime
    by: str
    quantity: float | None
    unit: str | None
    location: str | None = strawberry.field(description="Where it was taken from, stored or disposed of")
    conditions: str | None = strawberry.field(description="On arrival (received) or of storage (stored)")
    method: str | None = strawberry.field(description="How the leftover was disposed of")
    reason: str | None
    test: SampleTestUse | None


@strawberry.type(description="QC-17: the sample's storage read against its cold room's temperature record")
class SampleStorage:
    location: str | None
    room_code: str | None
    sensor_tag: str | None
    since: datetime | None
    temperature_low: float | None
    temperature_high: float | None
    excursions: int = strawberry.field(description="Readings outside the range since it was stored")
    conforming: bool
    reasons: list[str]


@strawberry.type
class SampleInfo(Node):
    code: str
    kind: SampleKind
    status: SampleStatus
    name: str | None = strawberry.field(description="B.10 YPMC")
    source_code: str = strawberry.field(description="The donation number or batch number sampled")
    batch_number: str | None = strawberry.field(description="The batch, or for plasma the pool it went into")
    donation_number: str | None
    pool_code: str | None
    taken_at: datetime
    taken_by: str
    quantity: float | None
    unit: str | None
    pieces: int | None
    sampled_from: str | None = strawberry.field(description="The process step or storage location sampled (PR-27)")
    tube_code: str | None = strawberry.field(description="QC-16: the specimen tube's code, equal to the bag's")
    bag_intact: bool | None
    storage_location: str | None
    conditions: str | None
    temperature_low: float | None
    temperature_high: float | None
    stored_at: datetime | None
    equipment_code: str | None
    remaining: float | None = strawberry.field(description="What is left: received less what tests used")
    expiry_date: date | None = strawberry.field(description="B.15 YXQ: the expiry of the batch sampled")
    retain_until: date | None = strawberry.field(
        description="Retained samples: one year after the latest expiry of every product made from the plasma (or "
                    "of the batch sampled); null while an expiry is unknown (the sample cannot be destroyed then)")
    retention_basis: str
    history: list[SampleEventInfo] = strawberry.field(description="Every step, in order")
    storage: SampleStorage | None


def event_of(e: res.EventView) -> SampleEventInfo:
    test = of(SampleTestUse, e.test, test_record_id=e.test.record_id) if e.test else None
    return of(SampleEventInfo, e.event, test=test)


def info_of(v: res.SampleView) -> SampleInfo:
    st = v.storage
    storage = of(SampleStorage, st, temperature_low=st.low, temperature_high=st.high) if st else None
    return of(SampleInfo, v.sample, source_code=v.source_code, batch_number=v.batch_number,
              donation_number=v.donation_number, pool_code=v.pool_code, remaining=v.remaining,
              expiry_date=v.product_expiry, retain_until=v.retention.retain_until,
              retention_basis=v.retention.basis, history=[event_of(e) for e in v.events], storage=storage)


@strawberry.type(description="QC-21: a retained sample whose retention ends soon (or has ended)")
class RetainedSampleDue:
    sample: SampleInfo
    days_left: int = strawberry.field(description="Days until the retention ends; negative once it has")


@strawberry.input
class ReceiveSampleInput:
    code: str
    quantity: float
    unit: str
    condition: str = strawberry.field(description="Its condition on arrival (container, seal, temperature)")


@strawberry.input
class StoreSampleInput:
    code: str
    location: str = strawberry.field(description="Room-rack-position (CS7-R01-P03): a monitored room's sensor "
                                                 "watches it")
    conditions: str
    temperature_low: float | None = None
    temperature_high: float | None = None
    equipment_code: str | None = None


@strawberry.input
class DisposeSampleInput:
    code: str
    method: str
    site: str
    reason: str
    quantity: float | None = strawberry.field(default=None, description="The amount disposed of")


async def _info(info: Info[Context, None], code: str) -> SampleInfo:
    v = await res.find(info.context, code)
    assert v is not None  # just written
    return info_of(v)


@strawberry.type
class SampleLifeQuery:
    @strawberry.field(description="QC-14: the samples of a donation, a pool's units or a batch (its own and its "
                                  "plasma's), each with its history; kind RELEASE gives a batch's lot-release "
                                  "samples with their time and step or location (PR-27).",
                      extensions=can("sample:record", "read"))
    async def samples(self, info: Info[Context, None], donation_number: str | None = None,
                      pool_code: str | None = None, batch_number: str | None = None,
                      kind: SampleKind | None = None) -> list[SampleInfo]:
        rows = await res.search(info.context, donation_number, pool_code, batch_number, kind.value if kind else None)
        return [info_of(v) for v in rows]

    @strawberry.field(description="QC-21: retained samples still kept whose retention ends within the days given "
                                  "(or has ended), soonest first.", extensions=can("sample:record", "read"))
    async def retained_samples_due(self, info: Info[Context, None], within_days: int = 30) -> list[RetainedSampleDue]:
        return [RetainedSampleDue(sample=info_of(d.view), days_left=d.days_left)
                for d in await res.retained_due(info.context, within_days)]


@strawberry.type
class SampleLifeMutation:
    @strawberry.mutation(description="B.11: the lab receives a sample taken (quantity, condition on arrival); "
                                     "signed PERFORMED.", extensions=can("sample:lab", "write"))
    async def receive_sample(self, info: Info[Context, None], input: ReceiveSampleInput,
                             signature: SignatureInput) -> SampleInfo:
        row = await res.receive(info.context, signed(info, signature), input.code, input.quantity, input.unit,
                                input.condition)
        return await _info(info, row.code)

    @strawberry.mutation(description="B.12: store (or move) a received sample: location, conditions, temperature "
                                     "range; signed PERFORMED.", extensions=can("sample:lab", "write"))
    async def store_sample(self, info: Info[Context, None], input: StoreSampleInput,
                           signature: SignatureInput) -> SampleInfo:
        row = await res.store(info.context, signed(info, signature), input.code, input.location, input.conditions,
                              input.temperature_low, input.temperature_high, input.equipment_code)
        return await _info(info, row.code)

    @strawberry.mutation(description="B.14: dispose of the leftover of a sample that is not retained (method, site, "
                                     "reason); signed PERFORMED.", extensions=can("sample:lab", "write"))
    async def dispose_sample(self, info: Info[Context, None], input: DisposeSampleInput,
                             signature: SignatureInput) -> SampleInfo:
        row = await res.dispose(info.context, signed(info, signature), input.code, input.method, input.site,
                                input.reason, input.quantity)
        return await _info(info, row.code)
