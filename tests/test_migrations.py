"""Migrations run up, down and up again on SQLite and on a real PostgreSQL, and match the models."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from records import migrate
from records.models import Base


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


@pytest.mark.req("IT-25")
def test_upgrade_downgrade_upgrade(any_url: str) -> None:
    expected = set(Base.metadata.tables)
    migrate.upgrade(any_url)
    assert expected <= asyncio.run(_tables(any_url))
    migrate.check(any_url)  # models and migrations agree (alembic check)
    migrate.downgrade(any_url, "base")
    assert asyncio.run(_tables(any_url)) <= {"alembic_version"}
    migrate.upgrade(any_url)
    assert expected <= asyncio.run(_tables(any_url))
    migrate.check(any_url)
