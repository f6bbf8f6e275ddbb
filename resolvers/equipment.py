"""Equipment status changes (Appendix B.2 YXZT), the first signed mutation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLResolveInfo
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from policies import signatures as sig
from policies.errors import AppError, ErrorCode
from records.audit import PendingEvent
from records.plant import Equipment
from records.signature import ESignature, record_hash
from resolvers.context import Context
from resolvers.signing import check_signature, store_signature

STATUSES = ("RUNNING", "IDLE", "FAULT", "MAINTENANCE", "OUT_OF_SERVICE")
EQUIPMENT_TOPIC = "equipment"


@dataclass(frozen=True)
class StatusChange:
    code: str
    status: str
    previous: str
    signature_id: int


def content(e: Equipment) -> dict[str, Any]:
    """What a signature on an equipment status is bound to."""
    return {"code": e.code, "status": e.status, "room": e.room.code}


async def set_status(ctx: Context, info: GraphQLResolveInfo, code: str, status: str, reason: str,
                     payload: sig.SignaturePayload | None) -> StatusChange:
    if status not in STATUSES:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"status must be one of {', '.join(STATUSES)}")
    if not reason.strip():
        raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required to change equipment status")
    by = await check_signature(ctx, info, "setEquipmentStatus", payload, meanings=("PERFORMED",))
    try:
        async with ctx.db.write(ctx.audit_context(reason.strip())) as s:
            e = (await s.execute(select(Equipment).where(Equipment.code == code)
                                 .options(selectinload(Equipment.room)))).scalar_one_or_none()
            if e is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no equipment {code}")
            previous = e.status
            if previous == status:
                raise AppError(ErrorCode.CONFLICT, f"{code} is already {status}")
            e.status = status
            await s.flush()
            row = await store_signature(s, by, "equipment", str(e.id), content(e))
    except AppError as err:
        if err.code == ErrorCode.SIGNATURE_REPLAYED:
            await ctx.db.record(ctx.audit_context(), PendingEvent(
                "SIGNATURE_REJECTED", "e_signature", None,
                {"operation": "setEquipmentStatus", "code": err.code.value, "nonce": by.verified.payload.nonce}))
        raise
    ctx.services.bus.publish(EQUIPMENT_TOPIC, {"code": code, "status": status, "previous": previous})
    return StatusChange(code, status, previous, row.id)


async def verify_change(ctx: Context, info: GraphQLResolveInfo, signature_id: int,
                        payload: sig.SignaturePayload | None) -> int:
    """A second person verifies a status change; whoever performed it cannot (policies/duties.csv)."""
    async with ctx.db.read() as s:
        performed = await s.get(ESignature, signature_id)
        if performed is None or performed.operation != "setEquipmentStatus" or performed.meaning != "PERFORMED":
            raise AppError(ErrorCode.NOT_FOUND, f"no performed equipment status change {signature_id}")
        e = (await s.execute(select(Equipment).where(Equipment.id == int(performed.entity_id))
                             .options(selectinload(Equipment.room)))).scalar_one()
        current = content(e)
    if record_hash("equipment", performed.entity_id, current) != performed.record_hash:
        raise AppError(ErrorCode.CONFLICT, "the equipment changed since; verify its latest change")
    await ctx.require_duty("verify", "equipment", performed.entity_id,
                           "whoever performed a change cannot verify it", performed_by=performed.signer)
    by = await check_signature(ctx, info, "verifyEquipmentStatusChange", payload)
    async with ctx.db.write(ctx.audit_context("verification of a status change")) as s:
        row = await store_signature(s, by, "equipment", performed.entity_id, current, verifies=performed.id)
    return row.id
