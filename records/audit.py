"""The audit trail: append-only, hash-chained, written in the same transaction as the change.

Each event's hash is SHA-256 over the RFC 8785 canonical JSON of the event, which includes the
previous event's hash. Ids are assigned under a lock as last id + 1, so the chain is linear and a
fork fails on the primary key instead of silently branching.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import rfc8785
from sqlalchemy import JSON, ForeignKey, String, Text, event, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column
from sqlalchemy.orm.attributes import get_history

from records.base import Base, BigId, utcnow

GENESIS = "0" * 64
# Arbitrary constant key for pg_advisory_xact_lock: serialises audit appends across processes.
PG_AUDIT_LOCK = 0x504C5457


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    action: Mapped[str] = mapped_column(String(48), index=True)
    entity: Mapped[str] = mapped_column(String(48), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(64), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditError(Exception):
    """A GMP change cannot be audited as required (no actor, or no reason)."""

    def __init__(self, message: str, code: str = "VALIDATION_FAILED") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AuditContext:
    """Who is writing, why, and from where; put on the session by the unit of work."""

    actor: str
    actor_id: int | None = None
    reason: str | None = None
    client_address: str | None = None


@dataclass(frozen=True)
class PendingEvent:
    action: str
    entity: str
    entity_id: str | None
    changes: dict[str, Any]
    reason: str | None = None


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def event_hash(
    *, id: int, occurred_at: datetime, actor: str, actor_id: int | None, action: str, entity: str,
    entity_id: str | None, changes: dict[str, Any], reason: str | None, client_address: str | None,
    prev_hash: str,
) -> str:
    body: dict[str, Any] = {
        "id": id, "occurredAt": iso(occurred_at), "actor": actor, "actorId": actor_id,
        "action": action, "entity": entity, "entityId": entity_id, "changes": changes,
        "reason": reason, "clientAddress": client_address, "prevHash": prev_hash,
    }
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def append(conn: Connection, ctx: AuditContext, events: Sequence[PendingEvent]) -> list[int]:
    """Append events to the chain on this connection's transaction; returns their ids."""
    if not events:
        return []
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_AUDIT_LOCK})")
    last = conn.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    last_id, prev = (last[0], last[1]) if last else (0, GENESIS)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    ids: list[int] = []
    for ev in events:
        last_id += 1
        row: dict[str, Any] = {
            "id": last_id, "occurred_at": now, "actor": ctx.actor, "actor_id": ctx.actor_id,
            "action": ev.action, "entity": ev.entity, "entity_id": ev.entity_id,
            "changes": ev.changes, "reason": ev.reason if ev.reason is not None else ctx.reason,
            "client_address": ctx.client_address, "prev_hash": prev,
        }
        row["hash"] = prev = event_hash(**row)
        rows.append(row)
        ids.append(last_id)
    conn.execute(insert(AuditEvent), rows)
    return ids


# --- automatic row auditing -------------------------------------------------------------

def _is_audited(obj: object) -> bool:
    return bool(getattr(type(obj), "__audited__", False))


def _entity_id(obj: object) -> str:
    # In after_flush new objects have their keys but no identity yet: read the key columns.
    ident = inspect(type(obj)).primary_key_from_instance(obj)
    return "/".join("" if v is None else str(v) for v in ident)


def _row_changes(obj: object, mode: str) -> dict[str, Any]:
    mapper = inspect(type(obj))
    redact: frozenset[str] = getattr(type(obj), "__audit_redact__", frozenset())
    digest: frozenset[str] = getattr(type(obj), "__audit_digest__", frozenset())
    changes: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        key = attr.key
        hist = get_history(obj, key)
        if mode == "CREATE":
            old, new = None, getattr(obj, key)
            if new is None:
                continue
        elif mode == "DELETE":
            old = hist.unchanged[0] if hist.unchanged else (hist.deleted[0] if hist.deleted else None)
            new = None
        else:
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old == new:
                continue
        if key in redact:
            changes[key] = ["***", "***"]
        elif key in digest:
            changes[key] = [_digest(old), _digest(new)]
        else:
            changes[key] = [to_json_value(old), to_json_value(new)]
    return changes


def _digest(value: Any) -> str | None:
    """Large values (documents) are audited by their SHA-256."""
    if value is None:
        return None
    data = value if isinstance(value, bytes) else str(value).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def audited_value(model: type, key: str, value: Any) -> Any:
    """A column value as the trail writes it (redacted, digested or as JSON), to compare rows with events."""
    if value is None:
        return None
    if key in getattr(model, "__audit_redact__", frozenset()):
        return "***"
    if key in getattr(model, "__audit_digest__", frozenset()):
        return _digest(value)
    return to_json_value(value)


def _collect(session: Session) -> list[PendingEvent]:
    events: list[PendingEvent] = []
    for mode, objs in (("CREATE", session.new), ("UPDATE", session.dirty), ("DELETE", session.deleted)):
        for obj in _sorted(objs):
            if not _is_audited(obj):
                continue
            if mode == "UPDATE" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _row_changes(obj, mode)
            if mode == "UPDATE" and not changes:
                continue
            events.append(PendingEvent(mode, _table(obj), _entity_id(obj), changes))
    return events


def _table(obj: object) -> str:
    return str(getattr(type(obj), "__tablename__", type(obj).__name__))


def _sorted(objs: Iterable[object]) -> list[object]:
    return sorted(objs, key=lambda o: (_table(o), _entity_id(o)))


def _check_before_flush(session: Session, _flush_context: UOWTransaction, _instances: object) -> None:
    touched = [o for o in (*session.new, *session.dirty, *session.deleted) if _is_audited(o)]
    if not touched:
        return
    ctx = session.info.get("audit")
    if not isinstance(ctx, AuditContext):
        raise AuditError("a GMP record was changed without an audit context (who and why)")
    needs_reason = [
        o for o in (*session.dirty, *session.deleted)
        if _is_audited(o) and getattr(type(o), "__audit_reason_required__", True)
        and (o in session.deleted or session.is_modified(o, include_collections=False))
    ]
    if needs_reason and not (ctx.reason and ctx.reason.strip()):
        raise AuditError("a reason is required to change or delete GMP data")


def _after_flush(session: Session, _flush_context: UOWTransaction) -> None:
    events = _collect(session)
    if events:
        ctx = session.info["audit"]
        append(session.connection(), ctx, events)


def install(session_class: type[Session] = Session) -> None:
    """Hook automatic auditing into every session of this class (idempotent)."""
    if not event.contains(session_class, "before_flush", _check_before_flush):
        event.listen(session_class, "before_flush", _check_before_flush)
        event.listen(session_class, "after_flush", _after_flush)


# --- verification ------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_at: int | None
    problem: str | None = None


def verify_rows(rows: Iterable[Any], checked_before: int = 0, prev: tuple[int, str] | None = None
                ) -> tuple[ChainReport | None, tuple[int, str] | None, int]:
    """Check one ordered page of rows; returns (failure or None, last (id, hash), count)."""
    last_id, prev_hash = prev if prev else (0, GENESIS)
    checked = checked_before
    for r in rows:
        checked += 1
        if r.id != last_id + 1:
            return ChainReport(False, checked, r.id, f"gap before event {r.id}"), None, checked
        if r.prev_hash != prev_hash:
            return ChainReport(False, checked, r.id, f"event {r.id} does not link to its predecessor"), None, checked
        expected = event_hash(
            id=r.id, occurred_at=r.occurred_at, actor=r.actor, actor_id=r.actor_id, action=r.action,
            entity=r.entity, entity_id=r.entity_id, changes=r.changes, reason=r.reason,
            client_address=r.client_address, prev_hash=r.prev_hash,
        )
        if expected != r.hash:
            return ChainReport(False, checked, r.id, f"event {r.id} was altered after it was written"), None, checked
        last_id, prev_hash = r.id, r.hash
    return None, (last_id, prev_hash), checked


async def verify_chain(session: Any, page: int = 5000) -> ChainReport:
    """Walk the whole chain in pages (AsyncSession); constant memory."""
    prev: tuple[int, str] | None = None
    checked = 0
    after = 0
    while True:
        rows = (await session.execute(
            select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(page)
        )).scalars().all()
        if not rows:
            return ChainReport(True, checked, None)
        failure, prev, checked = verify_rows(rows, checked, prev)
        if failure:
            return failure
        after = rows[-1].id
        session.expunge_all()


async def add(session: Any, *events: PendingEvent) -> None:
    """Append explicit events (sign-ins, links, reloads...) in the session's transaction, under the
    audit context of its unit of work, beside the automatic row events."""
    ctx = session.info["audit"]
    await session.run_sync(lambda s: append(s.connection(), ctx, events))
