"""The compiled reads' own PostgreSQL connections (records/reader.py PgReader): at most POOL_SIZE open
however many statements wait, a refused statement keeps its connection, a lost or cancelled one is
replaced, and nothing is counted twice."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from records import reader as driver
from records.db import Database

pytestmark = pytest.mark.parametrize("db", ["postgres"], indirect=True)


def _pg(db: Database) -> driver.PgReader:
    found = driver.reader(db)
    assert isinstance(found, driver.PgReader)
    return found


async def _alive(db: Database, pids: set[int]) -> set[int]:
    """Which of these server processes still have a session."""
    async with db.engine.connect() as conn:
        return set((await conn.execute(text("SELECT pid FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                                       {"pids": list(pids)})).scalars())


async def test_many_waiting_statements_share_at_most_pool_size_connections(db: Database) -> None:
    pg = _pg(db)
    most = 0

    async def one(i: int) -> str:
        nonlocal most
        got = await pg.value("SELECT $1::text FROM pg_sleep(0.02)", [str(i)])
        most = max(most, pg.opened)
        return str(got)

    answers = await asyncio.gather(*(one(i) for i in range(5 * driver.POOL_SIZE)))
    assert answers == [str(i) for i in range(5 * driver.POOL_SIZE)]
    assert most == driver.POOL_SIZE and pg.opened == len(pg.free) == driver.POOL_SIZE and not pg.waiting


async def test_a_refused_statement_keeps_its_connection(db: Database) -> None:
    pg = _pg(db)
    assert await pg.value("SELECT 1", []) == 1
    kept = pg.free[-1]
    with pytest.raises(asyncpg.PostgresError):
        await pg.value("SELECT 1 / 0", [])
    assert pg.free == [kept] and pg.opened == 1
    assert await pg.row("SELECT 2, 'two'", []) == (2, "two")


async def test_lost_connections_are_replaced(db: Database) -> None:
    pg = _pg(db)
    await asyncio.gather(*(pg.value("SELECT 1 FROM pg_sleep(0.02)", []) for _ in range(3)))
    assert pg.opened == 3
    cut = {c.get_server_pid() for c in pg.free}
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
                           {"pids": list(cut)})
    for _ in range(100):
        if all(c.is_closed() for c in pg.free):
            break
        await asyncio.sleep(0.01)
    assert await pg.value("SELECT 3", []) == 3  # the lost ones are passed over, a new one opened
    alive = [c for c in pg.free if not c.is_closed()]
    assert pg.opened == len(pg.free) and alive and not cut & {c.get_server_pid() for c in alive}


async def test_a_cancelled_statement_closes_its_connection(db: Database) -> None:
    pg = _pg(db)
    task = asyncio.create_task(pg.value("SELECT 1 FROM pg_sleep(5)", []))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pg.opened == 0 and not pg.free  # its protocol state is unknown: not given to anyone again
    assert await pg.value("SELECT 4", []) == 4 and pg.opened == 1


async def test_a_waiter_that_gives_up_leaves_the_line(db: Database) -> None:
    pg = _pg(db)
    holders = [asyncio.create_task(pg.value("SELECT 1 FROM pg_sleep(0.2)", [])) for _ in range(driver.POOL_SIZE)]
    await asyncio.sleep(0.05)
    first = asyncio.create_task(pg.value("SELECT 5", []))
    second = asyncio.create_task(pg.value("SELECT 6", []))
    await asyncio.sleep(0.05)
    assert len(pg.waiting) == 2
    first.cancel()
    assert await second == 6
    await asyncio.gather(*holders)
    assert first.cancelled() and pg.opened == len(pg.free) == driver.POOL_SIZE and not pg.waiting


async def test_closed_and_opened_again_on_use(db: Database) -> None:
    pg = _pg(db)
    await pg.value("SELECT 1", [])
    pids = {c.get_server_pid() for c in pg.free}
    assert await _alive(db, pids) == pids
    pg.close()
    assert pg.opened == 0 and not pg.free
    for _ in range(100):
        if not await _alive(db, pids):
            break
        await asyncio.sleep(0.02)
    assert not await _alive(db, pids)
    assert await pg.value("SELECT 7", []) == 7 and pg.opened == 1
