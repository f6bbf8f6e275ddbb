"""Material codes AAYYMMBBBBB (PR-10, PR-12): type, year, month, 5-digit serial, never reused.

The counter row is read and advanced inside the caller's write transaction (SQLite holds the
write lock; PostgreSQL locks the row), and the code column is unique, so two concurrent issues can
never produce the same code. A 100,000th code in one month is refused, never wrapped.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from policies.errors import AppError, ErrorCode
from records.plasma import CodeCounter, PlasmaUnit

PATTERN = re.compile(r"^[A-Z]{2}\d{2}(0[1-9]|1[0-2])\d{5}$")
MAX_SERIAL = 99_999


def prefix(material_type: str, on: date) -> str:
    if not re.fullmatch(r"[A-Z]{2}", material_type):
        raise AppError(ErrorCode.VALIDATION_FAILED, "a material type is two capital letters")
    return f"{material_type}{on:%y%m}"


async def next_code(s: AsyncSession, material_type: str, on: date) -> str:
    pre = prefix(material_type, on)
    stmt = select(CodeCounter).where(CodeCounter.prefix == pre)
    if (await s.connection()).dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    counter = (await s.execute(stmt)).scalar_one_or_none()
    if counter is None:
        # Start after any code already present (imported or synthetic data).
        highest = (await s.execute(select(func.max(PlasmaUnit.material_code))
                                   .where(PlasmaUnit.material_code.like(f"{pre}%")))).scalar_one_or_none()
        counter = CodeCounter(prefix=pre, last=int(highest[-5:]) if highest else 0)
        s.add(counter)
    if counter.last >= MAX_SERIAL:
        raise AppError(ErrorCode.CONFLICT, f"material codes {pre}00001-{pre}{MAX_SERIAL} are all issued this month")
    counter.last += 1
    await s.flush()
    return f"{pre}{counter.last:05d}"


async def next_serial(s: AsyncSession, key: str, *, start: Callable[[], Awaitable[int]] | None = None,
                      limit: int = MAX_SERIAL, what: str = "numbers") -> int:
    """The next serial of counter `key` (at most 8 characters), in the caller's write transaction: concurrent
    writers queue on the counter row (SQLite's write lock; PostgreSQL's row lock, the row created race-free
    by INSERT ... ON CONFLICT DO NOTHING), so none of them fails on a number another one took. `start` gives
    the highest serial already issued when the counter is new (rows from before the counter existed)."""
    postgres = (await s.connection()).dialect.name == "postgresql"
    if postgres:
        await s.execute(pg_insert(CodeCounter).values(prefix=key, last=0).on_conflict_do_nothing())
    stmt = select(CodeCounter).where(CodeCounter.prefix == key)
    counter = (await s.execute(stmt.with_for_update() if postgres else stmt)).scalar_one_or_none()
    if counter is None:
        counter = CodeCounter(prefix=key, last=0)
        s.add(counter)
    if counter.last == 0 and start is not None:
        counter.last = await start()
    if counter.last >= limit:
        raise AppError(ErrorCode.CONFLICT, f"all {limit} {what} of {key} are issued")
    counter.last += 1
    await s.flush()
    return counter.last


def highest(s: AsyncSession, column: InstrumentedAttribute[str], prefix: str) -> Callable[[], Awaitable[int]]:
    """The highest serial among the values of `column` that start with `prefix` (digits at the end)."""
    async def find() -> int:
        top = (await s.execute(select(func.max(column)).where(column.like(f"{prefix}%")))).scalar_one_or_none()
        digits = re.search(r"(\d+)$", top or "")
        return int(digits.group(1)) if digits else 0
    return find
