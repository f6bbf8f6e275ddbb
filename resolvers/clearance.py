"""Line clearance (PR-57): recorded by the operator, verified in person by a reviewer; both sign."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLResolveInfo
from sqlalchemy import select

from policies import signatures as sig
from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.plant import Room
from records.plasma import Batch
from records.quality import LineClearance
from resolvers import batch_events
from resolvers.context import Context
from resolvers.signing import check_signature, store_signature

RESULTS = ("PASS", "FAIL", "NA")


@dataclass(frozen=True)
class CheckItem:
    item: str
    result: str
    note: str | None = None


async def record(ctx: Context, info: GraphQLResolveInfo, room_code: str, batch_number: str, process_step: str,
                 items: list[CheckItem], payload: sig.SignaturePayload | None,
                 verification: sig.SignaturePayload | None) -> LineClearance:
    p = ctx.signed_in()
    if not items or any(not i.item.strip() or i.result not in RESULTS for i in items):
        raise AppError(ErrorCode.VALIDATION_FAILED, f"every check item needs a text and a result in {RESULTS}")
    if not process_step.strip():
        raise AppError(ErrorCode.VALIDATION_FAILED, "name the process step that was cleared")
    if verification is None:
        raise AppError(ErrorCode.SIGNATURE_REQUIRED, "line clearance needs the reviewer's verification signature")
    await ctx.require_duty("verify", "line_clearance", batch_number,
                           "whoever performed the clearance cannot verify it",
                           subject=verification.signer, performed_by=p.username)
    async with ctx.db.read() as s:
        room = (await s.execute(select(Room.code).where(Room.code == room_code))).scalar_one_or_none()
        batch = (await s.execute(select(Batch).where(Batch.batch_number == batch_number))).scalar_one_or_none()
    if room is None or batch is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no room {room_code}" if room is None else f"no batch {batch_number}")
    by = await check_signature(ctx, info, "recordLineClearance", payload, meanings=("PERFORMED",))
    checker = await check_signature(ctx, info, "recordLineClearance", verification, second_person=True,
                                    meanings=("VERIFIED",))
    async with ctx.db.write(ctx.audit_context(f"line clearance of {room_code} for {batch_number}")) as s:
        row = LineClearance(room_code=room_code, batch_id=batch.id, product=batch.product,
                            process_step=process_step.strip(), cleared_at=utcnow(),
                            checklist=[{"item": i.item.strip(), "result": i.result, "note": i.note or ""}
                                       for i in items],
                            passed=all(i.result != "FAIL" for i in items), operator=p.username,
                            reviewer=checker.verified.payload.signer)
        s.add(row)
        await s.flush()
        content = {"room": room_code, "batch": batch_number, "step": row.process_step, "checklist": row.checklist}
        await store_signature(s, by, "line_clearance", str(row.id), content)
        await store_signature(s, checker, "line_clearance", str(row.id), content)
    batch_events.publish(ctx, batch_number, "LINE_CLEARANCE",
                         f"{room_code} {row.process_step}: {'passed' if row.passed else 'FAILED'}")
    return row
