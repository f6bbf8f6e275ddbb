"""Drug traceability codes and their aggregation across packaging levels (PR-30): UNIT in CARTON in
CASE; a code has one parent at most; malformed codes are rejected."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.genealogy import FinalLot, PackagingUnit
from records.genealogy import PackagingLevel as PackagingLevel  # the value list, for the schema
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

CODE = re.compile(r"^\d{20}$")  # 20-digit drug traceability code: 7-digit product identifier + serial


@dataclass(frozen=True)
class PackView:
    code: str
    level: str
    lot_number: str
    product: str
    parent: str | None
    children: list[str]


def check_code(code: str) -> str:
    if not CODE.match(code):
        raise AppError(ErrorCode.VALIDATION_FAILED, f"{code!r} is not a 20-digit drug traceability code")
    return code


async def lookup(ctx: Context, code: str) -> PackView | None:
    """A packaging code for an unrestricted caller; a scoped token traces it with traceBackward, which
    applies the scope."""
    if ctx.signed_in().is_scoped:
        raise AppError(ErrorCode.OUT_OF_SCOPE, "use traceBackward for scoped access to packaging codes")
    async with ctx.db.read() as s:
        return await view(s, code)


async def view(s: AsyncSession, code: str) -> PackView | None:
    row = (await s.execute(select(PackagingUnit, FinalLot.lot_number, FinalLot.product)
                           .join(FinalLot, FinalLot.id == PackagingUnit.final_lot_id)
                           .where(PackagingUnit.code == check_code(code)))).first()
    if row is None:
        return None
    pu, lot, product = row
    parent = (await s.execute(select(PackagingUnit.code).where(PackagingUnit.id == pu.parent_id))
              ).scalar_one_or_none() if pu.parent_id else None
    children = list((await s.execute(select(PackagingUnit.code).where(PackagingUnit.parent_id == pu.id)
                                     .order_by(PackagingUnit.code))).scalars())
    return PackView(pu.code, pu.level, lot, product, parent, children)


def _check_fits(child: PackagingUnit, parent: PackagingUnit) -> None:
    """A child goes into a parent one packaging level up, of its own lot, and into one parent only."""
    up = PackagingLevel(child.level).parent()
    if up is None:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"a {child.level} is not packed into anything")
    if up != parent.level:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"a {child.level} goes into a {up}, not a {parent.level}")
    if child.parent_id is not None and child.parent_id != parent.id:
        raise AppError(ErrorCode.CONFLICT, f"{child.code} is already aggregated under another parent")
    if child.final_lot_id != parent.final_lot_id:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"{child.code} belongs to another lot")


async def aggregate(ctx: Context, req: SignedRequest, parent_code: str, child_codes: list[str]) -> PackView:
    async def clean() -> int:
        if not child_codes or len(set(child_codes)) != len(child_codes):
            raise AppError(ErrorCode.VALIDATION_FAILED, "list each child code once")
        for c in [parent_code, *child_codes]:
            check_code(c)
        async with ctx.db.read() as s:
            parent = (await s.execute(select(PackagingUnit).where(PackagingUnit.code == parent_code))
                      ).scalar_one_or_none()
            kids = (await s.execute(select(PackagingUnit).where(PackagingUnit.code.in_(child_codes)))).scalars().all()
        if parent is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no packaging code {parent_code}")
        found = {k.code: k for k in kids}
        unknown = [c for c in child_codes if c not in found]
        if unknown:
            raise AppError(ErrorCode.NOT_FOUND, f"unknown codes: {', '.join(unknown[:5])}")
        for k in kids:
            _check_fits(k, parent)
        return parent.id

    async def save(s: AsyncSession, parent_id: int, signatures: Signatures[int]) -> None:
        rows = (await s.execute(select(PackagingUnit).where(PackagingUnit.code.in_(child_codes))
                                .with_for_update())).scalars().all()
        for k in rows:
            if k.parent_id is not None and k.parent_id != parent_id:
                raise AppError(ErrorCode.CONFLICT, f"{k.code} was aggregated meanwhile")
            k.parent_id = parent_id
        await s.flush()
        await signatures.bind(s, "packaging_unit", str(parent_id), {"parent": parent_code,
                                                                    "children": sorted(child_codes)})

    await perform(ctx, req, reason="packaging aggregation", clean=clean, save=save, meanings=("PERFORMED",))
    async with ctx.db.read() as s:
        out = await view(s, parent_code)
    assert out is not None
    return out
