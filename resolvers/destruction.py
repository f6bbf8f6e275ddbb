"""Destruction of GMP records whose retention has ended (IT-20, IT-21): signed by QA, approved by a second
person, all or none, leaving a tombstone per record. The database's retention triggers (migration 0044)
refuse any earlier DELETE whoever sends it; this is the one way a plant removes records after their period.

A record still under retention, or one other records still point to (its tests, its batch's phases), refuses
the whole destruction with CONFLICT (extensions.reason UNDER_RETENTION or HAS_DEPENDENT_RECORDS), audited as
DESTRUCTION_REFUSED. Each destroyed row's DELETE is in the audit trail with its last values, as every audited
deletion is, and the destruction itself (who, who approved, why, when, a SHA-256 of each record's content)
stays in `record_destruction`, which the database keeps append-only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import rfc8785
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.audit import audited_value, to_json_value
from records.base import Base, utcnow
from records.plasma import Batch
from records.retention import BY_TABLE, RULES, Rule, later
from records.retention import RecordDestruction as RecordDestruction
from resolvers.context import Context
from resolvers.signed import Refused, Second, Signatures, SignedRequest, perform, refusals_audited

MAX_RECORDS = 1000


@dataclass(frozen=True)
class Doomed:
    row: Any
    until: date | datetime | None  # None: kept for good (a batch without expiry date)

    def ended(self, now: datetime) -> bool:
        if self.until is None:
            return False
        if isinstance(self.until, datetime):
            return self.until <= now
        return self.until <= now.date()


def model_of(table: str) -> type[Any]:
    return next(m.class_ for m in Base.registry.mappers if getattr(m.class_, "__tablename__", None) == table)


def content_hash(row: Any) -> str:
    """SHA-256 of the record's columns as the audit trail writes them (RFC 8785 canonical JSON)."""
    model = type(row)
    body = {a.key: audited_value(model, a.key, getattr(row, a.key)) for a in inspect(model).column_attrs}
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


async def retained_until(s: AsyncSession, rule: Rule, rows: Sequence[Any]) -> list[date | datetime | None]:
    if rule.column != "batch_id":
        return [later(v, rule.years) if (v := getattr(r, rule.column)) is not None else None for r in rows]
    expiry = dict((await s.execute(select(Batch.id, Batch.expiry_date).where(
        Batch.id.in_({r.batch_id for r in rows})))).all())
    return [later(e, 1) if (e := expiry.get(r.batch_id)) is not None else None for r in rows]


async def _dependents(s: AsyncSession, table: str, ids: Sequence[int]) -> dict[str, int]:
    """Rows of other tables that point to these records: they must go first, or the records stay."""
    found: dict[str, int] = {}
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table.name == table and other.name != table:
                n = (await s.execute(select(func.count()).select_from(other).where(fk.parent.in_(ids)))).scalar_one()
                if n:
                    found[f"{other.name}.{fk.parent.name}"] = int(n)
    return found


async def _doomed(s: AsyncSession, table: str, ids: Sequence[int], reason: str) -> list[Doomed]:
    model = model_of(table)
    rows = {r.id: r for r in (await s.execute(select(model).where(model.id.in_(ids)))).scalars()}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise AppError(ErrorCode.NOT_FOUND, f"no {table} records with ids {missing}")
    ordered = [rows[i] for i in ids]
    doomed = [Doomed(r, u) for r, u in zip(ordered, await retained_until(s, BY_TABLE[table], ordered), strict=True)]
    now = utcnow()
    held = [{"id": d.row.id, "retainedUntil": to_json_value(d.until)} for d in doomed if not d.ended(now)]
    if held:
        raise Refused("DESTRUCTION_REFUSED", [(table, str(h["id"]), {**h, "reason": reason}) for h in held],
                      AppError(ErrorCode.CONFLICT, f"{len(held)} of {len(ids)} {table} records are still under "
                               f"retention ({BY_TABLE[table].period}); nothing was destroyed",
                               reason="UNDER_RETENTION", records=held))
    dependents = await _dependents(s, table, ids)
    if dependents:
        raise Refused("DESTRUCTION_REFUSED", [(table, str(i), {"dependents": dependents, "reason": reason})
                                              for i in ids],
                      AppError(ErrorCode.CONFLICT, f"other records still point to these {table} records ("
                               + ", ".join(f"{k}: {v}" for k, v in sorted(dependents.items()))
                               + "); destroy those first", reason="HAS_DEPENDENT_RECORDS", dependents=dependents))
    return doomed


async def destroy(ctx: Context, req: SignedRequest, table: str, ids: Sequence[int], reason: str) -> RecordDestruction:
    """Destroy the records (all or none), signed PERFORMED by QA and APPROVED by a second person."""
    p = ctx.signed_in()
    why = (reason or "").strip()
    unique = list(dict.fromkeys(ids))

    async def clean() -> None:
        if table not in BY_TABLE:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"{table} has no retention rule; tables: "
                           + ", ".join(r.table for r in RULES))
        if not why:
            raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
        if not 1 <= len(unique) <= MAX_RECORDS:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"name 1 to {MAX_RECORDS} records")
        async with ctx.db.read() as s:
            await _doomed(s, table, unique, why)

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> RecordDestruction:
        doomed = await _doomed(s, table, unique, why)
        row = RecordDestruction(table_name=table, reason=why, destroyed_by=p.username,
                                approved_by=signatures.second_signer or "", destroyed_at=utcnow(),
                                tombstones=[{"id": d.row.id, "retainedUntil": to_json_value(d.until),
                                             "contentHash": content_hash(d.row)} for d in doomed])
        s.add(row)
        for d in doomed:
            await s.delete(d.row)
        try:
            await s.flush()
        except DBAPIError as exc:  # the trigger's clock disagreed with ours at the edge of a period
            if "retention" not in str(exc.orig):
                raise
            raise AppError(ErrorCode.CONFLICT, f"the database refused: {exc.orig}",
                           reason="UNDER_RETENTION") from exc
        await signatures.bind(s, "record_destruction", str(row.id), destruction_content(row))
        return row

    return await refusals_audited(ctx, perform(ctx, req, reason=why, clean=clean, save=save,
                                                second=Second(("APPROVED",), "a second person's approval")))


def destruction_content(r: RecordDestruction) -> dict[str, Any]:
    return {"id": r.id, "table": r.table_name, "reason": r.reason, "destroyedBy": r.destroyed_by,
            "tombstones": r.tombstones}


async def destructions(ctx: Context, table: str | None, since: datetime | None) -> Sequence[RecordDestruction]:
    ctx.signed_in()
    q = select(RecordDestruction).order_by(RecordDestruction.id.desc())
    if table:
        q = q.where(RecordDestruction.table_name == table)
    if since:
        q = q.where(RecordDestruction.destroyed_at >= since.astimezone(UTC))
    async with ctx.db.read() as s:
        return list((await s.execute(q.limit(500))).scalars())
