"""Line clearance (PR-57): recorded by the operator, verified in person by a reviewer; both sign."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.plant import Room
from records.plasma import Batch
from records.quality import CheckResult as CheckResult  # the value list, for the schema
from records.quality import LineClearance
from resolvers import batch_events
from resolvers.context import Context
from resolvers.signed import Second, Signatures, SignedRequest, perform

RESULTS = tuple(CheckResult)


@dataclass(frozen=True)
class CheckItem:
    item: str
    result: str
    note: str | None = None


async def record(ctx: Context, req: SignedRequest, room_code: str, batch_number: str, process_step: str,
                 items: list[CheckItem]) -> LineClearance:
    """The operator's signature (`req.signature`) and the reviewer's verification (`req.second`)."""
    p = ctx.signed_in()

    async def clean() -> Batch:
        if not items or any(not i.item.strip() or i.result not in RESULTS for i in items):
            raise AppError(ErrorCode.VALIDATION_FAILED, f"every check item needs a text and a result in {RESULTS}")
        if not process_step.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "name the process step that was cleared")
        if req.second is not None:  # without it, perform refuses: the verification is required
            await ctx.require_duty("verify", "line_clearance", batch_number,
                                   "whoever performed the clearance cannot verify it",
                                   subject=req.second.signer, performed_by=p.username)
        async with ctx.db.read() as s:
            room = (await s.execute(select(Room.code).where(Room.code == room_code))).scalar_one_or_none()
            batch = (await s.execute(select(Batch).where(Batch.batch_number == batch_number))).scalar_one_or_none()
        if room is None or batch is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no room {room_code}" if room is None else f"no batch {batch_number}")
        return batch

    async def save(s: AsyncSession, batch: Batch, signatures: Signatures[Batch]) -> LineClearance:
        reviewer = signatures.second_signer
        assert reviewer is not None  # Second(required=True)
        row = LineClearance(room_code=room_code, batch_id=batch.id, product=batch.product,
                            process_step=process_step.strip(), cleared_at=utcnow(),
                            checklist=[{"item": i.item.strip(), "result": i.result, "note": i.note or ""}
                                       for i in items],
                            passed=all(i.result != "FAIL" for i in items), operator=p.username, reviewer=reviewer)
        s.add(row)
        await s.flush()
        content = {"room": room_code, "batch": batch_number, "step": row.process_step, "checklist": row.checklist}
        await signatures.bind(s, "line_clearance", str(row.id), content)
        return row

    def publish(row: LineClearance) -> None:
        batch_events.publish(ctx, batch_number, batch_events.BatchEventKind.LINE_CLEARANCE,
                             f"{room_code} {row.process_step}: {'passed' if row.passed else 'FAILED'}")

    return await perform(ctx, req, reason=f"line clearance of {room_code} for {batch_number}", clean=clean,
                         save=save, publish=publish, meanings=("PERFORMED",),
                         second=Second(("VERIFIED",), what="the reviewer's verification signature"))
