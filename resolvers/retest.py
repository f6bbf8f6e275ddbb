"""Retest of each donation (PL-13..PL-15): the analyst records, another person reviews; a reactive
result blocks the unit and notifies its station; quarantine release by QA (PL-16..PL-18)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.identity import Setting
from records.plasma import NoticeKind, PlasmaUnit, RetestResult, StationNotice
from records.plasma import ResultSource as ResultSource  # the value lists, for the schema
from records.plasma import RetestItem as RetestItem
from records.plasma import RetestOutcome as RetestOutcome
from resolvers import plasma as plasma_res
from resolvers import reagents
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

TESTS = tuple(RetestItem)
REQUIRED = ("HBSAG", "ANTI_HCV", "ANTI_HIV", "SYPHILIS", "ALT")
ALT_LIMIT = 50.0  # U/L
DEFAULT_QUARANTINE_DAYS = 60


@dataclass(frozen=True)
class TestInput:
    test: str
    result: str
    value: float | None
    method: str
    kit_lot: str
    instrument: str


def reactive(r: RetestResult | TestInput) -> bool:
    return r.result == "REACTIVE" or (r.test == "ALT" and r.value is not None and r.value > ALT_LIMIT)


async def record(ctx: Context, req: SignedRequest, donation_number: str,
                 tests: list[TestInput]) -> list[RetestResult]:
    p = ctx.signed_in()

    async def clean() -> dict[str, int]:
        _validate(tests)
        # QC-22: a registered kit lot that is not released or out of date is refused (and audited).
        return await reagents.usable(ctx, [t.kit_lot for t in tests], "recordRetest", kits_only=True)

    async def save(s: AsyncSession, kits: dict[str, int],
                   signatures: Signatures[dict[str, int]]) -> list[RetestResult]:
        unit = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number == donation_number))
                ).scalar_one_or_none()
        if unit is None or unit.status in ("IN_TRANSIT",):
            raise AppError(ErrorCode.NOT_FOUND, f"no received unit {donation_number}")
        now = utcnow()
        rows = [RetestResult(unit_id=unit.id, test=t.test, result=t.result, value=t.value, method=t.method.strip(),
                             kit_lot=t.kit_lot.strip(), instrument=t.instrument.strip(), analyst=p.username,
                             tested_at=now) for t in tests]
        s.add_all(rows)
        await s.flush()
        for r in rows:
            if r.kit_lot in kits:
                await reagents.record_use(s, [kits[r.kit_lot]], "retest_result", str(r.id), signatures.signer)
        await signatures.bind(s, "plasma_unit", str(unit.id), {
            "donationNumber": donation_number, "retests": [[r.test, r.result, r.value] for r in rows]})
        return rows

    return await perform(ctx, req, reason="retest results", clean=clean, save=save, meanings=("PERFORMED",))


def _validate(tests: list[TestInput]) -> None:
    for t in tests:
        if t.test not in TESTS or t.result not in ("NEGATIVE", "REACTIVE"):
            raise AppError(ErrorCode.VALIDATION_FAILED, f"tests are {', '.join(TESTS)}; results NEGATIVE or REACTIVE")
        if t.test == "ALT" and t.value is None:
            raise AppError(ErrorCode.VALIDATION_FAILED, "ALT needs its value in U/L")
        if not (t.method.strip() and t.kit_lot.strip() and t.instrument.strip()):
            raise AppError(ErrorCode.VALIDATION_FAILED, "each result needs method, kit lot and instrument")
    if not tests or len({t.test for t in tests}) != len(tests):
        raise AppError(ErrorCode.VALIDATION_FAILED, "give each test once")


async def review(ctx: Context, req: SignedRequest,
                 donation_number: str) -> tuple[PlasmaUnit, list[RetestResult]]:
    """A second person confirms the open results; a reactive one blocks the unit (PL-15, PL-19)."""
    p = ctx.signed_in()

    async def clean() -> None:
        async with ctx.db.read() as s:
            unit, open_rows = await _open(s, donation_number)
        analysts = {r.analyst for r in open_rows}
        for analyst in analysts:
            await ctx.require_duty("review", "plasma_unit", str(unit.id), "whoever tested a unit cannot review "
                                   "the result", performed_by=analyst)

    async def save(s: AsyncSession, _: None,
                   signatures: Signatures[None]) -> tuple[PlasmaUnit, list[RetestResult]]:
        unit, open_rows = await _open(s, donation_number)
        now = utcnow()
        for r in open_rows:
            r.reviewed_by, r.reviewed_at = p.username, now
        bad = [r for r in open_rows if reactive(r)]
        if bad:
            await block_reactive(s, unit, [r.test for r in bad], now)
        await s.flush()
        await signatures.bind(s, "plasma_unit", str(unit.id), {
            "donationNumber": donation_number, "reviewed": [r.id for r in open_rows], "status": unit.status})
        all_rows = (await s.execute(select(RetestResult).where(RetestResult.unit_id == unit.id)
                                    .order_by(RetestResult.id))).scalars().all()
        return unit, list(all_rows)

    return await perform(ctx, req, reason="retest review", clean=clean, save=save, meanings=("REVIEWED",))


async def block_reactive(s: AsyncSession, unit: PlasmaUnit, tests: list[str], now: datetime) -> None:
    """A reactive result blocks the unit and tells its station (PL-15, PL-19); a notice the station has
    not yet acknowledged is not sent twice (an imported result blocks at once, its review confirms)."""
    unit.status = "BLOCKED"
    reason = "retest reactive: " + ", ".join(tests)
    sent = (await s.execute(select(StationNotice.id).where(
        StationNotice.donation_number == unit.donation_number, StationNotice.kind == NoticeKind.UNQUALIFIED_UNIT,
        StationNotice.reason == reason, StationNotice.acknowledged_at.is_(None)))).first()
    if sent is None:
        s.add(StationNotice(station_id=unit.station_id, kind=NoticeKind.UNQUALIFIED_UNIT,
                            donation_number=unit.donation_number, reason=reason, created_at=now))


async def _open(s: AsyncSession, donation_number: str) -> tuple[PlasmaUnit, list[RetestResult]]:
    unit = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number == donation_number))
            ).scalar_one_or_none()
    if unit is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no unit {donation_number}")
    rows = list((await s.execute(select(RetestResult).where(RetestResult.unit_id == unit.id,
                                                            RetestResult.reviewed_at.is_(None)))).scalars())
    if not rows:
        raise AppError(ErrorCode.CONFLICT, f"{donation_number} has no retest results waiting for review")
    return unit, rows


async def results(ctx: Context, donation_number: str) -> list[RetestResult]:
    """Every retest result of a unit, oldest first; internal, so refused to a scoped token."""
    if ctx.signed_in().is_scoped:
        raise AppError(ErrorCode.OUT_OF_SCOPE, "retest details are internal")
    async with ctx.db.read() as s:
        return list((await s.execute(select(RetestResult).join(PlasmaUnit, PlasmaUnit.id == RetestResult.unit_id)
                                     .where(PlasmaUnit.donation_number == donation_number)
                                     .order_by(RetestResult.id))).scalars())


# --- quarantine -----------------------------------------------------------------------------

@dataclass(frozen=True)
class QuarantineState:
    donation_number: str
    status: str
    eligible: bool
    reasons: list[str]
    quarantine_ends: date


async def quarantine_days(s: AsyncSession) -> int:
    row = await s.get(Setting, "quarantine.days")
    days = int(row.value) if row is not None else DEFAULT_QUARANTINE_DAYS
    return max(days, DEFAULT_QUARANTINE_DAYS)


def _clean(results: list[RetestResult], source: str | None = None) -> bool:
    reviewed = {r.test: r for r in results if r.reviewed_at is not None and source in (None, r.source)}
    return all(t in reviewed for t in REQUIRED) and not any(reactive(r) for r in reviewed.values())


async def evaluate(s: AsyncSession, unit: PlasmaUnit, today: date) -> QuarantineState:
    """Eligible for QA release: quarantine period over, own retests reviewed negative, and a later
    donation of the same donor, after the period, retested negative too (PL-16, PL-17)."""
    days = await quarantine_days(s)
    ends = unit.collected_on + timedelta(days=days)
    reasons = []
    if unit.status != "QUARANTINED":
        reasons.append(f"the unit is {unit.status}")
    if today < ends:
        reasons.append(f"quarantine runs until {ends.isoformat()}")
    own = list((await s.execute(select(RetestResult).where(RetestResult.unit_id == unit.id))).scalars())
    if not _clean(own, "PLANT"):
        reasons.append("its own retests are not all reviewed and negative")
    later = (await s.execute(select(PlasmaUnit.id).where(PlasmaUnit.donor_id == unit.donor_id,
                                                         PlasmaUnit.collected_on >= ends))).scalars().all()
    follow_up = False
    for uid in later:
        rows = list((await s.execute(select(RetestResult).where(RetestResult.unit_id == uid))).scalars())
        if _clean(rows):
            follow_up = True
            break
    if not follow_up:
        reasons.append("no later donation of the donor after the quarantine period has tested negative")
    return QuarantineState(unit.donation_number, unit.status, not reasons, reasons, ends)


async def quarantine_state(ctx: Context, donation_number: str) -> QuarantineState:
    """Whether a unit may be released from quarantine today, and why not."""
    if ctx.signed_in().is_scoped:  # internal; refused before the lookup, so the same whether or not it exists
        raise AppError(ErrorCode.OUT_OF_SCOPE, "quarantine details are internal")
    async with ctx.db.read() as s:
        u = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number == donation_number))
             ).scalar_one_or_none()
        if u is None:
            raise AppError(ErrorCode.NOT_FOUND, "no such unit")
        return await evaluate(s, u, utcnow().date())


async def release(ctx: Context, req: SignedRequest, donation_numbers: list[str],
                  reason: str) -> list[QuarantineState]:
    """QA release of a plasma lot: every unit must be eligible, or nothing is released (PL-18)."""
    async def clean() -> list[QuarantineState]:
        if not donation_numbers or len(donation_numbers) > 5000:
            raise AppError(ErrorCode.VALIDATION_FAILED, "release 1 to 5000 units at a time")
        today = utcnow().date()
        async with ctx.db.read() as s:
            units = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number.in_(donation_numbers))
                                     )).scalars().all()
            states = [await evaluate(s, u, today) for u in units]
        missing = set(donation_numbers) - {u.donation_number for u in units}
        blocked = [st for st in states if not st.eligible]
        if missing or blocked:
            first = sorted(missing)[:3] or [f"{b.donation_number}: {b.reasons[0]}" for b in blocked[:3]]
            raise AppError(ErrorCode.CONFLICT, f"{len(missing) + len(blocked)} units cannot be released ("
                           + "; ".join(first) + ")", units=[b.donation_number for b in blocked] + sorted(missing))
        return states

    async def save(s: AsyncSession, states: list[QuarantineState],
                   signatures: Signatures[list[QuarantineState]]) -> list[QuarantineState]:
        rows = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number.in_(donation_numbers))
                                )).scalars().all()
        for u in rows:
            u.status = "RELEASED"
        await s.flush()
        await signatures.bind(s, "plasma_release", _lot_key(donation_numbers),
                              {"units": sorted(donation_numbers), "status": "RELEASED"})
        return [QuarantineState(st.donation_number, "RELEASED", True, [], st.quarantine_ends) for st in states]

    return await perform(ctx, req, reason=reason.strip() or "QA release of plasma", clean=clean, save=save,
                         meanings=("RELEASED",))


def _lot_key(numbers: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(numbers)).encode()).hexdigest()[:32]


async def station_results(ctx: Context, req: SignedRequest, donation_number: str,
                          tests: list[TestInput]) -> list[RetestResult]:
    """A station sends its test results for one of its donations (PL-17): they count as the
    follow-up evidence for the donor's earlier units; a reactive one blocks the unit."""
    p = ctx.signed_in()

    async def clean() -> int:
        _validate(tests)
        async with ctx.db.read() as s:
            unit = await plasma_res.unit(s, donation_number, ctx.scope())
            if unit is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no unit {donation_number}")
        return unit.id

    async def save(s: AsyncSession, unit_id: int, signatures: Signatures[int]) -> list[RetestResult]:
        row = await s.get(PlasmaUnit, unit_id)
        assert row is not None
        now = utcnow()
        rows = [RetestResult(unit_id=row.id, test=t.test, result=t.result, value=t.value, method=t.method.strip(),
                             kit_lot=t.kit_lot.strip(), instrument=t.instrument.strip(), analyst=p.username,
                             tested_at=now, reviewed_by=p.username, reviewed_at=now, source="STATION")
                for t in tests]
        s.add_all(rows)
        if any(reactive(t) for t in tests) and row.status not in ("POOLED", "DISPOSED"):
            row.status = "BLOCKED"
        await s.flush()
        await signatures.bind(s, "plasma_unit", str(row.id), {
            "donationNumber": donation_number, "stationResults": [[r.test, r.result, r.value] for r in rows]})
        return rows

    return await perform(ctx, req, reason="station test results", clean=clean, save=save, meanings=("PERFORMED",))
