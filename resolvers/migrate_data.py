"""Moving every record from one store to another (IT-25, IT-27, IT-32): SQLite to PostgreSQL and back.

The target must be empty; it is migrated to the same schema revision, then every table is copied in
dependency order with its primary keys, in chunks, with progress. Afterwards every table's row count and a
SHA-256 over its rows (each row as canonical JSON, in primary-key order) must equal the source's, and the
target's audit chain and audited rows must verify; only then does the target get a MIGRATED audit event
naming who, when, what (the counts and digests), why and from where. Nothing is deleted from the source.
"""

from __future__ import annotations

import asyncio
import base64
import getpass
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import rfc8785
from sqlalchemy import Table, func, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from records.audit import AuditContext, PendingEvent, iso
from records.audit_state import verify_store
from records.base import Base
from records.db import Database
from records.migrate import upgrade
from resolvers.backup import BackupError, redacted

CHUNK = 1000
Progress = Callable[[str, int, int], None]  # table, rows copied, rows in the table


def _tables() -> list[Table]:
    import records.models  # noqa: F401 - every table on the metadata

    return list(Base.metadata.sorted_tables)


def plain(value: Any) -> Any:
    """One value as both dialects give it back, so a row hashes the same in either store."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):  # SQLite gives 606 where PostgreSQL gives 606.0
        return format(Decimal(repr(value) if isinstance(value, float) else value).normalize(), "f")
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


async def _digest(conn: AsyncConnection, table: Table) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    result = await conn.stream(select(table).order_by(*table.primary_key.columns))
    async for part in result.partitions(CHUNK):
        for row in part:
            h.update(bytes(rfc8785.dumps({k: plain(v) for k, v in row._mapping.items()})) + b"\n")
            n += 1
    return n, h.hexdigest()


async def digests(db: Database) -> dict[str, tuple[int, str]]:
    """Every table's row count and row digest, read in one snapshot."""
    async with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            return {t.name: await _digest(conn, t) for t in _tables()}


@dataclass
class MigrationReport:
    ok: bool = False
    tables: dict[str, tuple[int, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


async def _has_rows(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        present = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        full = []
        for t in _tables():
            if t.name in present and (await conn.execute(select(func.count()).select_from(t))).scalar_one():
                full.append(t.name)
    return full


async def _advance_sequences(conn: AsyncConnection) -> None:
    """PostgreSQL hands out the next ids after the copied ones."""
    for t in _tables():
        if "id" in t.c and t.c.id.primary_key and t.c.id.autoincrement is not False:
            await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "  # noqa: S608 - our names
                                    f"coalesce((SELECT max(id) FROM \"{t.name}\"), 0) + 1, false)"))


async def _copy(source: Database, target: Database, wanted: dict[str, tuple[int, str]],
                progress: Progress | None) -> None:
    """Every table in dependency order, primary keys kept, in chunks; one transaction on each side."""
    async with source.engine.connect() as src, target.write_engine.begin() as dst:
        if src.dialect.name == "postgresql":
            await src.execution_options(isolation_level="REPEATABLE READ")
        async with src.begin():
            for t in _tables():
                total, copied = wanted[t.name][0], 0
                result = await src.stream(select(t).order_by(*t.primary_key.columns))
                async for part in result.partitions(CHUNK):
                    await dst.execute(insert(t), [dict(r._mapping) for r in part])
                    copied += len(part)
                    if progress:
                        progress(t.name, copied, total)
                if progress and total == 0:
                    progress(t.name, 0, 0)
        if dst.dialect.name == "postgresql":
            await _advance_sequences(dst)


async def migrate(source_url: str, target_url: str, *, reason: str, actor: str | None = None,
                  progress: Progress | None = None) -> MigrationReport:
    if not reason.strip():
        raise BackupError("a reason is required: it goes into the audit trail")
    source, target = Database(source_url), Database(target_url)
    report = MigrationReport()
    try:
        full = await _has_rows(target)
        if full:
            raise BackupError(f"the target is not empty ({', '.join(full[:5])}…): migrate only into an empty store")
        await asyncio.to_thread(upgrade, target_url)
        if await _has_rows(target):  # the schema's own seed rows, if any, would be duplicated
            raise BackupError("the target has rows after its schema was created: migrate into an empty store")
        wanted = await digests(source)
        await _copy(source, target, wanted, progress)
        got = await digests(target)
        for name, (n, digest) in wanted.items():
            if got.get(name) != (n, digest):
                report.problems.append(f"table {name}: {got.get(name, (0, ''))[0]} rows, expected {n}"
                                       + ("; same count, different content" if got.get(name, (0,))[0] == n else ""))
        store = await verify_store(target, keep=10)
        if not store.ok:
            report.problems.append(f"the target's audit verification failed: {store.problem or 'rows differ'}")
        report.tables, report.ok = got, not report.problems
        if report.ok:
            who = actor or getpass.getuser()
            await target.record(AuditContext(f"migration:{who}", reason=reason.strip()), PendingEvent(
                "MIGRATED", "store", "all", {
                    "from": redacted(source_url), "to": redacted(target_url), "by": who,
                    "tables": {k: {"rows": n, "sha256": d} for k, (n, d) in got.items()}}))
        return report
    finally:
        await source.dispose()
        await target.dispose()
