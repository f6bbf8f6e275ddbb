"""Electronic plasma picking (挑浆, PR-34, PR-35): a list of units to fetch for a pool, generated from
the units that may be pooled, each unit scanned at its location and matched against the list.

A list takes QA-released units not yet pooled, not on another open list and without a storage
problem (PR-32), oldest collection first, with where each lies. A scan of a unit that is not on the
list, picked already, or no longer poolable is refused and audited as PICK_REFUSED. chargePool with
the list's code pools exactly its picked units and closes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from policies.errors import AppError, ErrorCode
from records.audit import PendingEvent
from records.base import utcnow
from records.picking import ACTIVE
from records.picking import PickingLine as PickingLine
from records.picking import PickingList as PickingList
from records.picking import PickingStatus as PickingStatus  # the value list, for the schema
from records.plasma import CodeCounter, PlasmaUnit, Pool, UnitStatus
from resolvers import storage
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.plasma import out_of_scope
from resolvers.signed import Signatures, SignedRequest, perform, refused

MAX_UNITS = 5000
MAX_SERIAL = 99_999
# Candidates are checked for storage problems this many at a time, oldest first, until enough are found.
CHUNK = 500


def _refusal(message: str, refusal: str, **details: Any) -> AppError:
    """CONFLICT with `extensions.refusal` saying which picking rule refused (the codes stay design.md's)."""
    return AppError(ErrorCode.CONFLICT, message, refusal=refusal, **details)


def _reserved() -> Select[int]:
    """The units on a list still being picked or waiting for its pool."""
    return select(PickingLine.unit_id).join(PickingList, PickingList.id == PickingLine.list_id).where(
        PickingList.status.in_(ACTIVE))


async def _choose(s: AsyncSession, count: int) -> list[PlasmaUnit]:
    """Up to `count` units that may be pooled, first collected first."""
    q = (select(PlasmaUnit).where(PlasmaUnit.status == UnitStatus.RELEASED.value, PlasmaUnit.pool_id.is_(None),
                                  PlasmaUnit.id.not_in(_reserved()))
         .order_by(PlasmaUnit.collected_on, PlasmaUnit.id))
    chosen: list[PlasmaUnit] = []
    offset = 0
    while len(chosen) < count:
        rows = list((await s.execute(q.offset(offset).limit(CHUNK))).scalars())
        if not rows:
            break
        problems = await storage.pooling_problems(s, rows)
        chosen += [u for u in rows if u.donation_number not in problems][:count - len(chosen)]
        offset += CHUNK
    return chosen


async def _next_code(s: AsyncSession, on: date) -> str:
    """PK-YYMM-NNNNN, never reused (the counter row is read and advanced in the write transaction)."""
    pre = f"PK-{on:%y%m}"
    stmt = select(CodeCounter).where(CodeCounter.prefix == pre)
    if (await s.connection()).dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    counter = (await s.execute(stmt)).scalar_one_or_none()
    if counter is None:
        counter = CodeCounter(prefix=pre, last=0)
        s.add(counter)
    if counter.last >= MAX_SERIAL:
        raise conflict(f"picking list codes {pre}-00001-{pre}-{MAX_SERIAL} are all issued this month")
    counter.last += 1
    await s.flush()
    return f"{pre}-{counter.last:05d}"


def _with_lines(q: Select[PickingList]) -> Select[PickingList]:
    return q.options(selectinload(PickingList.pool), selectinload(PickingList.lines).selectinload(PickingLine.unit)
                     .options(selectinload(PlasmaUnit.donor), selectinload(PlasmaUnit.station)))


async def _list(s: AsyncSession, code: str) -> PickingList:
    row = (await s.execute(_with_lines(select(PickingList).where(PickingList.code == code)))).scalar_one_or_none()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no picking list {code}")
    return row


def content(lst: PickingList, numbers: Sequence[str]) -> dict[str, object]:
    """What a signature on a list is bound to."""
    return {"code": lst.code, "product": lst.product, "requested": lst.requested, "status": lst.status,
            "units": list(numbers)}


async def create(ctx: Context, req: SignedRequest, product: str, count: int) -> PickingList:
    """A list of `count` units for `product`; signed PERFORMED. Refused when not enough units may be pooled."""
    async def clean() -> list[int]:
        text("product", product, 64)
        if not 1 <= count <= MAX_UNITS:
            raise invalid(f"units: 1-{MAX_UNITS}")
        async with ctx.db.read() as s:
            chosen = await _choose(s, count)
        if len(chosen) < count:
            raise _refusal(f"only {len(chosen)} released units may be pooled now, {count} asked for",
                           "NOT_ENOUGH_UNITS", available=len(chosen))
        return [u.id for u in chosen]

    async def save(s: AsyncSession, ids: list[int], signatures: Signatures[list[int]]) -> PickingList:
        stmt = select(PlasmaUnit).where(PlasmaUnit.id.in_(ids))
        if (await s.connection()).dialect.name == "postgresql":
            stmt = stmt.with_for_update()  # a concurrent list waits here, then sees these units reserved
        units = {u.id: u for u in (await s.execute(stmt)).scalars()}
        taken = set((await s.execute(_reserved().where(PickingLine.unit_id.in_(ids)))).scalars())
        if taken or any(u.status != UnitStatus.RELEASED or u.pool_id is not None for u in units.values()):
            raise conflict("units of this list were taken or changed meanwhile; generate it again")
        now = utcnow()
        lst = PickingList(code=await _next_code(s, now.date()), product=product.strip(), requested=count,
                          status=PickingStatus.OPEN.value, created_by=signatures.signer, created_at=now)
        s.add(lst)
        await s.flush()
        s.add_all([PickingLine(list_id=lst.id, unit_id=i, position=n, location=units[i].storage_location)
                   for n, i in enumerate(ids, start=1)])
        await s.flush()
        await signatures.bind(s, "picking_list", str(lst.id), content(lst, [units[i].donation_number for i in ids]))
        return lst

    made = await perform(ctx, req, reason=f"picking list of {count} units for {product.strip()}", clean=clean,
                         save=save)
    return await _read(ctx, made.code)


async def pick(ctx: Context, req: SignedRequest, list_code: str, scanned_code: str, scanned: bool,
               picker: str | None) -> PickingList:
    """One unit picked: the scanned code (donation number or the plant label's material code) matched
    against the list; signed PERFORMED. `picker` names the automated picker that confirmed it (PR-35)."""
    async def clean() -> int:
        text("listCode", list_code, 16)
        text("donationNumber", scanned_code, 32)
        if picker is not None:
            text("picker", picker, 64)
        async with ctx.db.read() as s:
            lst = await _list(s, list_code)
            line = next((x for x in lst.lines if scanned_code in (x.unit.donation_number, x.unit.material_code)),
                        None)

            def no(refusal: str, message: str) -> AppError:
                return refused(_refusal(message, refusal), PendingEvent(
                    "PICK_REFUSED", "picking_list", str(lst.id),
                    {"list": lst.code, "scanned": scanned_code, "refusal": refusal, "message": message}))

            if lst.status != PickingStatus.OPEN:
                raise no("LIST_NOT_OPEN", f"picking list {lst.code} is {lst.status}, not open for picking")
            if line is None:
                raise no("NOT_ON_PICKING_LIST", f"{scanned_code} is not on picking list {lst.code}: leave it where "
                                                "it is")
            if line.picked_at is not None:
                raise no("ALREADY_PICKED", f"{scanned_code} was picked already, at {line.picked_at:%Y-%m-%d %H:%M} "
                                           f"UTC by {line.picked_by}")
            u = line.unit
            if u.status != UnitStatus.RELEASED or u.pool_id is not None:
                raise no("UNIT_NOT_RELEASED", f"{u.donation_number} is {u.status} now, no longer released: "
                                              "leave it where it is and tell QA")
            problem = (await storage.pooling_problems(s, [u])).get(u.donation_number)
            if problem is not None:
                raise no("STORAGE_PROBLEM", f"{u.donation_number} may not be pooled: {problem}")
        return line.id

    async def save(s: AsyncSession, line_id: int, signatures: Signatures[int]) -> PickingLine:
        line = await s.get_one(PickingLine, line_id, with_for_update=True)
        lst = await s.get_one(PickingList, line.list_id)
        u = await s.get_one(PlasmaUnit, line.unit_id)
        if line.picked_at is not None or lst.status != PickingStatus.OPEN or u.status != UnitStatus.RELEASED:
            raise conflict(f"{u.donation_number} or its list changed meanwhile; scan it again")
        line.picked_at, line.picked_by, line.scanned, line.picker = utcnow(), signatures.signer, scanned, picker
        await s.flush()
        left = (await s.execute(select(PickingLine.id).where(PickingLine.list_id == lst.id,
                                                             PickingLine.picked_at.is_(None)).limit(1))).first()
        if left is None:
            lst.status = PickingStatus.PICKED.value
            await s.flush()
        await signatures.bind(s, "picking_line", str(line.id), {
            "list": lst.code, "donationNumber": u.donation_number, "location": line.location, "scanned": scanned,
            "picker": picker})
        return line

    await perform(ctx, req, reason=f"{scanned_code} picked for {list_code}", clean=clean, save=save)
    return await _read(ctx, list_code)


async def cancel(ctx: Context, req: SignedRequest, code: str, reason: str) -> PickingList:
    """A list not yet charged is cancelled, its units free for another list; signed PERFORMED."""
    async def clean() -> int:
        text("reason", reason, 2000)
        async with ctx.db.read() as s:
            lst = await _list(s, code)
        if lst.status not in ACTIVE:
            raise conflict(f"picking list {code} is {lst.status}: it cannot be cancelled")
        return lst.id

    async def save(s: AsyncSession, list_id: int, signatures: Signatures[int]) -> PickingList:
        lst = await s.get_one(PickingList, list_id, with_for_update=True)
        if lst.status not in ACTIVE:
            raise conflict(f"picking list {code} was closed or cancelled meanwhile")
        lst.status, lst.closed_at, lst.closed_by = PickingStatus.CANCELLED.value, utcnow(), signatures.signer
        lst.cancel_reason = reason.strip()
        await s.flush()
        await signatures.bind(s, "picking_list", str(lst.id), {"code": code, "status": lst.status,
                                                               "reason": lst.cancel_reason})
        return lst

    await perform(ctx, req, reason=f"picking list {code} cancelled: {reason.strip()}", clean=clean, save=save)
    return await _read(ctx, code)


# --- pooling with a list (resolvers.pooling) -------------------------------------------------------------

async def check_for_pool(s: AsyncSession, code: str, product: str, donation_numbers: Sequence[str]) -> int:
    """The list a pool is charged from: open or picked, of the same product, and its picked units exactly
    the donation numbers given. Its id."""
    lst = await _list(s, code)
    if lst.status not in ACTIVE:
        raise _refusal(f"picking list {code} is {lst.status}", "LIST_NOT_OPEN")
    if lst.product != product.strip():
        raise invalid(f"picking list {code} is for {lst.product}, not {product.strip()}")
    picked = {x.unit.donation_number for x in lst.lines if x.picked_at is not None}
    given = set(donation_numbers)
    if not picked or picked != given:
        raise _refusal(f"the units must be exactly the {len(picked)} picked from {code}",
                       "NOT_THE_PICKED_UNITS", unpicked=sorted(given - picked), missing=sorted(picked - given))
    return lst.id


async def close_for_pool(s: AsyncSession, list_id: int, pool: Pool, by: str) -> None:
    lst = await s.get_one(PickingList, list_id, with_for_update=True)
    if lst.status not in ACTIVE:
        raise conflict(f"picking list {lst.code} was closed or cancelled meanwhile")
    lst.status, lst.pool_id, lst.closed_at, lst.closed_by = PickingStatus.CLOSED.value, pool.id, utcnow(), by
    await s.flush()


# --- reads -------------------------------------------------------------------------------------------------

def _internal(ctx: Context) -> None:
    """A list spans stations: not for a partner's or regulator's scoped access."""
    if ctx.signed_in().is_scoped:
        raise out_of_scope()


async def _read(ctx: Context, code: str) -> PickingList:
    async with ctx.db.read() as s:
        return await _list(s, code)


async def get(ctx: Context, code: str) -> PickingList | None:
    _internal(ctx)
    async with ctx.db.read() as s:
        return (await s.execute(_with_lines(select(PickingList).where(PickingList.code == code)))
                ).scalar_one_or_none()


async def listing(ctx: Context, status: PickingStatus | None) -> list[PickingList]:
    """Newest first, at most 200."""
    _internal(ctx)
    q = select(PickingList).order_by(PickingList.created_at.desc(), PickingList.id.desc()).limit(200)
    if status is not None:
        q = q.where(PickingList.status == status.value)
    async with ctx.db.read() as s:
        return list((await s.execute(_with_lines(q))).scalars())
