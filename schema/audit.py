"""The audit trail: filtered pages, and verification of the chain and of the rows against it."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import audit as res
from resolvers.context import Context
from schema.convert import of
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


@strawberry.input
class AuditFilter:
    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = strawberry.field(default=None, name="from")
    until: datetime | None = strawberry.field(default=None, name="to")


@strawberry.enum(description="How a row differs from its audit trail.")
class RowProblem(Enum):
    VALUE_CHANGED = strawberry.enum_value("VALUE_CHANGED", description="The column is not its last audited value.")
    UNAUDITED_ROW = strawberry.enum_value(
        "UNAUDITED_ROW", description="The row has no audited creation and is not part of a verified import.")
    DELETED_ROW_PRESENT = strawberry.enum_value("DELETED_ROW_PRESENT", description="The row was audited as deleted.")
    ROW_MISSING = strawberry.enum_value("ROW_MISSING", description="The row is audited as existing but is gone.")
    IMPORT_DIGEST = strawberry.enum_value(
        "IMPORT_DIGEST", description="A bulk import's rows (entityId: their id range) no longer hash to the "
                                     "digest recorded with it; column names the column when one differs.")


@strawberry.type
class RowMismatch:
    entity: str
    entity_id: str | None
    column: str | None
    audited: str = strawberry.field(description="The last audited value, as JSON.")
    current: str = strawberry.field(description="The value in the database, as JSON (redacted and digested "
                                                "columns as the trail writes them).")
    problem: RowProblem


@strawberry.type
class ChainReport:
    ok: bool = strawberry.field(description="The chain is intact and every audited row matches it.")
    checked: int = strawberry.field(description="Audit events checked.")
    first_broken_at: strawberry.ID | None
    problem: str | None
    rows_checked: int = strawberry.field(description="Rows of audited tables compared with their audit trail.")
    state_ok: bool = strawberry.field(description="Every audited row holds its last audited values.")
    mismatch_count: int
    checkpoints_checked: int = strawberry.field(description="Signed checkpoints of the chain's head checked, in "
                                                            "the database and the file kept outside it (IT-03).")
    checkpoint_problems: list[str] = strawberry.field(description="A checkpoint whose head the chain no longer "
                                                                  "holds: a cut tail, a rewritten chain, an "
                                                                  "older copy restored, or a bad signature.")
    found: strawberry.Private[tuple[res.RowMismatch, ...]]

    @strawberry.field(description="The first differences between the rows and their audit trail.")
    def mismatches(self, first: int = 20) -> list[RowMismatch]:
        return [of(RowMismatch, m, audited=json.dumps(m.audited), current=json.dumps(m.current))
                for m in self.found[:page_size(first, default=20, maximum=res.MAX_MISMATCHES)]]


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Audit events, newest first, filtered by entity, actor, action and time.",
                      extensions=can("audit:trail", "read"))
    async def audit_trail(
        self, info: Info[Context, None], filter: AuditFilter | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        f = filter or AuditFilter()
        q = res.AuditQuery(f.entity, f.entity_id, f.actor, f.action, f.since, f.until)
        # A scoped token's events are those of its own records (resolvers/audit.py visible_events).
        ctx = info.context
        rows, more, total = await res.page(ctx.db, q, page_size(first), decode_cursor("audit", after), ctx.scope())
        edges = [Edge(node=of(AuditEvent, r, id=strawberry.ID(str(r.id))), cursor=encode_cursor("audit", r.id))
                 for r in rows]
        return connection(edges, total, more, after is not None)

    @strawberry.field(description="Recompute the hash chain over every audit event and compare every audited "
                                  "row with its last audited values.",
                      extensions=can("audit:chain", "read"))
    async def verify_audit_chain(self, info: Info[Context, None]) -> ChainReport:
        r = await res.verify(info.context.db)
        marks = await res.verify_checkpoints(info.context)
        broken = r.chain.first_broken_at
        return ChainReport(ok=r.ok and marks.ok, checked=r.chain.checked, problem=r.problem,
                           checkpoints_checked=marks.checked, checkpoint_problems=marks.problems,
                           first_broken_at=strawberry.ID(str(broken)) if broken else None,
                           rows_checked=r.state.rows_checked, state_ok=r.state.ok,
                           mismatch_count=r.state.mismatch_count, found=r.state.mismatches)
