"""Plasma units, donors, stations and batches (Appendix B.3), scoped for partner tokens."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

import strawberry
from strawberry.types import Info

from resolvers import plasma as res
from resolvers import storage
from resolvers.context import Context
from schema.convert import of
from schema.enums import BatchStatus, DonorStatus, UnitStatus
from schema.node import Node
from schema.permissions import can
from schema.relay import Connection, Edge, connection, decode_cursor, encode_cursor, page_size


@strawberry.type
class Station(Node):
    code: str
    name: str
    province: str


@strawberry.type(description="A donor as the plant may know them: no name or identity number is exposed.")
class Donor(Node):
    node_key_field: ClassVar[str] = "card_number"

    card_number: str
    blood_type: str
    status: DonorStatus
    station: Station
    _id: strawberry.Private[int]

    @strawberry.field(description="Every unit of this donor, oldest first.")
    async def units(self, info: Info[Context, None]) -> list[PlasmaUnit]:
        return [unit_of(u, self.station) for u in await info.context.loaders.units_by_donor_id.load(self._id)]

    @strawberry.field(description="Units collected from `days` (at least 60) before the last donation onwards.")
    async def lookback(self, info: Info[Context, None], days: int = 60) -> list[PlasmaUnit]:
        res.lookback_days(days)
        units = await info.context.loaders.units_by_donor_id.load(self._id)
        return [unit_of(u, self.station) for u in res.within_lookback(units, days)]


def _donor(d: res.Donor) -> Donor:
    return Donor(card_number=d.card_number, blood_type=d.blood_type, status=DonorStatus(d.status),
                 station=of(Station, d.station), _id=d.id)


@strawberry.type
class StoragePoint:
    time: datetime
    value: float | None
    min: float | None
    max: float | None


@strawberry.type(description="Where a unit is stored, its cold store's temperature and its limits (PL-10, PL-11)")
class UnitStorage:
    location: str | None
    room_code: str | None
    sensor_tag: str | None
    since: datetime | None
    limit: date
    high_limit: float | None
    excursions: int
    conforming: bool
    reasons: list[str]
    _state: strawberry.Private[storage.Storage]

    @strawberry.field(description="The cold store's temperature over the storage period")
    async def temperatures(self, info: Info[Context, None], max_points: int = 200) -> list[StoragePoint]:
        window = storage.window(self._state, max_points)
        points = await info.context.loaders.history_by_window.load(window) if window else []
        return [of(StoragePoint, p) for p in points]


@strawberry.type(description="One donation (B.3: XJBH, KH, XX, CXJRQ, XJZL, WLBM).")
class PlasmaUnit(Node):
    node_key_field: ClassVar[str] = "donation_number"

    donation_number: str
    material_code: str | None
    blood_type: str
    collected_on: date
    weight_g: float
    status: UnitStatus
    received_at: datetime | None
    storage_location: str | None
    received_weight_g: float | None
    received_by: str | None
    pool_code: str | None
    station: Station
    donor_card_number: str
    _id: strawberry.Private[int]

    @strawberry.field(description="Storage location, temperature history and conformity")
    async def storage(self, info: Info[Context, None]) -> UnitStorage:
        st = await info.context.loaders.storage_by_unit_id.load(self._id)
        return UnitStorage(location=st.location, room_code=st.room_code, sensor_tag=st.sensor_tag, since=st.since,
                           limit=st.limit, high_limit=st.high_limit, excursions=st.excursions,
                           conforming=st.conforming, reasons=st.reasons, _state=st)


def unit_of(u: res.PlasmaUnit, station: Station | None = None) -> PlasmaUnit:
    """The unit's type (its station, donor and pool loaded); `station` when the caller has it already."""
    return PlasmaUnit(donation_number=u.donation_number, material_code=u.material_code, blood_type=u.blood_type,
                      collected_on=u.collected_on, weight_g=u.weight_g, status=UnitStatus(u.status),
                      received_at=u.received_at, storage_location=u.storage_location,
                      received_weight_g=u.received_weight_g, received_by=u.received_by,
                      pool_code=u.pool.code if u.pool else None,
                      station=station or of(Station, u.station), donor_card_number=u.donor.card_number, _id=u.id)


@strawberry.type
class Batch(Node):
    node_key_field: ClassVar[str] = "batch_number"

    batch_number: str
    product: str
    status: BatchStatus
    started_at: datetime | None
    expiry_date: date | None
    pool_codes: list[str]
    recipe_code: str | None = strawberry.field(description="The master recipe it is made by")
    recipe_version: int | None


def batch_of(b: res.Batch) -> Batch:
    """The batch's type (its pools, in the order they were made, and recipe loaded)."""
    r = b.recipe
    pools = sorted(b.pools, key=lambda p: p.id)  # the relationship has no order of its own
    return of(Batch, b, pool_codes=[p.code for p in pools], recipe_code=r.code if r else None,
              recipe_version=r.version if r else None)


@strawberry.input
class BatchFilter:
    product: str | None = None
    status: BatchStatus | None = None
    batch_number: str | None = strawberry.field(default=None, description="Batches whose number begins so")
    started_from: datetime | None = strawberry.field(default=None, description="Production started at or after")
    started_to: datetime | None = strawberry.field(default=None, description="Production started before")


@strawberry.type
class PlasmaQuery:
    @strawberry.field(description="A plasma unit by donation number, with its station and donor (PL-02).",
                      extensions=can("plasma:unit", "read"))
    async def plasma_unit(self, info: Info[Context, None], donation_number: str) -> PlasmaUnit | None:
        u = await res.get_unit(info.context, donation_number)
        return unit_of(u) if u else None

    @strawberry.field(extensions=can("plasma:donor", "read"))
    async def donor(self, info: Info[Context, None], card_number: str) -> Donor | None:
        d = await res.get_donor(info.context, card_number)
        return _donor(d) if d else None

    @strawberry.field(extensions=can("batch:record", "read"))
    async def batch(self, info: Info[Context, None], batch_number: str) -> Batch | None:
        b = await res.get_batch(info.context, batch_number)
        return batch_of(b) if b else None

    @strawberry.field(description="Batches, newest first; a scoped token sees only its products and batches.",
                      extensions=can("batch:record", "read"))
    async def batches(self, info: Info[Context, None], filter: BatchFilter | None = None, first: int | None = None,
                      after: str | None = None) -> Connection[Batch]:
        f = filter or BatchFilter()
        search = res.BatchSearch(f.product, f.status, f.batch_number, f.started_from, f.started_to)
        rows, more = await res.batch_page(info.context, search, page_size(first), decode_cursor("batch", after))
        edges = [Edge(node=batch_of(b), cursor=encode_cursor("batch", b.id)) for b in rows]
        return connection(edges, len(edges), more, after is not None)
