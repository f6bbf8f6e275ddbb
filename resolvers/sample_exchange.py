"""Appendix B.10-B.15, the QC laboratory's samples, for the data exchange (resolvers/exchange.py): sampling one
row per sample, receipt, storage, testing and disposal one row per step of a sample, retained samples one row
per retained sample. Rows are built from the samples' histories (resolvers/sample_life.py `views`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from records.plant import Equipment
from records.plasma import Batch, Donor, PlasmaStation, PlasmaUnit, Sample, SampleKind, batch_pool
from records.sample_life import SampleEventKind
from records.specification import Specification
from resolvers.sample_life import EventView, SampleView, views
from resolvers.specifications import stored_items

Row = dict[str, Any]
MOST = 10_001  # one more than the exchange's limit, so it can refuse


def _amount(quantity: float | None, unit: str | None) -> str | None:
    return f"{quantity:g} {unit or ''}".strip() if quantity is not None else None


async def _samples(s: AsyncSession, batch: Batch | None, since: datetime | None, until: datetime | None,
                   retained: bool = False) -> list[SampleView]:
    q = select(Sample).order_by(Sample.taken_at, Sample.id)
    if batch is not None:
        pools = select(batch_pool.c.pool_id).where(batch_pool.c.batch_id == batch.id)
        q = q.where(or_(Sample.batch_id == batch.id, Sample.plasma_unit_id.in_(
            select(PlasmaUnit.id).where(PlasmaUnit.pool_id.in_(pools)))))
    if retained:
        q = q.where(Sample.kind == SampleKind.RETAINED)
    if since is not None:
        q = q.where(Sample.taken_at >= since)
    if until is not None:
        q = q.where(Sample.taken_at < until)
    return await views(s, list((await s.execute(q.limit(MOST))).scalars()))


async def _donors(s: AsyncSession, found: Sequence[SampleView]) -> dict[int, Row]:
    """The B.10/B.15 plasma fields of each plasma sample's unit, by unit id."""
    ids = {v.sample.plasma_unit_id for v in found if v.sample.plasma_unit_id}
    rows = (await s.execute(select(PlasmaUnit, Donor.name, Donor.card_number, PlasmaStation.name)
                            .join(Donor, Donor.id == PlasmaUnit.donor_id)
                            .join(PlasmaStation, PlasmaStation.id == PlasmaUnit.station_id)
                            .where(PlasmaUnit.id.in_(ids)))).all() if ids else []
    return {u.id: {"XJZXM": name, "KH": card, "XX": u.blood_type, "CXJRQ": u.collected_on,
                   "XJZL": f"{u.weight_g:g} g", "DCXJZMC": station} for u, name, card, station in rows}


def _head(v: SampleView) -> Row:
    return {"YPMC": v.sample.name or v.sample.kind, "PH": v.batch_number}


def _steps(found: Sequence[SampleView], kind: SampleEventKind, since: datetime | None,
           until: datetime | None) -> list[tuple[SampleView, EventView]]:
    return [(v, e) for v in found for e in v.events if e.event.kind == kind
            and (since is None or e.event.at >= since) and (until is None or e.event.at < until)]


async def sampling(s: AsyncSession, batch: Batch | None, since: datetime | None, until: datetime | None) -> list[Row]:
    found = await _samples(s, batch, since, until)
    donors = await _donors(s, found)
    return [{**_head(v), "QYJS": v.sample.pieces, "QYL": _amount(v.sample.quantity, v.sample.unit),
             "QYSJ": v.sample.taken_at, "QYR": v.sample.taken_by, **donors.get(v.sample.plasma_unit_id or -1, {}),
             "YPCCTJ": _at_sampling(v)} for v in found]


def _at_sampling(v: SampleView) -> str | None:
    """The storage conditions stated when the sample was taken (storing it later states its own)."""
    taken = next((e.event for e in v.events if e.event.kind == SampleEventKind.TAKEN), None)
    return taken.conditions if taken is not None else v.sample.conditions


async def receipt(s: AsyncSession, batch: Batch | None, since: datetime | None, until: datetime | None) -> list[Row]:
    found = await _samples(s, batch, None, None)
    return [{**_head(v), "YPL": _amount(e.event.quantity, e.event.unit), "JSSJ": e.event.at, "JSR": e.event.by}
            for v, e in _steps(found, SampleEventKind.RECEIVED, since, until)]


async def storage(s: AsyncSession, batch: Batch | None, since: datetime | None, until: datetime | None) -> list[Row]:
    found = await _samples(s, batch, None, None)
    names = dict((await s.execute(select(Equipment.code, Equipment.name).where(Equipment.code.in_(
        {v.sample.equipment_code for v in found if v.sample.equipment_code})))).all())
    return [{**_head(v), "CFDD": e.event.location, "SBMC": names.get(v.sample.equipment_code or ""),
             "SBBH": v.sample.equipment_code, "HJTJ": e.event.conditions}
            for v, e in _steps(found, SampleEventKind.STORED, since, until)]


async def testing(s: AsyncSession, batch: Batch | None, since: datetime | None, until: datetime | None) -> list[Row]:
    found = await _samples(s, batch, None, None)
    steps = _steps(found, SampleEventKind.TESTED, since, until)
    specs = {f"{x.code} v{x.version}": x for x in (await s.execute(select(Specification).where(
        Specification.code.in_({e.test.specification.split(" v")[0] for _, e in steps if e.test})))).scalars()}
    out = []
    for v, e in steps:
        t = e.test
        spec = specs.get(t.specification) if t else None
        item = next((i for i in stored_items(spec) if t and i.name == t.item), None) if spec else None
        limits = (item.expected or " - ".join(x or "" for x in (item.low, item.high)).strip(" -") + f" {item.unit}"
                  if item else None)
        out.append({**_head(v), "JYYJ": t.specification if t else None, "JYFF": t.method if t else None,
                    "JYYL": _amount(e.event.quantity, e.event.unit), "JYXM": t.item if t else None,
                    "ZLBZ": limits.strip() if limits else None,
                    "JYJG": f"{t.reported} ({t.verdict})" if t else None, "JYRY": e.event.by,
                    "FHRY": t.reviewed_by if t else None, "JYSJ": e.event.at})
    return out


async def disposal(s: AsyncSession, batch: Batch | None, since: datetime | None, until: datetime | None) -> list[Row]:
    found = await _samples(s, batch, None, None)
    out = []
    for v, e in _steps(found, SampleEventKind.DISPOSED, since, until):
        left = (v.remaining or 0) + (e.event.quantity or 0) if v.remaining is not None else None
        out.append({**_head(v), "SYL": _amount(left, v.sample.unit), "XHL": _amount(e.event.quantity, e.event.unit),
                    "ZT": v.sample.status, "CZRY": e.event.by, "CZDD": e.event.location, "CZFF": e.event.method,
                    "CZSJ": e.event.at})
    return out


async def retained(s: AsyncSession, batch: Batch | None, since: datetime | None, until: datetime | None) -> list[Row]:
    found = await _samples(s, batch, since, until, retained=True)
    donors = await _donors(s, found)
    out = []
    for v in found:
        plasma = {k: x for k, x in donors.get(v.sample.plasma_unit_id or -1, {}).items() if k != "DCXJZMC"}
        until_ = v.retention.retain_until
        out.append({**_head(v), "SL": v.remaining if v.remaining is not None else v.sample.quantity,
                    "YXQ": v.product_expiry,
                    "LYQX": f"until {until_.isoformat()} ({v.retention.basis})" if until_ else v.retention.basis,
                    "LYDD": v.sample.storage_location, "BCTJ": v.sample.conditions, **plasma})
    return out
