"""Change control (QM-10): a change request names what it changes (controlled documents, specifications,
master recipes, each checked to exist), why, and its impact assessment (raised, signed PERFORMED); QA
decides it, not the person who raised it (APPROVED or REJECTED, signed APPROVED); it is implemented once
approved (PERFORMED) and QA closes it once implemented (APPROVED). Every step is kept with its signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.change import ChangeRequest as ChangeRequest
from records.change import ChangeStatus as ChangeStatus
from records.change import ChangeTarget as ChangeTarget
from records.document import ControlledDocument
from records.recipe import Recipe
from records.specification import Specification
from resolvers.checks import conflict, invalid, text
from resolvers.codes import highest, next_serial
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform, transition

MODELS: dict[str, Any] = {ChangeTarget.DOCUMENT: ControlledDocument, ChangeTarget.SPECIFICATION: Specification,
                          ChangeTarget.RECIPE: Recipe}
MAX_TARGETS = 50


@dataclass(frozen=True)
class Target:
    kind: str
    code: str


@dataclass(frozen=True)
class ChangeDraft:
    title: str
    description: str
    reason: str
    impact: str
    targets: tuple[Target, ...]


def content(r: ChangeRequest) -> dict[str, Any]:
    return {"number": r.number, "title": r.title, "description": r.description, "reason": r.reason,
            "impact": r.impact, "targets": r.targets, "status": r.status, "decision": r.decision_comment,
            "implementation": r.implementation, "closure": r.closure}


async def raise_change(ctx: Context, req: SignedRequest, d: ChangeDraft) -> ChangeRequest:
    """A new OPEN change request with the next number of the year; signed PERFORMED."""
    async def clean() -> ChangeDraft:
        text("title", d.title, 200)
        for what, value in (("description", d.description), ("reason", d.reason),
                            ("impact (the impact assessment)", d.impact)):
            text(what, value, 10_000)
        if not 0 < len(d.targets) <= MAX_TARGETS:
            raise invalid(f"targets: 1-{MAX_TARGETS} documents, specifications or recipes the change affects")
        async with ctx.db.read() as s:
            for t in d.targets:
                model = MODELS.get(t.kind)
                if model is None:
                    raise invalid(f"target kind: one of {', '.join(ChangeTarget)}")
                if (await s.execute(select(model.id).where(model.code == t.code).limit(1))).first() is None:
                    raise AppError(ErrorCode.NOT_FOUND, f"no {t.kind.lower()} {t.code}")
        return d

    async def save(s: AsyncSession, x: ChangeDraft, signatures: Signatures[ChangeDraft]) -> ChangeRequest:
        now = utcnow()
        serial = await next_serial(s, f"CC{now:%Y}", start=highest(s, ChangeRequest.number, f"CC-{now:%Y}-"),
                                   limit=9_999, what="change numbers")
        row = ChangeRequest(number=f"CC-{now:%Y}-{serial:04d}", title=x.title.strip(),
                            description=x.description.strip(), reason=x.reason.strip(), impact=x.impact.strip(),
                            targets=[{"kind": t.kind, "code": t.code} for t in x.targets],
                            status=ChangeStatus.OPEN.value, raised_by=signatures.signer, raised_at=now)
        s.add(row)
        await s.flush()
        await signatures.bind(s, "change_request", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=d.reason.strip(), clean=clean, save=save,
                         conflict="another change request took this number; send it again")


async def _move(ctx: Context, req: SignedRequest, number: str, comment: str, *, status: str, meaning: str,
                act: Any, check: Any = None) -> ChangeRequest:
    async def load(s: AsyncSession) -> ChangeRequest:
        r = (await s.execute(select(ChangeRequest).where(ChangeRequest.number == number))).scalar_one_or_none()
        if r is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no change request {number}")
        return r

    async def checked(r: ChangeRequest) -> None:
        text("comment", comment, 10_000)
        if r.status != status:
            raise conflict(f"change request {number} is {r.status}, not {status}")
        if check is not None:
            await check(r)

    async def change(_: AsyncSession, row: ChangeRequest, signer: str) -> None:
        act(row, signer, comment.strip())

    return await transition(ctx, req, entity="change_request", load=load, check=checked, change=change,
                            content=content, reason=comment.strip(), meaning=meaning,
                            concurrent=f"change request {number} changed meanwhile; look again",
                            unchanged=lambda _, now: now.status == status)


async def decide(ctx: Context, req: SignedRequest, number: str, approved: bool, comment: str) -> ChangeRequest:
    """QA approves or rejects an open change request (not whoever raised it); signed APPROVED."""
    async def check(r: ChangeRequest) -> None:
        await ctx.require_duty("decide_change", "change_request", str(r.id),
                               "whoever raised a change request cannot decide it", raised_by=r.raised_by)

    def act(row: ChangeRequest, who: str, note: str) -> None:
        row.status = (ChangeStatus.APPROVED if approved else ChangeStatus.REJECTED).value
        row.decided_by, row.decided_at, row.decision_comment = who, utcnow(), note

    return await _move(ctx, req, number, comment, status=ChangeStatus.OPEN, meaning="APPROVED", act=act, check=check)


async def implement(ctx: Context, req: SignedRequest, number: str, comment: str) -> ChangeRequest:
    """What was done to carry out an approved change (the new versions drafted and approved); PERFORMED."""
    def act(row: ChangeRequest, who: str, note: str) -> None:
        row.status, row.implemented_by, row.implemented_at = ChangeStatus.IMPLEMENTED.value, who, utcnow()
        row.implementation = note

    return await _move(ctx, req, number, comment, status=ChangeStatus.APPROVED, meaning="PERFORMED", act=act)


async def close(ctx: Context, req: SignedRequest, number: str, comment: str) -> ChangeRequest:
    """QA closes an implemented change after checking it (its effectiveness); signed APPROVED."""
    def act(row: ChangeRequest, who: str, note: str) -> None:
        row.status, row.closed_by, row.closed_at, row.closure = ChangeStatus.CLOSED.value, who, utcnow(), note

    return await _move(ctx, req, number, comment, status=ChangeStatus.IMPLEMENTED, meaning="APPROVED", act=act)


async def listing(ctx: Context, status: str | None, target_code: str | None) -> Sequence[ChangeRequest]:
    """Change requests, newest first; with a target code, those that change it."""
    q = select(ChangeRequest).order_by(ChangeRequest.id.desc())
    if status:
        q = q.where(ChangeRequest.status == status)
    async with ctx.db.read() as s:
        rows = (await s.execute(q)).scalars().all()
    return [r for r in rows if not target_code or any(t["code"] == target_code for t in r.targets)]
