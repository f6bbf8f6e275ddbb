"""Material codes AAYYMMBBBBB (PR-10, PR-12): type, year, month, 5-digit serial, never reused.

The counter row is read and advanced inside the caller's write transaction (SQLite holds the
write lock; PostgreSQL locks the row), and the code column is unique, so two concurrent issues can
never produce the same code. A 100,000th code in one month is refused, never wrapped.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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
