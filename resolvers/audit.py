"""Audit-trail queries: filtered, keyset-paged reads and verification of the chain and the rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select

from records.audit import AuditEvent as AuditEvent
from records.audit_state import RowMismatch as RowMismatch
from records.audit_state import StoreReport, verify_store
from records.db import Database
from resolvers import checkpoints
from resolvers.context import Context

# Row differences kept for one verification; the report counts them all.
MAX_MISMATCHES = 1000


@dataclass(frozen=True)
class AuditQuery:
    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(q: AuditQuery) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if q.entity:
        stmt = stmt.where(AuditEvent.entity == q.entity)
    if q.entity_id:
        stmt = stmt.where(AuditEvent.entity_id == q.entity_id)
    if q.actor:
        stmt = stmt.where(AuditEvent.actor == q.actor)
    if q.action:
        stmt = stmt.where(AuditEvent.action == q.action)
    if q.since:
        stmt = stmt.where(AuditEvent.occurred_at >= q.since)
    if q.until:
        stmt = stmt.where(AuditEvent.occurred_at < q.until)
    return stmt


async def page(db: Database, q: AuditQuery, first: int, after_id: int | None
               ) -> tuple[Sequence[AuditEvent], bool, int]:
    """Newest first; returns the page, whether more follow, and the filtered total."""
    stmt = _filtered(q)
    async with db.read() as s:
        total = (await s.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        if after_id is not None:
            stmt = stmt.where(AuditEvent.id < after_id)
        rows = (await s.execute(stmt.order_by(AuditEvent.id.desc()).limit(first + 1))).scalars().all()
    return rows[:first], len(rows) > first, total


async def verify(db: Database) -> StoreReport:
    """The hash chain, and every audited row against its last audited values, in one snapshot."""
    return await verify_store(db, keep=MAX_MISMATCHES)


async def verify_checkpoints(ctx: Context) -> checkpoints.CheckpointReport:
    """The signed checkpoints of the chain's head, where the organisation's key signs them."""
    signer = ctx.services.checkpoints
    if signer is None:
        return checkpoints.CheckpointReport()
    return await checkpoints.verify(ctx.db, signer.cert_pem, signer.file)
