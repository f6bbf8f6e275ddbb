"""Documents kept in numbered versions under one code (recipes, specifications): one version, the one in
force, and the listing, the same way for each kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from resolvers.context import Context


async def find(s: AsyncSession, model: Any, code: str, number: int, what: str) -> Any:
    """Version `number` of `code` in this session, or NOT_FOUND naming `what` (a recipe, a specification)."""
    r = (await s.execute(select(model).where(model.code == code, model.version == number))).scalar_one_or_none()
    if r is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no {what} {code} version {number}")
    return r


async def version(ctx: Context, model: Any, code: str, number: int | None, in_force: str) -> Any:
    """Version `number` of `code`, or without one the version whose status is `in_force` (else the newest)."""
    async with ctx.db.read() as s:
        if number is not None:
            return (await s.execute(select(model).where(model.code == code, model.version == number))
                    ).scalar_one_or_none()
        rows = list((await s.execute(select(model).where(model.code == code)
                                     .order_by(model.version.desc()))).scalars())
    return next((r for r in rows if r.status == in_force), rows[0] if rows else None)


async def listing(ctx: Context, model: Any, **equal: str | None) -> Sequence[Any]:
    """Every version, by code and newest version first, where each given column equals its value (a value of
    None or "" does not filter)."""
    q = select(model).order_by(model.code, model.version.desc())
    for column, value in equal.items():
        if value:
            q = q.where(getattr(model, column) == value)
    async with ctx.db.read() as s:
        return (await s.execute(q)).scalars().all()
