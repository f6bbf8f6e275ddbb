"""Plasma stations: the licensed suppliers of source plasma, approved by QA before any of their
shipments can be declared or received (supplier qualification)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.plasma import PlasmaStation
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")


@dataclass(frozen=True)
class NewStation:
    code: str
    name: str
    province: str
    licence_number: str

    def cleaned(self) -> NewStation:
        s = NewStation(self.code.strip().upper(), self.name.strip(), self.province.strip(),
                       self.licence_number.strip())
        if not CODE.fullmatch(s.code):
            raise AppError(ErrorCode.VALIDATION_FAILED, "code: 2-32 letters, digits, '-' or '_'")
        for what, value, most in (("name", s.name, 200), ("province", s.province, 64),
                                  ("licenceNumber", s.licence_number, 64)):
            if not value or len(value) > most:
                raise AppError(ErrorCode.VALIDATION_FAILED, f"{what}: 1-{most} characters")
        return s


async def register(ctx: Context, req: SignedRequest, new: NewStation, reason: str) -> PlasmaStation:
    """QA approves a plasma station as a supplier; signed APPROVED."""
    async def clean() -> NewStation:
        if not reason.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
        return new.cleaned()

    async def save(s: AsyncSession, n: NewStation, signatures: Signatures[NewStation]) -> PlasmaStation:
        if (await s.execute(select(PlasmaStation.id).where(PlasmaStation.code == n.code))).first():
            raise AppError(ErrorCode.CONFLICT, f"station {n.code} is already registered")
        row = PlasmaStation(code=n.code, name=n.name, province=n.province, licence_number=n.licence_number)
        s.add(row)
        await s.flush()
        await signatures.bind(s, "plasma_station", str(row.id), {
            "code": n.code, "name": n.name, "province": n.province, "licenceNumber": n.licence_number})
        return row

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, meanings=("APPROVED",),
                         conflict="this station was registered meanwhile")


async def listing(ctx: Context) -> Sequence[PlasmaStation]:
    """Every station, by code; a station's token sees its own."""
    scope = ctx.scope()
    q = select(PlasmaStation).order_by(PlasmaStation.code)
    if scope.stations is not None:
        q = q.where(PlasmaStation.code.in_(scope.stations))
    async with ctx.db.read() as s:
        return (await s.execute(q)).scalars().all()
