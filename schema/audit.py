"""The audit trail: filtered pages and chain verification."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from records import audit as rec
from resolvers import audit as res
from resolvers.context import Context
from schema.permissions import can
from schema.relay import Connection, Edge, connection, decode_cursor, encode_cursor, page_size


@strawberry.type
class AuditEvent:
    id: strawberry.ID
    occurred_at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    changes: JSON = strawberry.field(description="Per field: [old value, new value].")
    reason: str | None
    client_address: str | None
    hash: str
    prev_hash: str

    @classmethod
    def of(cls, e: rec.AuditEvent) -> AuditEvent:
        return cls(id=strawberry.ID(str(e.id)), occurred_at=e.occurred_at, actor=e.actor, action=e.action,
                   entity=e.entity, entity_id=e.entity_id, changes=e.changes,  # type: ignore[arg-type]
                   reason=e.reason,
                   client_address=e.client_address, hash=e.hash, prev_hash=e.prev_hash)


@strawberry.input
class AuditFilter:
    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = strawberry.field(default=None, name="from")
    until: datetime | None = strawberry.field(default=None, name="to")


@strawberry.type
class ChainReport:
    ok: bool
    checked: int
    first_broken_at: strawberry.ID | None
    problem: str | None


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Audit events, newest first, filtered by entity, actor, action and time.",
                      extensions=can("audit:trail", "read"))
    async def audit_trail(
        self, info: Info[Context, None], filter: AuditFilter | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        ctx = info.context
        f = filter or AuditFilter()
        q = res.AuditQuery(f.entity, f.entity_id, f.actor, f.action, f.since, f.until)
        size = page_size(first)
        async with ctx.db.read() as s:
            rows, more, total = await res.page(s, q, size, decode_cursor("audit", after))
        edges = [Edge(node=AuditEvent.of(r), cursor=encode_cursor("audit", r.id)) for r in rows]
        return connection(edges, total, more, after is not None)

    @strawberry.field(description="Recompute the hash chain over every audit event.",
                      extensions=can("audit:chain", "read"))
    async def verify_audit_chain(self, info: Info[Context, None]) -> ChainReport:
        ctx = info.context
        async with ctx.db.read() as s:
            r = await rec.verify_chain(s)
        return ChainReport(ok=r.ok, checked=r.checked, problem=r.problem,
                           first_broken_at=strawberry.ID(str(r.first_broken_at)) if r.first_broken_at else None)
