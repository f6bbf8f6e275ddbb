"""Deliveries of released batches to the blood products traceability system (QM-03).

`enqueue` runs in the release's transaction. `deliver_due` posts what is due (the sender in api/ calls
it on a schedule, in one process of a deployment): accepted (2xx) is SENT; anything else is FAILED and
retried with backoff, and the first failure raises an INTERFACE alarm that clears on delivery.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.alarms import Alarm, AlarmSource, AlarmState
from records.audit import AuditContext
from records.base import utcnow
from records.genealogy import FinalLot, Intermediate, PackagingUnit
from records.plasma import Batch
from records.trace_push import PushStatus as PushStatus  # the value list, for the schema
from records.trace_push import TracePush as TracePush
from resolvers.context import Context, Services

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
SYSTEM = AuditContext("system", reason="delivery to the traceability system")


def payload_bytes(payload: dict[str, Any]) -> bytes:
    """The bytes posted, and hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


async def enqueue(s: AsyncSession, b: Batch, document_id: str, document_sha256: str) -> TracePush:
    """The batch's release as the traceability system is told it: lots with their packaging codes."""
    lots = (await s.execute(select(FinalLot).join(Intermediate, Intermediate.id == FinalLot.intermediate_id)
                            .where(Intermediate.batch_id == b.id).order_by(FinalLot.lot_number))).scalars().all()
    units = (await s.execute(select(PackagingUnit).where(PackagingUnit.final_lot_id.in_([lot.id for lot in lots]))
                             .order_by(PackagingUnit.id))).scalars().all() if lots else []
    code_of = {u.id: u.code for u in units}
    now = utcnow()
    payload = {
        "batchNumber": b.batch_number, "product": b.product,
        "expiryDate": b.expiry_date.isoformat() if b.expiry_date else None,
        "releasedAt": now.isoformat(), "releaseDocument": document_id, "releaseDocumentSha256": document_sha256,
        "lots": [{"lotNumber": lot.lot_number, "product": lot.product,
                  "expiryDate": lot.expiry_date.isoformat() if lot.expiry_date else None,
                  "codes": [{"code": u.code, "level": u.level,
                             "parent": code_of.get(u.parent_id) if u.parent_id else None}
                            for u in units if u.final_lot_id == lot.id]} for lot in lots]}
    row = TracePush(batch_id=b.id, batch_number=b.batch_number, payload=payload,
                    payload_sha256=hashlib.sha256(payload_bytes(payload)).hexdigest(),
                    status=PushStatus.PENDING.value, attempts=0, created_at=now, next_attempt_at=now)
    s.add(row)
    return row


@dataclass(frozen=True)
class Outcome:
    batch_number: str
    status: str
    detail: str


def _backoff(attempts: int) -> timedelta:
    wait: timedelta = FIRST_RETRY * (2 ** max(0, attempts - 1))
    return min(wait, LONGEST_WAIT)


async def _post(client: httpx.AsyncClient, url: str, row: TracePush) -> tuple[int | None, str | None]:
    """The receiver's status code, and the error if it did not accept."""
    body = payload_bytes(row.payload)
    try:
        r = await client.post(url, content=body, headers={
            "Content-Type": "application/json", "Idempotency-Key": f"plasmatwin-release-{row.id}",
            "Digest": f"sha-256={row.payload_sha256}"})
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= r.status_code < 300:
        return r.status_code, None
    return r.status_code, f"HTTP {r.status_code}: {r.text[:300]}"


async def deliver_due(svc: Services, client: httpx.AsyncClient, url: str, now: datetime | None = None
                      ) -> list[Outcome]:
    """Post every delivery that is due; one transaction per delivery, alarms published after commit."""
    now = now or utcnow()
    async with svc.db.read() as s:
        due = list((await s.execute(select(TracePush.id).where(
            TracePush.status != PushStatus.SENT, TracePush.next_attempt_at <= now).order_by(TracePush.id)
        )).scalars())
    outcomes: list[Outcome] = []
    for push_id in due:
        async with svc.db.read() as s:
            row = await s.get_one(TracePush, push_id)
        code, error = await _post(client, url, row)
        published: tuple[str, Alarm] | None = None
        async with svc.db.write(SYSTEM) as s:
            row = await s.get_one(TracePush, push_id)
            if row.status == PushStatus.SENT:
                continue
            row.attempts += 1
            row.response_status = code
            if error is None:
                row.status, row.sent_at, row.last_error = PushStatus.SENT.value, utcnow(), None
                if row.alarm_id is not None:
                    alarm = await s.get_one(Alarm, row.alarm_id)
                    alarm.state, alarm.cleared_at = AlarmState(alarm.state).cleared().value, utcnow()
                    published = ("CLEARED", alarm)
            else:
                row.status, row.last_error = PushStatus.FAILED.value, error
                row.next_attempt_at = now + _backoff(row.attempts)
                if row.alarm_id is None:
                    alarm = Alarm(source=AlarmSource.INTERFACE.value, condition="TRACE_PUSH_FAILED", priority="HIGH",
                                  state=AlarmState.ACTIVE.value, began_at=now, raised_at=now,
                                  batch_number=row.batch_number,
                                  message=f"released batch {row.batch_number} not accepted by the traceability "
                                          f"system ({error}); retried automatically")
                    s.add(alarm)
                    await s.flush()
                    row.alarm_id = alarm.id
                    published = ("RAISED", alarm)
            await s.flush()
        if published is not None:
            svc.alarms.published(*published)
        outcomes.append(Outcome(row.batch_number, row.status, error or f"HTTP {code}"))
    return outcomes


async def listing(ctx: Context, status: str | None, batch_number: str | None) -> list[TracePush]:
    async with ctx.db.read() as s:
        q = select(TracePush).order_by(TracePush.id.desc()).limit(500)
        if status:
            q = q.where(TracePush.status == status)
        if batch_number:
            q = q.where(TracePush.batch_number == batch_number.strip())
        return list((await s.execute(q)).scalars())


async def retry_now(ctx: Context, push_id: int) -> TracePush:
    """Bring a failed delivery forward to the sender's next round (after the receiver was fixed)."""
    async with ctx.db.write(ctx.audit_context("traceability delivery retried now")) as s:
        row = await s.get(TracePush, push_id)
        if row is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no traceability delivery {push_id}")
        if row.status == PushStatus.SENT:
            raise AppError(ErrorCode.CONFLICT, f"delivery {push_id} was accepted already")
        row.next_attempt_at = utcnow()  # audited as the row's change, with this reason
        await s.flush()
        return row
