"""Training (QM-09): signed training records per person and document version, the training matrix (which
effective documents each role must be trained on), the report of people without valid training, and the
block: with the setting `training.enforced` on (the default), nobody signs a phase governed by an SOP without
a valid PASSED training record on the SOP's effective version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.document import ControlledDocument, DocumentStatus
from records.identity import Setting, User
from records.training import ENFORCED_KEY
from records.training import Assessment as Assessment
from records.training import TrainingRecord as TrainingRecord
from records.training import TrainingState as TrainingState
from resolvers import documents, versions
from resolvers.checks import conflict, invalid
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

TRAINABLE = (DocumentStatus.APPROVED, DocumentStatus.EFFECTIVE)  # trained before or once it is in force


@dataclass(frozen=True)
class Training:
    username: str
    document_code: str
    document_version: int
    trained_at: datetime
    assessment: str
    valid_until: date
    note: str = ""


def content(r: TrainingRecord) -> dict[str, Any]:
    return {"username": r.username, "document": r.document_code, "version": r.document_version,
            "trainedAt": r.trained_at.isoformat(), "assessment": r.assessment,
            "validUntil": r.valid_until.isoformat(), "note": r.note}


async def record(ctx: Context, req: SignedRequest, t: Training) -> TrainingRecord:
    """The trainer records a person's training on an approved or effective version with the assessment's
    result; signed PERFORMED. Nobody records their own training."""
    async def clean() -> Training:
        if t.assessment not in Assessment.__members__:
            raise invalid(f"assessment: one of {', '.join(Assessment)}")
        if len(t.note) > 2000:
            raise invalid("note: at most 2000 characters")
        if t.trained_at > utcnow():
            raise invalid("trainedAt: not in the future")
        if t.valid_until <= t.trained_at.date():
            raise invalid("validUntil: after the training day")
        async with ctx.db.read() as s:
            user = (await s.execute(select(User).where(User.username == t.username))).scalar_one_or_none()
            doc = await versions.find(s, ControlledDocument, t.document_code, t.document_version, "document")
        if user is None or not user.active:
            raise AppError(ErrorCode.NOT_FOUND, f"no active user {t.username}")
        if doc.status not in TRAINABLE:
            raise conflict(f"document {doc.code} version {doc.version} is {doc.status}: training is on an approved "
                           "or effective version")
        await ctx.require_duty("record_training", "training_record", t.username,
                               "nobody records their own training", trainee=t.username)
        return t

    async def save(s: AsyncSession, x: Training, signatures: Signatures[Training]) -> TrainingRecord:
        row = TrainingRecord(username=x.username, document_code=x.document_code, document_version=x.document_version,
                             trained_at=x.trained_at, trainer=signatures.signer, assessment=x.assessment,
                             valid_until=x.valid_until, note=x.note.strip(), recorded_at=utcnow())
        s.add(row)
        await s.flush()
        await signatures.bind(s, "training_record", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=f"training of {t.username} on {t.document_code} v{t.document_version}: "
                                          f"{t.assessment}", clean=clean, save=save)


def _state(rows: Sequence[TrainingRecord], today: date) -> tuple[TrainingState, date | None]:
    """One person's training on one version today, from their records of it, with the last validity."""
    passed = [r for r in rows if r.assessment == Assessment.PASSED]
    if any(r.valid_until >= today for r in passed):
        return TrainingState.VALID, max(r.valid_until for r in passed)
    if passed:
        return TrainingState.EXPIRED, max(r.valid_until for r in passed)
    return (TrainingState.FAILED if rows else TrainingState.MISSING), None


async def enforced(s: AsyncSession) -> bool:
    row = await s.get(Setting, ENFORCED_KEY)
    return row is None or bool(row.value)


async def require_trained(ctx: Context, phase: dict[str, Any], signers: Sequence[str | None]) -> None:
    """QM-09: each signer of a phase holds valid training on the effective version of the phase's SOP; refused
    FORBIDDEN naming the SOP and version otherwise (nothing written; the refusal is audited by `perform`)."""
    code = phase.get("sop") or ""
    if not code:
        return
    async with ctx.db.read() as s:
        if not await enforced(s):
            return
        sop = await documents.effective(s, code)
        if sop is None:
            raise conflict(f"phase {phase['code']} is governed by {code}, which has no effective version")
        names = [n for n in signers if n]
        rows = list((await s.execute(select(TrainingRecord).where(
            TrainingRecord.document_code == code, TrainingRecord.document_version == sop.version,
            TrainingRecord.username.in_(names)))).scalars())
    today = utcnow().date()
    for name in names:
        state, until = _state([r for r in rows if r.username == name], today)
        if state != TrainingState.VALID:
            why = {TrainingState.EXPIRED: f"expired on {until}", TrainingState.FAILED: "the assessment was failed",
                   TrainingState.MISSING: "none recorded"}[state]
            raise AppError(ErrorCode.FORBIDDEN, f"{name} is not trained on {code} version {sop.version} "
                           f"({why}): phase {phase['code']} cannot be signed", sop=code, sopVersion=sop.version,
                           trainee=name, training=state.value)


# --- reads -------------------------------------------------------------------------------------------

async def _required(s: AsyncSession) -> list[ControlledDocument]:
    return list((await s.execute(select(ControlledDocument).where(
        ControlledDocument.status == DocumentStatus.EFFECTIVE).order_by(ControlledDocument.code))).scalars())


async def matrix(ctx: Context, role: str | None) -> list[tuple[str, list[ControlledDocument]]]:
    """The training matrix: per role, the effective documents it must be trained on."""
    async with ctx.db.read() as s:
        docs = await _required(s)
    roles = sorted({r for d in docs for r in d.roles if not role or r == role})
    return [(r, [d for d in docs if r in d.roles]) for r in roles]


@dataclass(frozen=True)
class Gap:
    username: str
    role: str
    document: ControlledDocument
    state: TrainingState  # MISSING, EXPIRED or FAILED
    valid_until: date | None


async def gaps(ctx: Context, role: str | None) -> list[Gap]:
    """People without valid training on an effective document their role requires, by person and document."""
    today = utcnow().date()
    async with ctx.db.read() as s:
        docs = await _required(s)
        users = list((await s.execute(select(User).where(User.active).order_by(User.username))).scalars())
        keys = {(d.code, d.version) for d in docs}
        rows = [r for r in (await s.execute(select(TrainingRecord).where(
            TrainingRecord.document_code.in_({c for c, _ in keys})))).scalars()
            if (r.document_code, r.document_version) in keys]
    out: list[Gap] = []
    for u in users:
        held = sorted({g.role.name for g in u.roles} & ({role} if role else {g.role.name for g in u.roles}))
        for d in docs:
            need = next((r for r in held if r in d.roles), None)
            if need is None:
                continue
            state, until = _state([r for r in rows if r.username == u.username and r.document_code == d.code
                                   and r.document_version == d.version], today)
            if state != TrainingState.VALID:
                out.append(Gap(u.username, need, d, state, until))
    return out


async def records(ctx: Context, username: str | None, document_code: str | None) -> Sequence[TrainingRecord]:
    q = select(TrainingRecord).order_by(TrainingRecord.trained_at.desc(), TrainingRecord.id.desc())
    if username:
        q = q.where(TrainingRecord.username == username)
    if document_code:
        q = q.where(TrainingRecord.document_code == document_code)
    async with ctx.db.read() as s:
        return (await s.execute(q)).scalars().all()
