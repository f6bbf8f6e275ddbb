"""Audit-trail queries: filtered, keyset-paged reads and verification of the chain and the rows.

A scoped (regulator's) token reads the events of the batches and plasma units its scope names and of
nothing else: the condition is part of the statement, so totals and pages count only what it may see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, String, and_, cast, false, func, or_, select, true

from records.audit import AuditEvent as AuditEvent
from records.audit_state import RowMismatch as RowMismatch
from records.audit_state import StoreReport, verify_store
from records.db import Database
from records.plasma import Batch, PlasmaStation, PlasmaUnit, batch_pool
from resolvers import checkpoints
from resolvers.context import Context
from resolvers.plasma import in_scope
from resolvers.trace import TraceScope

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


def _units_in_scope(scope: TraceScope) -> ColumnElement[bool]:
    """resolvers/plasma.py `unit_visible` in SQL: a unit of a station in scope, or pooled into a batch in scope."""
    conds: list[ColumnElement[bool]] = []
    if scope.stations:
        conds.append(PlasmaUnit.station_id.in_(select(PlasmaStation.id).where(PlasmaStation.code.in_(scope.stations))))
    if scope.products or scope.batch_numbers:
        conds.append(PlasmaUnit.pool_id.in_(select(batch_pool.c.pool_id).join(Batch, Batch.id == batch_pool.c.batch_id)
                                            .where(in_scope(scope))))
    return or_(*conds) if conds else false()


def visible_events(scope: TraceScope) -> ColumnElement[bool]:
    """The events a scoped token may read: those of its batches and of its plasma units (events that
    name no record, denials and sign-ins among them, are nobody's scope)."""
    if scope.unrestricted:
        return true()
    # The trail names a row by its primary key as text (records/audit.py).
    batches = select(cast(Batch.id, String)).where(in_scope(scope))
    units = select(cast(PlasmaUnit.id, String)).where(_units_in_scope(scope))
    return or_(and_(AuditEvent.entity == "batch", AuditEvent.entity_id.in_(batches)),
               and_(AuditEvent.entity == "plasma_unit", AuditEvent.entity_id.in_(units)))


async def page(db: Database, q: AuditQuery, first: int, after_id: int | None, scope: TraceScope = TraceScope(),
               ) -> tuple[Sequence[AuditEvent], bool, int]:
    """Newest first, within the caller's scope; returns the page, whether more follow, and the filtered total."""
    stmt = _filtered(q)
    if not scope.unrestricted:
        stmt = stmt.where(visible_events(scope))
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
