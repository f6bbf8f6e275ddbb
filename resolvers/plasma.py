"""Reads of plasma units, donors and batches, with the caller's token scope applied in the query.

The functions taking a session are the building blocks other resolvers share; those taking the
Context answer one GraphQL field each, in their own read session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from policies.errors import AppError, ErrorCode
from records.plasma import Batch as Batch
from records.plasma import BatchStatus as BatchStatus  # the value lists, for the schema
from records.plasma import Donor as Donor
from records.plasma import DonorStatus as DonorStatus
from records.plasma import PlasmaUnit as PlasmaUnit
from records.plasma import UnitStatus as UnitStatus
from records.plasma import batch_pool
from resolvers.context import Context
from resolvers.trace import TraceScope, batch_visible

LOOKBACK_MIN_DAYS = 60  # PL-03: the guideline's minimum; never configurable below


def out_of_scope() -> AppError:
    return AppError(ErrorCode.OUT_OF_SCOPE, "that record is not within your token's scope")


async def unit(s: AsyncSession, donation_number: str, scope: TraceScope) -> PlasmaUnit | None:
    row = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number == donation_number)
                           .options(selectinload(PlasmaUnit.donor), selectinload(PlasmaUnit.station),
                                    selectinload(PlasmaUnit.pool)))).scalar_one_or_none()
    if scope.unrestricted:
        return row
    if row is None or not await unit_visible(s, row, scope):
        raise out_of_scope()
    return row


async def unit_visible(s: AsyncSession, u: PlasmaUnit, scope: TraceScope) -> bool:
    if scope.stations and u.station.code in scope.stations:
        return True
    if u.pool_id is None or not (scope.products or scope.batch_numbers):
        return False
    rows = (await s.execute(select(Batch.product, Batch.batch_number)
                            .join(batch_pool, batch_pool.c.batch_id == Batch.id)
                            .where(batch_pool.c.pool_id == u.pool_id))).all()
    return any(batch_visible(scope, p, b) for p, b in rows)


async def donor(s: AsyncSession, card_number: str, scope: TraceScope) -> Donor | None:
    row = (await s.execute(select(Donor).where(Donor.card_number == card_number)
                           .options(selectinload(Donor.station)))).scalar_one_or_none()
    if scope.unrestricted:
        return row
    if row is None or not (scope.stations and row.station.code in scope.stations):
        raise out_of_scope()
    return row


async def donor_units(s: AsyncSession, donor_id: int) -> Sequence[PlasmaUnit]:
    return (await units_by_donor_ids(s, [donor_id]))[0]


async def units_by_donor_ids(s: AsyncSession, donor_ids: Sequence[int]) -> list[list[PlasmaUnit]]:
    """Every unit of each donor, oldest first, in the order of `donor_ids`: one statement (and one per
    relationship loaded) however many donors."""
    found: dict[int, list[PlasmaUnit]] = {i: [] for i in donor_ids}
    for u in (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donor_id.in_(set(donor_ids)))
                              .options(selectinload(PlasmaUnit.pool), selectinload(PlasmaUnit.donor))
                              .order_by(PlasmaUnit.collected_on, PlasmaUnit.id))).scalars():
        found[u.donor_id].append(u)
    return [found[i] for i in donor_ids]


async def lookback(s: AsyncSession, donor_id: int, days: int) -> Sequence[PlasmaUnit]:
    """Every unit of the donor collected from `days` before the last donation onwards (inclusive)."""
    lookback_days(days)
    return within_lookback(await donor_units(s, donor_id), days)


def lookback_days(days: int) -> None:
    if days < LOOKBACK_MIN_DAYS:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"the lookback is at least {LOOKBACK_MIN_DAYS} days (PL-03)")


def within_lookback(units: Sequence[PlasmaUnit], days: int) -> list[PlasmaUnit]:
    """Of one donor's units, oldest first, those collected from `days` before the last donation onwards."""
    if not units:
        return []
    since = units[-1].collected_on - timedelta(days=days)
    return [u for u in units if u.collected_on >= since]


def in_scope(scope: TraceScope) -> ColumnElement[bool]:
    """The condition on Batch that keeps a scoped token to its products and batch numbers."""
    if scope.unrestricted:
        return true()
    conds = []
    if scope.products:
        conds.append(Batch.product.in_(scope.products))
    if scope.batch_numbers:
        conds.append(Batch.batch_number.in_(scope.batch_numbers))
    return or_(*conds) if conds else false()


def batch_scope(stmt: Select[Any], scope: TraceScope) -> Select[Any]:
    return stmt if scope.unrestricted else stmt.where(in_scope(scope))


async def batch(s: AsyncSession, batch_number: str, scope: TraceScope) -> Batch | None:
    row = (await s.execute(batch_scope(select(Batch), scope).where(Batch.batch_number == batch_number)
                           .options(selectinload(Batch.pools), selectinload(Batch.recipe)))).scalar_one_or_none()
    if row is None and not scope.unrestricted:
        raise out_of_scope()
    found: Batch | None = row
    return found


@dataclass(frozen=True)
class BatchSearch:
    """PR-52: by batch number (its beginning), product, status and production date (when it started)."""

    product: str | None = None
    status: str | None = None
    number: str | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None


async def batches(s: AsyncSession, scope: TraceScope, f: BatchSearch, first: int,
                  after_id: int | None) -> tuple[Sequence[Batch], bool]:
    stmt = batch_scope(select(Batch), scope).options(selectinload(Batch.pools), selectinload(Batch.recipe))
    if f.product:
        stmt = stmt.where(Batch.product == f.product)
    if f.status:
        stmt = stmt.where(Batch.status == f.status)
    if f.number:
        stmt = stmt.where(Batch.batch_number.startswith(f.number, autoescape=True))
    if f.started_from:
        stmt = stmt.where(Batch.started_at >= f.started_from)
    if f.started_to:
        stmt = stmt.where(Batch.started_at < f.started_to)
    if after_id is not None:
        stmt = stmt.where(Batch.id < after_id)
    rows = (await s.execute(stmt.order_by(Batch.id.desc()).limit(first + 1))).scalars().all()
    return rows[:first], len(rows) > first


# --- one field each ---------------------------------------------------------------------------

async def get_unit(ctx: Context, donation_number: str) -> PlasmaUnit | None:
    """A unit with its donor, station and pool loaded; out of scope for a token that may not see it."""
    async with ctx.db.read() as s:
        return await unit(s, donation_number, ctx.scope())


async def get_donor(ctx: Context, card_number: str) -> Donor | None:
    """A donor with their station loaded; out of scope for a token of another station."""
    async with ctx.db.read() as s:
        return await donor(s, card_number, ctx.scope())


async def get_batch(ctx: Context, batch_number: str) -> Batch | None:
    """A batch with its pools loaded; out of scope for a token that may not see it."""
    async with ctx.db.read() as s:
        return await batch(s, batch_number, ctx.scope())


async def batch_page(ctx: Context, f: BatchSearch, first: int, after_id: int | None) -> tuple[Sequence[Batch], bool]:
    """Newest first, within the caller's scope; returns the page and whether more follow."""
    async with ctx.db.read() as s:
        return await batches(s, ctx.scope(), f, first, after_id)
