"""Audit trail: audited writes per second, chain verification speed, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from records.audit import AuditContext, verify_chain
from records.db import Database
from records.migrate import upgrade
from records.plasma import PlasmaStation


async def _writes(db: Database, n: int, concurrency: int, prefix: str) -> float:
    counter = iter(range(n))

    async def worker(w: int) -> None:
        for i in counter:
            async with db.write(AuditContext(f"bench{w}", None, None, "127.0.0.1")) as s:
                s.add(PlasmaStation(code=f"{prefix}{w}-{i}", name="bench", province="x", licence_number="x"))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return n / (time.perf_counter() - t0)


async def run_store(url: str, n: int = 2000) -> dict[str, Any]:
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        single = await _writes(db, n // 2, 1, "S")
        parallel = await _writes(db, n // 2, 8, "P")
        t0 = time.perf_counter()
        async with db.read() as s:
            report = await verify_chain(s)
        verify_rate = report.checked / (time.perf_counter() - t0)
        return {"store": db.engine.dialect.name, "audited_tx_per_s_1": round(single),
                "audited_tx_per_s_8": round(parallel), "verify_events_per_s": round(verify_rate),
                "chain_ok": report.ok, "events": report.checked}
    finally:
        await db.dispose()
