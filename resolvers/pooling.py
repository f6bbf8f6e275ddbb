"""Into production: picking QA-released units into a pool, with a retained sample of every unit.

Only RELEASED units of the right product count can be pooled; each gets a retained sample whose
keep-until date is set when the products made from it have an expiry (one year after the latest).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.identity import Setting
from records.plasma import PlasmaUnit, Pool, Sample
from records.plasma import PoolStatus as PoolStatus  # the value list, for the schema
from resolvers import picking, storage
from resolvers.context import Context
from resolvers.signed import Second, Signatures, SignedRequest, perform

DEFAULT_MIN_UNITS = 2  # per product in the setting "pooling.minUnits" ({"product": n})


async def _check_units(ctx: Context, product: str, donation_numbers: list[str]) -> None:
    """Refuse a pool short of the product's units, or with a unit unknown, not released or not stored right."""
    async with ctx.db.read() as s:
        setting = await s.get(Setting, "pooling.minUnits")
        minimum = int((setting.value or {}).get(product, DEFAULT_MIN_UNITS)) if setting else DEFAULT_MIN_UNITS
        units = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number.in_(donation_numbers)))
                 ).scalars().all()
    if len(donation_numbers) < minimum:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"{product} needs at least {minimum} units per pool")
    found = {u.donation_number: u for u in units}
    problems = [f"{n}: unknown" for n in donation_numbers if n not in found]
    problems += [f"{u.donation_number}: {u.status}, not QA-released" for u in units if u.status != "RELEASED"]
    if not problems:
        async with ctx.db.read() as s:
            problems += [f"{n}: {why}" for n, why in (await storage.pooling_problems(s, list(units))).items()]
    if problems:
        raise AppError(ErrorCode.CONFLICT, f"{len(problems)} units cannot be pooled: " + "; ".join(problems[:5]),
                       units=[x.split(":")[0] for x in problems])


async def charge(ctx: Context, req: SignedRequest, pool_code: str, product: str,
                 donation_numbers: list[str], picking_list_code: str | None = None) -> Pool:
    """Signed PERFORMED by whoever pools and VERIFIED by a second person in the same request. With a
    picking list (the GMP path, PR-34) the units are exactly those picked from it, and the list closes."""
    p = ctx.signed_in()

    async def clean() -> int | None:
        if not pool_code.strip() or not product.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "give the pool code and the product")
        if len(set(donation_numbers)) != len(donation_numbers):
            raise AppError(ErrorCode.VALIDATION_FAILED, "a unit is listed twice")
        await _check_units(ctx, product, donation_numbers)
        picked_from = None
        if picking_list_code is not None:
            async with ctx.db.read() as s:
                picked_from = await picking.check_for_pool(s, picking_list_code, product, donation_numbers)
        if req.second is not None:  # without it perform refuses: SIGNATURE_REQUIRED
            await ctx.require_duty("verify", "pool", pool_code, "whoever pools cannot verify the pooling",
                                   subject=req.second.signer, performed_by=p.username)
        return picked_from

    async def save(s: AsyncSession, picked_from: int | None, signatures: Signatures[int | None]) -> Pool:
        now = utcnow()
        pool = Pool(code=pool_code.strip(), product=product.strip(), pooled_at=now, status="CLOSED")
        s.add(pool)
        try:
            await s.flush()
        except IntegrityError as exc:
            raise AppError(ErrorCode.CONFLICT, f"pool {pool_code} exists already") from exc
        rows = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number.in_(donation_numbers))
                )).scalars().all()
        for u in rows:
            if u.status != "RELEASED":  # changed since the check above
                raise AppError(ErrorCode.CONFLICT, f"{u.donation_number} is now {u.status}")
            u.status, u.pool_id = "POOLED", pool.id
            s.add(Sample(code=f"RS-{u.material_code or u.donation_number}", kind="RETAINED", plasma_unit_id=u.id,
                         taken_at=now, taken_by=p.username, storage_location="retained-sample store",
                         status="RETAINED"))
        await s.flush()
        content: dict[str, object] = {"pool": pool.code, "product": pool.product, "units": sorted(donation_numbers)}
        if picked_from is not None:
            await picking.close_for_pool(s, picked_from, pool, signatures.signer)
            content["pickingList"] = picking_list_code
        await signatures.bind(s, "pool", str(pool.id), content)
        return pool

    return await perform(ctx, req, reason=f"pooling {pool_code}", clean=clean, save=save, meanings=("PERFORMED",),
                         second=Second(("VERIFIED",), what="a second person's verification"))
