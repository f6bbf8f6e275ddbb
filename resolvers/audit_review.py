"""Reviews of the audit trail (IT-07..IT-10); see records/audit_review.py.

The system's trail is what accounts, roles, tokens, certificates, settings and policies went through,
sign-ins and refusals included. A review covers a period, summarised per entity and action so the reviewer
sees what happened before signing; ISSUE_FOUND needs findings and opens a deviation in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from records.audit import AuditEvent
from records.audit_review import AuditReview as AuditReview
from records.audit_review import ReviewConclusion as ReviewConclusion  # the value lists, for the schema
from records.audit_review import ReviewContext as ReviewContext
from records.base import utcnow
from records.identity import Setting
from records.quality import Deviation
from resolvers import deviations
from resolvers.checks import invalid, text
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

SYSTEM_ENTITIES = ("app_user", "user_role", "role", "api_token", "user_certificate", "setting", "policy",
                   "audit_checkpoint", "store")
DEFAULT_EVERY_DAYS = 30


async def summary(s: AsyncSession, start: datetime, end: datetime) -> tuple[int, dict[str, int]]:
    """The system trail's events in [start, end): how many, per "entity ACTION"."""
    rows = (await s.execute(select(AuditEvent.entity, AuditEvent.action, func.count()).where(
        AuditEvent.entity.in_(SYSTEM_ENTITIES), AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end)
        .group_by(AuditEvent.entity, AuditEvent.action))).all()
    counts = {f"{e} {a}": n for e, a, n in sorted(rows)}
    return sum(counts.values()), counts


async def system_summary(ctx: Context, start: datetime, end: datetime) -> tuple[int, dict[str, int]]:
    if end <= start:
        raise invalid("periodTo must be after periodFrom")
    async with ctx.db.read() as s:
        return await summary(s, start, end)


@dataclass(frozen=True)
class ReviewInput:
    context: str
    period_from: datetime
    period_to: datetime
    department: str
    conclusion: str
    findings: str


async def conclude(ctx: Context, req: SignedRequest, r: ReviewInput) -> AuditReview:
    """The signed conclusion of a review of the system's trail; ISSUE_FOUND opens a deviation (IT-10)."""
    async def clean() -> tuple[int, dict[str, int]]:
        text("department", r.department, 64)
        if r.context == ReviewContext.RELEASE:
            raise invalid("a batch's trail is reviewed with its review by exception (concludeBatchReview)")
        if r.conclusion == ReviewConclusion.ISSUE_FOUND:
            text("findings (what was found)", r.findings, 4000)
        elif len(r.findings) > 4000:
            raise invalid("findings: at most 4000 characters")
        if r.period_to > utcnow() + timedelta(minutes=1):
            raise invalid("periodTo is in the future: a review covers what happened")
        return await system_summary(ctx, r.period_from, r.period_to)

    async def save(s: AsyncSession, seen: tuple[int, dict[str, int]],
                   signatures: Signatures[tuple[int, dict[str, int]]]) -> AuditReview:
        deviation: Deviation | None = None
        if r.conclusion == ReviewConclusion.ISSUE_FOUND:
            deviation = await deviations.opened(
                s, "Audit-trail review finding", f"{r.context.lower()} review of the system audit trail "
                f"{r.period_from.date()} to {r.period_to.date()}: {r.findings.strip()}", None, signatures.signer)
        row = AuditReview(context=r.context, scope="system", period_from=r.period_from, period_to=r.period_to,
                          reviewer=signatures.signer, department=r.department.strip(), events=seen[0],
                          categories=seen[1], conclusion=r.conclusion, findings=r.findings.strip(),
                          deviation_id=deviation.id if deviation else None, reviewed_at=utcnow())
        s.add(row)
        await s.flush()
        await signatures.bind(s, "audit_review", str(row.id), {
            "context": row.context, "scope": row.scope, "from": row.period_from.isoformat(),
            "to": row.period_to.isoformat(), "events": row.events, "categories": row.categories,
            "conclusion": row.conclusion, "findings": row.findings,
            "deviation": deviation.number if deviation else None})
        return row

    return await perform(ctx, req, reason=f"{r.context.lower()} audit-trail review", clean=clean, save=save,
                         meanings=("REVIEWED",), conflict="a review was concluded concurrently; look again")


async def for_release(s: AsyncSession, batch_number: str, reviewer: str, items: list[Any], opinion: str,
                      started: datetime | None) -> AuditReview:
    """The audit-trail review a batch's concluded review by exception is (IT-07): written with it."""
    changes = [i for i in items if i.kind == "DATA_CHANGE"]
    categories = {f"{i.entity} {i.kind}": 0 for i in changes}
    for i in changes:
        categories[f"{i.entity} {i.kind}"] += 1
    row = AuditReview(context=ReviewContext.RELEASE.value, scope=f"batch:{batch_number}",
                      period_from=started or utcnow(), period_to=utcnow(), reviewer=reviewer, department="QA",
                      events=len(changes), categories=categories, conclusion=ReviewConclusion.NO_ISSUE.value,
                      findings=opinion, deviation_id=None, reviewed_at=utcnow())
    s.add(row)
    return row


@dataclass(frozen=True)
class Due:
    every_days: int
    last_period_to: datetime | None
    due_at: datetime | None
    overdue: bool


async def due(ctx: Context) -> Due:
    """When the next periodic review of the system trail is due, from the setting audit.review.days (IT-08)."""
    async with ctx.db.read() as s:
        setting = await s.get(Setting, "audit.review.days")
        last = (await s.execute(select(func.max(AuditReview.period_to)).where(
            AuditReview.scope == "system", AuditReview.context == ReviewContext.PERIODIC))).scalar_one()
    every = int(setting.value) if setting is not None and isinstance(setting.value, int) else DEFAULT_EVERY_DAYS
    at = last + timedelta(days=every) if last else None
    return Due(every, last, at, at is None or at < utcnow())


async def listing(ctx: Context, context: str | None) -> list[AuditReview]:
    async with ctx.db.read() as s:
        q = select(AuditReview).order_by(AuditReview.id.desc()).limit(200)
        if context:
            q = q.where(AuditReview.context == context)
        return list((await s.execute(q)).scalars())


async def deviation_numbers(ctx: Context, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    async with ctx.db.read() as s:
        return dict((await s.execute(select(Deviation.id, Deviation.number).where(Deviation.id.in_(ids)))).all())
