"""Equipment status changes (Appendix B.2 YXZT), the first signed mutation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from policies.errors import AppError, ErrorCode
from records.plant import Equipment, LogKind, log_line
from records.plant import EquipmentStatus as EquipmentStatus  # the value list, for the schema
from records.signature import ESignature as ESignature  # the row the schema shows
from records.signature import record_hash
from resolvers import plant
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform
from subscriptions.topics import EQUIPMENT_TOPIC

STATUSES = tuple(EquipmentStatus)


@dataclass(frozen=True)
class StatusChange:
    code: str
    status: str
    previous: str
    signature_id: int


def content(e: Equipment) -> dict[str, Any]:
    """What a signature on an equipment status is bound to."""
    return {"code": e.code, "status": e.status, "room": e.room.code}


async def set_status(ctx: Context, req: SignedRequest, code: str, status: str, reason: str) -> StatusChange:
    async def clean() -> None:
        if status not in STATUSES:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"status must be one of {', '.join(STATUSES)}")
        if not reason.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required to change equipment status")

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> StatusChange:
        e = (await s.execute(select(Equipment).where(Equipment.code == code)
                             .options(selectinload(Equipment.room)))).scalar_one_or_none()
        if e is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no equipment {code}")
        previous = e.status
        if previous == status:
            raise AppError(ErrorCode.CONFLICT, f"{code} is already {status}")
        e.status = status
        await s.flush()
        row = await signatures.bind(s, "equipment", str(e.id), content(e))
        s.add(log_line(e.id, LogKind.STATUS, f"{previous} -> {status}: {reason.strip()}", signatures.signer,
                       manual=True, reference=f"signature:{row.id}"))
        return StatusChange(code, status, previous, row.id)

    def publish(change: StatusChange) -> None:
        ctx.services.bus.publish(EQUIPMENT_TOPIC, {"code": code, "status": status, "previous": change.previous})

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, publish=publish)


async def changed(ctx: Context, change: StatusChange) -> tuple[Equipment, ESignature]:
    """The equipment as the change left it, with the signature on the change: what the mutation answers."""
    async with ctx.db.read() as s:
        e = await plant.equipment(s, change.code)
        row = await s.get(ESignature, change.signature_id)
    assert e is not None and row is not None
    return e, row


async def signature(ctx: Context, signature_id: int) -> ESignature:
    """A signature a verification just stored."""
    async with ctx.db.read() as s:
        row = await s.get(ESignature, signature_id)
    assert row is not None
    return row


async def verify_change(ctx: Context, req: SignedRequest, signature_id: int) -> int:
    """A second person verifies a status change; whoever performed it cannot (policies/duties.csv)."""
    async def clean() -> tuple[ESignature, dict[str, Any]]:
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
        return performed, current

    async def save(s: AsyncSession, checked: tuple[ESignature, dict[str, Any]], signatures: Signatures[Any]) -> int:
        performed, current = checked
        row = await signatures.bind(s, "equipment", performed.entity_id, current, verifies=performed.id)
        return row.id

    return await perform(ctx, req, reason="verification of a status change", clean=clean, save=save,
                         meanings=("VERIFIED",))
