"""Donor deferral and the lookback (PL-03, PL-04): block the donor's recent units not yet used,
list everything the used ones reached (recall impact), and tell the station; station notices and
their acknowledgement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.plasma import Deferral as Deferral  # the value lists, for the schema
from records.plasma import Donor, PlasmaStation, PlasmaUnit, UnitStatus
from records.plasma import NoticeKind as NoticeKind
from records.plasma import StationNotice as StationNotice
from resolvers import plasma as plasma_res
from resolvers import trace
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

DEFERRALS = tuple(Deferral)
# Units in these states are still in the plant's hands and can be stopped.
BLOCKABLE = (UnitStatus.IN_TRANSIT, UnitStatus.RECEIVED, UnitStatus.QUARANTINED, UnitStatus.RELEASED)


@dataclass(frozen=True)
class Impact:
    card_number: str
    window_units: list[str]
    blocked: list[str]
    graph: trace.Graph


async def preview(ctx: Context, card_number: str, days: int) -> Impact:
    async with ctx.db.read() as s:
        donor = await plasma_res.donor(s, card_number, ctx.scope())
        if donor is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no donor {card_number}")
        units = await plasma_res.lookback(s, donor.id, days)
        graph = await trace.impact_of_units(s, [u.id for u in units])
    return Impact(card_number, [u.donation_number for u in units], [], graph)


async def defer(ctx: Context, req: SignedRequest, card_number: str, status: str, reason: str,
                days: int) -> Impact:
    """QA defers a donor (deferDonor), signed APPROVED."""
    return await _defer(ctx, req, card_number, status, reason, days, meanings=("APPROVED",))


async def report_status(ctx: Context, req: SignedRequest, card_number: str, status: str, reason: str) -> Impact:
    """A station reports a deferral of one of its donors (reportDonorStatus), signed PERFORMED; the
    lookback runs at once over the minimum window."""
    return await _defer(ctx, req, card_number, status, reason, plasma_res.LOOKBACK_MIN_DAYS,
                        meanings=("PERFORMED",))


async def _defer(ctx: Context, req: SignedRequest, card_number: str, status: str, reason: str, days: int, *,
                 meanings: tuple[str, ...]) -> Impact:
    p = ctx.signed_in()

    async def clean() -> None:
        if status not in DEFERRALS:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"status must be one of {', '.join(DEFERRALS)}")
        if not reason.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "give the reason for the deferral (for example a positive "
                                                        "marker)")
        if p.is_scoped:  # a station reports on its own donors only
            async with ctx.db.read() as s:
                await plasma_res.donor(s, card_number, ctx.scope())

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> Impact:
        donor = (await s.execute(select(Donor).where(Donor.card_number == card_number))).scalar_one_or_none()
        if donor is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no donor {card_number}")
        if donor.status == status:
            raise AppError(ErrorCode.CONFLICT, f"the donor is already {status}")
        window, blocked = await start(s, donor, status, reason.strip(), days, utcnow())
        await s.flush()
        await signatures.bind(s, "donor", str(donor.id),
                              {"cardNumber": card_number, "status": status, "blocked": blocked})
        graph = await trace.impact_of_units(s, [u.id for u in window])
        return Impact(card_number, [u.donation_number for u in window], blocked, graph)

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, meanings=meanings)


async def start(s: AsyncSession, donor: Donor, status: str, reason: str, days: int,
                now: datetime) -> tuple[list[PlasmaUnit], list[str]]:
    """The lookback inside a write: the donor takes `status`, their units of the window still in the plant's
    hands are blocked, the station is told. Returns the window and the donation numbers blocked."""
    window = list(await plasma_res.lookback(s, donor.id, days))
    donor.status, donor.status_changed_at = status, now
    blocked = []
    for u in window:
        if u.status in BLOCKABLE:
            unit = await s.get(PlasmaUnit, u.id)
            assert unit is not None
            unit.status = "BLOCKED"
            blocked.append(unit.donation_number)
    s.add(StationNotice(station_id=donor.station_id, kind=NoticeKind.DONOR_DEFERRED,
                        donor_card_number=donor.card_number,
                        reason=f"{status}: {reason}; {len(blocked)} units blocked", created_at=now))
    return window, blocked


# --- station notices --------------------------------------------------------------------------

async def notices(ctx: Context, *, only_open: bool, notice_id: int | None = None) -> list[tuple[StationNotice, str]]:
    """Notices with their station's code, oldest first; a station token sees its own stations' only."""
    scope = ctx.scope()
    stmt = select(StationNotice, PlasmaStation.code).join(PlasmaStation,
                                                          PlasmaStation.id == StationNotice.station_id)
    if not scope.unrestricted:
        stmt = stmt.where(PlasmaStation.code.in_(scope.stations or ()))
    if only_open:
        stmt = stmt.where(StationNotice.acknowledged_at.is_(None))
    if notice_id is not None:
        stmt = stmt.where(StationNotice.id == notice_id)
    async with ctx.db.read() as s:
        return [(n, code) for n, code in (await s.execute(stmt.order_by(StationNotice.id)))]


async def acknowledge(ctx: Context, notice_id: str) -> tuple[StationNotice, str]:
    """The station confirms it received a notice; one outside the caller's scope is not theirs to see."""
    p = ctx.signed_in()
    key = int(notice_id) if notice_id.isdigit() else -1
    found = await notices(ctx, only_open=False, notice_id=key)
    if not found:
        raise AppError(ErrorCode.NOT_FOUND if not p.is_scoped else ErrorCode.OUT_OF_SCOPE, "no such notice")
    async with ctx.db.write(ctx.audit_context("notice acknowledged")) as s:
        n = await s.get(StationNotice, key)
        assert n is not None
        if n.acknowledged_at is not None:
            raise AppError(ErrorCode.CONFLICT, "already acknowledged")
        n.acknowledged_at, n.acknowledged_by = utcnow(), p.username
    return n, found[0][1]
