"""Cleaning, sterilisation and calibration of equipment (Appendix B.2 QJ*, MJ*, JY*; PR-05, PR-06):
each recorded with its result, time and validity, signed by whoever did it. A phase refuses
equipment whose record failed or is out of date (resolvers.execution.unusable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.plant import CareKind as CareKind  # the value list, for the schema
from records.plant import Equipment, LogKind, log_line
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

STATES = {CareKind.CLEANING: ("CLEAN", "NOT_CLEAN"), CareKind.STERILIZATION: ("STERILE", "NOT_STERILE"),
          CareKind.CALIBRATION: ("CALIBRATED", "OUT_OF_CALIBRATION")}
CLOCK_TOLERANCE = timedelta(seconds=60)
MAX_VALIDITY = timedelta(days=3 * 366)


@dataclass(frozen=True)
class Care:
    kind: CareKind
    passed: bool
    performed_at: datetime
    valid_until: date | None
    reference: str


def check(c: Care, now: datetime) -> None:
    if c.performed_at.tzinfo is None:
        raise AppError(ErrorCode.VALIDATION_FAILED, "performedAt needs its time zone")
    if c.performed_at > now + CLOCK_TOLERANCE:
        raise AppError(ErrorCode.VALIDATION_FAILED, "performedAt is in the future")
    if not c.reference.strip() or len(c.reference) > 200:
        raise AppError(ErrorCode.VALIDATION_FAILED, "reference (the SOP, work order or certificate): 1-200 characters")
    if c.passed and c.valid_until is None:
        raise AppError(ErrorCode.VALIDATION_FAILED, "a passed record says until when it is valid (validUntil)")
    if not c.passed and c.valid_until is not None:
        raise AppError(ErrorCode.VALIDATION_FAILED, "a failed record has no validity")
    if c.valid_until is not None and not (c.performed_at.date() <= c.valid_until
                                          <= (c.performed_at + MAX_VALIDITY).date()):
        raise AppError(ErrorCode.VALIDATION_FAILED, "validUntil: from the day it was done, at most three years on")


def _apply(e: Equipment, c: Care) -> None:
    state = STATES[c.kind][0 if c.passed else 1]
    if c.kind is CareKind.CLEANING:
        e.cleaning_status, e.cleaned_at, e.cleaning_valid_until = state, c.performed_at, c.valid_until
    elif c.kind is CareKind.STERILIZATION:
        e.sterilization_status, e.sterilized_at, e.sterilization_valid_until = state, c.performed_at, c.valid_until
    else:
        e.calibration_status, e.calibrated_on, e.calibration_valid_until = state, c.performed_at.date(), c.valid_until


async def record(ctx: Context, req: SignedRequest, code: str, care: Care, note: str | None) -> Equipment:
    """Record one cleaning, sterilisation or calibration; signed PERFORMED."""
    async def clean() -> Care:
        check(care, utcnow())
        if note is not None and len(note) > 2000:
            raise AppError(ErrorCode.VALIDATION_FAILED, "note: at most 2000 characters")
        return care

    async def save(s: AsyncSession, c: Care, signatures: Signatures[Care]) -> Equipment:
        e = (await s.execute(select(Equipment).where(Equipment.code == code)
                             .options(selectinload(Equipment.room)))).scalar_one_or_none()
        if e is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no equipment {code}")
        _apply(e, c)
        await s.flush()
        sig = await signatures.bind(s, "equipment", str(e.id), {
            "code": code, "kind": c.kind.value, "passed": c.passed, "performedAt": c.performed_at.isoformat(),
            "validUntil": c.valid_until.isoformat() if c.valid_until else None, "reference": c.reference.strip(),
            "note": note})
        until = f", valid until {c.valid_until.isoformat()}" if c.valid_until else ""
        s.add(log_line(e.id, LogKind(c.kind.value), f"{'passed' if c.passed else 'FAILED'}{until}: "
                       f"{c.reference.strip()}{f' ({note})' if note else ''}", signatures.signer, manual=True,
                       at=c.performed_at, reference=f"signature:{sig.id}"))
        return e

    def why(c: Care) -> str:
        return f"{c.kind.value.lower()} of {code} ({'passed' if c.passed else 'failed'}): {c.reference.strip()}"

    return await perform(ctx, req, reason=why, clean=clean, save=save)
