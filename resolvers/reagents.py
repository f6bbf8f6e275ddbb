"""Reagents, reference standards, test solutions and test kits (QC-22..QC-24): received into quarantine by a
QC analyst, released for use by someone else (QC supervision or QA), prepared into test solutions,
standardised, issued, returned, used by a test and destroyed; every step a signed line of the lot's movement
log. A test that names a lot which is not released, expired or past its retest date is refused (`usable`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.audit import PendingEvent
from records.base import utcnow
from records.identity import Setting
from records.reagent import ReagentKind as ReagentKind  # the value lists, for the schema
from records.reagent import ReagentLot as ReagentLot
from records.reagent import ReagentMovement as ReagentMovement
from records.reagent import ReagentMovementKind as ReagentMovementKind
from records.reagent import ReagentStatus as ReagentStatus
from records.reagent import ReminderDue as ReminderDue
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

REMINDER_KEY = "reagent.reminderDays"
DEFAULT_REMINDER_DAYS = 30
KITS_REQUIRED_KEY = "reagent.kitsRequired"  # true: a retest's kit lot must be a registered test kit
OPEN = (ReagentStatus.RECEIVED.value, ReagentStatus.RELEASED.value, ReagentStatus.EXHAUSTED.value)
IN_USE = (ReagentStatus.RELEASED.value, ReagentStatus.EXHAUSTED.value)  # exhausted: all of it on the bench
MOST_LOTS = 20


def check_kits_required(value: object) -> None:
    if not isinstance(value, bool):
        raise invalid(f"{KITS_REQUIRED_KEY} is true or false")


def shown_status(lot: ReagentLot, today: date) -> str:
    """The status as users see it: an open lot past its expiry date is EXPIRED."""
    return ReagentStatus.EXPIRED.value if lot.status in OPEN and lot.expires_on < today else lot.status


def content(lot: ReagentLot) -> dict[str, object]:
    """What a signature on a lot is bound to."""
    return {"code": lot.code, "kind": lot.kind, "lotNumber": lot.lot_number, "quantity": lot.quantity,
            "issued": lot.issued, "unit": lot.unit, "expiresOn": lot.expires_on.isoformat(),
            "retestOn": lot.retest_on.isoformat() if lot.retest_on else None, "factor": lot.factor,
            "status": lot.status}


def _line(lot: ReagentLot, kind: ReagentMovementKind, by: str, at: datetime, quantity: float | None = None,
          **more: object) -> ReagentMovement:
    return ReagentMovement(lot_id=lot.id, kind=kind.value, quantity=quantity, balance=lot.quantity, at=at, by=by,
                           **more)


async def _bind(s: AsyncSession, signatures: Signatures[Any], lot: ReagentLot, line: ReagentMovement,
                **more: object) -> None:
    """The line appended, and the request's signatures bound to the lot as it is now (once per request)."""
    s.add(line)
    await s.flush()
    await signatures.bind(s, "reagent_lot", str(lot.id), content(lot) | {"movement": line.kind,
                                                                         "movementQuantity": line.quantity} | more)


async def _lot(s: AsyncSession, code: str) -> ReagentLot:
    lot = (await s.execute(select(ReagentLot).where(ReagentLot.code == code.strip()))).scalar_one_or_none()
    if lot is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no reagent lot {code.strip()[:32]}")
    return lot


def why_not_usable(lot: ReagentLot, today: date) -> str | None:
    """Why a lot may not be used in a test today (QC-22), or None."""
    if lot.status not in IN_USE:
        return f"lot {lot.code} is {lot.status}, not released for use"
    if lot.expires_on < today:
        return f"lot {lot.code} expired on {lot.expires_on.isoformat()}"
    if lot.retest_on is not None and lot.retest_on < today:
        return f"lot {lot.code} was due for retest on {lot.retest_on.isoformat()}"
    return None


def _quantity(what: str, q: float) -> None:
    if not q > 0 or q > 1e9:
        raise invalid(f"{what}: above 0")


def _dates(expires_on: date, retest_on: date | None, today: date) -> None:
    if expires_on <= today:
        raise invalid(f"expiresOn {expires_on.isoformat()} has passed: the lot cannot be taken in")
    if retest_on is not None and not today < retest_on <= expires_on:
        raise invalid("retestOn: after today and not after the expiry date")


@dataclass(frozen=True)
class Receipt:
    code: str
    kind: ReagentKind
    name: str
    lot_number: str
    supplier: str
    quantity: float
    unit: str
    location: str
    conditions: str
    expires_on: date
    retest_on: date | None = None


def _check(r: Receipt, today: date) -> None:
    text("code", r.code, 32)
    text("name", r.name)
    text("lotNumber", r.lot_number, 64)
    text("supplier", r.supplier)
    text("unit", r.unit, 16)
    text("location", r.location, 100)
    text("conditions", r.conditions)
    _quantity("quantity", r.quantity)
    _dates(r.expires_on, r.retest_on, today)


async def _free(ctx: Context, code: str) -> None:
    async with ctx.db.read() as s:
        if (await s.execute(select(ReagentLot.id).where(ReagentLot.code == code.strip()))).first() is not None:
            raise conflict(f"a reagent lot {code.strip()} exists already")


def _new(r: Receipt, by: str, at: datetime) -> ReagentLot:
    return ReagentLot(code=r.code.strip(), kind=r.kind.value, name=r.name.strip(), lot_number=r.lot_number.strip(),
                      supplier=r.supplier.strip(), quantity=r.quantity, issued=0.0, unit=r.unit.strip(),
                      location=r.location.strip(), conditions=r.conditions.strip(), expires_on=r.expires_on,
                      retest_on=r.retest_on, status=ReagentStatus.RECEIVED.value, received_at=at, received_by=by)


async def receive(ctx: Context, req: SignedRequest, r: Receipt) -> ReagentLot:
    """A lot taken into quarantine (RECEIVED); signed PERFORMED."""
    async def clean() -> Receipt:
        _check(r, utcnow().date())
        await _free(ctx, r.code)
        return r

    async def save(s: AsyncSession, x: Receipt, signatures: Signatures[Receipt]) -> ReagentLot:
        now = utcnow()
        lot = _new(x, signatures.signer, now)
        s.add(lot)
        await s.flush()
        await _bind(s, signatures, lot, _line(lot, ReagentMovementKind.RECEIVE, signatures.signer, now, x.quantity,
                                              note=f"from {x.supplier.strip()}, lot {x.lot_number.strip()}"))
        return lot

    return await perform(ctx, req, reason=f"reagent lot {r.code.strip()} received", clean=clean, save=save,
                         conflict=f"reagent lot {r.code.strip()} was received meanwhile")


async def release(ctx: Context, req: SignedRequest, code: str, reason: str) -> ReagentLot:
    """QC supervision or QA releases a received lot for use; signed APPROVED; not by whoever received it."""
    async def clean() -> ReagentLot:
        text("reason", reason, 2000)
        async with ctx.db.read() as s:
            lot = await _lot(s, code)
        if lot.status != ReagentStatus.RECEIVED:
            raise conflict(f"lot {lot.code} is {lot.status}, not waiting for release")
        if lot.expires_on < utcnow().date():
            raise conflict(f"lot {lot.code} expired on {lot.expires_on.isoformat()}: it cannot be released")
        await ctx.require_duty("release_reagent", "reagent_lot", str(lot.id),
                               "whoever received or prepared a reagent lot cannot release it",
                               received_by=lot.received_by)
        return lot

    async def save(s: AsyncSession, found: ReagentLot, signatures: Signatures[ReagentLot]) -> ReagentLot:
        lot = await s.get_one(ReagentLot, found.id)
        if lot.status != ReagentStatus.RECEIVED:
            raise conflict(f"lot {lot.code} was changed meanwhile")
        now = utcnow()
        lot.status, lot.released_by, lot.released_at = ReagentStatus.RELEASED.value, signatures.signer, now
        await _bind(s, signatures, lot, _line(lot, ReagentMovementKind.RELEASE, signatures.signer, now,
                                              note=reason.strip()))
        return lot

    return await perform(ctx, req, reason=f"reagent lot {code.strip()} released: {reason.strip()}", clean=clean,
                         save=save, meanings=("APPROVED",))


@dataclass(frozen=True)
class Preparation:
    solution: Receipt  # kind TEST_SOLUTION; supplier is the laboratory
    parents: tuple[tuple[str, float], ...]  # (code, quantity taken) of each lot it was made from


async def prepare(ctx: Context, req: SignedRequest, p: Preparation) -> ReagentLot:
    """A test solution made from released lots, with its own expiry (not after theirs); signed PERFORMED. It
    starts RECEIVED and is released like a received lot."""
    today = utcnow().date()

    async def clean() -> Preparation:
        _check(p.solution, today)
        if p.solution.kind is not ReagentKind.TEST_SOLUTION:
            raise invalid("a prepared lot is a TEST_SOLUTION")
        if not 1 <= len(p.parents) <= MOST_LOTS or len({c.strip() for c, _ in p.parents}) != len(p.parents):
            raise invalid(f"parents: 1 to {MOST_LOTS} different lots")
        await _free(ctx, p.solution.code)
        async with ctx.db.read() as s:
            for code, q in p.parents:
                _quantity(f"the quantity taken from {code.strip()[:32]}", q)
                _parent_ok(await _lot(s, code), q, p.solution.expires_on, today)
        return p

    async def save(s: AsyncSession, x: Preparation, signatures: Signatures[Preparation]) -> ReagentLot:
        now, by = utcnow(), signatures.signer
        child = _new(x.solution, by, now)
        s.add(child)
        await s.flush()
        for code, q in x.parents:
            parent = await _lot(s, code)
            _parent_ok(parent, q, x.solution.expires_on, today)
            parent.quantity -= q
            s.add(_line(parent, ReagentMovementKind.PREPARE, by, now, q, other_code=child.code,
                        note=f"taken for {child.code}"))
            made = _line(child, ReagentMovementKind.PREPARE, by, now, q, other_code=parent.code,
                         note=f"made from {q:g} {parent.unit} of {parent.code}")
            s.add(made)
        await _bind(s, signatures, child, made, parents=[[c.strip(), q] for c, q in x.parents])
        return child

    return await perform(ctx, req, reason=f"test solution {p.solution.code.strip()} prepared", clean=clean,
                         save=save, conflict=f"reagent lot {p.solution.code.strip()} was made meanwhile")


def _parent_ok(parent: ReagentLot, q: float, expires_on: date, today: date) -> None:
    why = why_not_usable(parent, today)
    if why is not None:
        raise conflict(why)
    if q > parent.quantity:
        raise conflict(f"lot {parent.code} has {parent.quantity:g} {parent.unit} on hand, not {q:g}")
    if expires_on > parent.expires_on:
        raise invalid(f"the solution cannot expire after lot {parent.code} it is made from "
                      f"({parent.expires_on.isoformat()})")


def _factor(value: str) -> str:
    try:
        d = Decimal(value.strip())
    except InvalidOperation:
        raise invalid("factor: a decimal number") from None
    if not d.is_finite() or d <= 0 or len(value.strip()) > 40:
        raise invalid("factor: a decimal number above 0")
    return value.strip()


async def standardise(ctx: Context, req: SignedRequest, code: str, kind: ReagentMovementKind, factor: str,
                      method: str, retest_on: date | None) -> ReagentLot:
    """A standardisation (a volumetric solution's factor) or calibration (a standard's assigned value), with
    the method and, where it renews the lot, the new retest date; signed PERFORMED."""
    today = utcnow().date()

    async def clean() -> ReagentLot:
        if kind not in (ReagentMovementKind.STANDARDISE, ReagentMovementKind.CALIBRATE):
            raise invalid("kind: STANDARDISE or CALIBRATE")
        _factor(factor)
        text("method", method)
        async with ctx.db.read() as s:
            lot = await _lot(s, code)
        if lot.status not in OPEN:
            raise conflict(f"lot {lot.code} is {lot.status}")
        if lot.expires_on < today:
            raise conflict(f"lot {lot.code} expired on {lot.expires_on.isoformat()}")
        if retest_on is not None:
            _dates(lot.expires_on, retest_on, today)
        return lot

    async def save(s: AsyncSession, found: ReagentLot, signatures: Signatures[ReagentLot]) -> ReagentLot:
        lot = await s.get_one(ReagentLot, found.id)
        if lot.status not in OPEN:
            raise conflict(f"lot {lot.code} was changed meanwhile")
        lot.factor = _factor(factor)
        if retest_on is not None:
            lot.retest_on = retest_on
        await _bind(s, signatures, lot, _line(lot, kind, signatures.signer, utcnow(), factor=lot.factor,
                                              method=method.strip(), retest_on=retest_on))
        return lot

    return await perform(ctx, req, reason=f"reagent lot {code.strip()} {kind.value.lower()}d: factor {factor.strip()}",
                         clean=clean, save=save)


async def issue(ctx: Context, req: SignedRequest, code: str, quantity: float, to: str) -> ReagentLot:
    """Stock issued from the store to the bench; only a usable lot; signed PERFORMED."""
    def check(lot: ReagentLot) -> None:
        text("to (whom or where it is issued)", to)
        why = why_not_usable(lot, utcnow().date())
        if why is not None:
            raise conflict(why)
        if quantity > lot.quantity:
            raise conflict(f"lot {lot.code} has {lot.quantity:g} {lot.unit} on hand, not {quantity:g}")

    def change(lot: ReagentLot, by: str, at: datetime) -> ReagentMovement:
        lot.quantity -= quantity
        lot.issued += quantity
        if lot.quantity <= 0:
            lot.quantity, lot.status = 0.0, ReagentStatus.EXHAUSTED.value
        return _line(lot, ReagentMovementKind.ISSUE, by, at, quantity, note=f"to {to.strip()}")

    return await _move(ctx, req, code, quantity, check, change, f"issued to {to.strip()}")


async def give_back(ctx: Context, req: SignedRequest, code: str, quantity: float, note: str) -> ReagentLot:
    """Unused stock returned from the bench to the store; signed PERFORMED."""
    def check(lot: ReagentLot) -> None:
        text("note", note, 2000)
        if lot.status not in IN_USE:
            raise conflict(f"lot {lot.code} is {lot.status}")
        if quantity > lot.issued:
            raise conflict(f"lot {lot.code} has {lot.issued:g} {lot.unit} out on the bench, not {quantity:g}")

    def change(lot: ReagentLot, by: str, at: datetime) -> ReagentMovement:
        lot.quantity += quantity
        lot.issued -= quantity
        lot.status = ReagentStatus.RELEASED.value
        return _line(lot, ReagentMovementKind.RETURN, by, at, quantity, note=note.strip())

    return await _move(ctx, req, code, quantity, check, change, f"returned: {note.strip()}")


async def _move(ctx: Context, req: SignedRequest, code: str, quantity: float, check: Callable[[ReagentLot], None],
                change: Callable[[ReagentLot, str, datetime], ReagentMovement], reason: str) -> ReagentLot:
    """An issue or a return: checked before the signature and again inside the write."""
    async def clean() -> ReagentLot:
        _quantity("quantity", quantity)
        async with ctx.db.read() as s:
            lot = await _lot(s, code)
        check(lot)
        return lot

    async def save(s: AsyncSession, found: ReagentLot, signatures: Signatures[ReagentLot]) -> ReagentLot:
        lot = await s.get_one(ReagentLot, found.id)
        check(lot)
        await _bind(s, signatures, lot, change(lot, signatures.signer, utcnow()))
        return lot

    return await perform(ctx, req, reason=f"reagent lot {code.strip()} {reason}", clean=clean, save=save)


async def destroy(ctx: Context, req: SignedRequest, code: str, method: str, reason: str) -> ReagentLot:
    """A lot destroyed with its method and reason, stock on the bench included; signed PERFORMED."""
    async def clean() -> ReagentLot:
        text("method", method)
        text("reason", reason, 2000)
        async with ctx.db.read() as s:
            lot = await _lot(s, code)
        if lot.status == ReagentStatus.DESTROYED:
            raise conflict(f"lot {lot.code} was destroyed already")
        return lot

    async def save(s: AsyncSession, found: ReagentLot, signatures: Signatures[ReagentLot]) -> ReagentLot:
        lot = await s.get_one(ReagentLot, found.id)
        if lot.status == ReagentStatus.DESTROYED:
            raise conflict(f"lot {lot.code} was destroyed meanwhile")
        gone = lot.quantity + lot.issued
        lot.quantity, lot.issued, lot.status = 0.0, 0.0, ReagentStatus.DESTROYED.value
        await _bind(s, signatures, lot, _line(lot, ReagentMovementKind.DESTROY, signatures.signer, utcnow(), gone,
                                              method=method.strip(), note=reason.strip()))
        return lot

    return await perform(ctx, req, reason=f"reagent lot {code.strip()} destroyed: {reason.strip()}", clean=clean,
                         save=save)


# --- use by a test ----------------------------------------------------------------------------------------

async def usable(ctx: Context, codes: Iterable[str], operation: str, *,
                 kits_only: bool = False) -> dict[str, int]:
    """The ids of the lots a test names, by code, each checked usable today. A lot that is not is refused (CONFLICT,
    an unknown one VALIDATION_FAILED) with a REAGENT_REFUSED audit event. `kits_only` (a plasma retest): only
    registered TEST_KIT lots are checked; an unregistered kit lot passes unless the setting says otherwise."""
    wanted = sorted({c.strip() for c in codes if c.strip()})
    if not wanted:
        return {}
    if len(wanted) > MOST_LOTS:
        raise invalid(f"at most {MOST_LOTS} reagent lots per result")
    today = utcnow().date()
    async with ctx.db.read() as s:
        lots = {x.code: x for x in (await s.execute(select(ReagentLot).where(ReagentLot.code.in_(wanted)))).scalars()}
        required = (await s.get(Setting, KITS_REQUIRED_KEY)) if kits_only else None
    if kits_only:
        lots = {c: x for c, x in lots.items() if x.kind == ReagentKind.TEST_KIT}
        if not (required is not None and required.value is True):
            wanted = [c for c in wanted if c in lots]
    for code in wanted:
        lot = lots.get(code)
        why = f"no registered reagent or kit lot {code[:32]}" if lot is None else why_not_usable(lot, today)
        if why is not None:
            await ctx.db.record(ctx.audit_context(why), PendingEvent(
                "REAGENT_REFUSED", "reagent_lot", str(lot.id) if lot else code[:32],
                {"code": code[:32], "operation": operation, "reason": why, "date": today.isoformat()}))
            e = invalid(why) if lot is None else conflict(f"{why}: a test on {today.isoformat()} cannot use it")
            e.audited = True  # as REAGENT_REFUSED, just above
            raise e
    return {c: lots[c].id for c in wanted}


async def record_use(s: AsyncSession, lot_ids: list[int], used_for: str, used_for_id: str, by: str) -> None:
    """USE lines linking each lot to the record it was used for; checked again inside the write."""
    now = utcnow()
    for lot_id in lot_ids:
        lot = await s.get_one(ReagentLot, lot_id)
        why = why_not_usable(lot, now.date())
        if why is not None:
            raise conflict(f"{why} (changed meanwhile)")
        s.add(_line(lot, ReagentMovementKind.USE, by, now, used_for=used_for, used_for_id=used_for_id))
    await s.flush()


# --- reads ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LotView:
    lot: ReagentLot
    movements: list[ReagentMovement]


async def _views(s: AsyncSession, lots: list[ReagentLot]) -> list[LotView]:
    lines: dict[int, list[ReagentMovement]] = {x.id: [] for x in lots}
    if lots:
        for m in (await s.execute(select(ReagentMovement).where(ReagentMovement.lot_id.in_(list(lines)))
                                  .order_by(ReagentMovement.id))).scalars():
            lines[m.lot_id].append(m)
    return [LotView(x, lines[x.id]) for x in lots]


async def get(ctx: Context, code: str) -> LotView | None:
    async with ctx.db.read() as s:
        lot = (await s.execute(select(ReagentLot).where(ReagentLot.code == code.strip()))).scalar_one_or_none()
        return (await _views(s, [lot]))[0] if lot else None


async def listing(ctx: Context, kind: ReagentKind | None, status: ReagentStatus | None) -> list[LotView]:
    """Lots, newest first (at most 500); EXPIRED finds the open lots past their expiry date."""
    today = utcnow().date()
    q = select(ReagentLot).order_by(ReagentLot.received_at.desc(), ReagentLot.id.desc()).limit(500)
    if kind is not None:
        q = q.where(ReagentLot.kind == kind.value)
    if status is ReagentStatus.EXPIRED:
        q = q.where(ReagentLot.status.in_(OPEN), ReagentLot.expires_on < today)
    elif status is not None:
        q = q.where(ReagentLot.status == status.value)
        if status.value in OPEN:
            q = q.where(ReagentLot.expires_on >= today)
    async with ctx.db.read() as s:
        return await _views(s, list((await s.execute(q)).scalars()))


@dataclass(frozen=True)
class Reminder:
    code: str
    name: str
    kind: str
    lot_number: str
    status: str
    due: ReminderDue
    due_on: date
    days_left: int  # negative: overdue


async def reminder_days(s: AsyncSession) -> int:
    row = await s.get(Setting, REMINDER_KEY)
    return int(row.value) if row is not None else DEFAULT_REMINDER_DAYS


async def reminders(ctx: Context, within_days: int | None) -> list[Reminder]:
    """Open lots whose expiry or retest date falls within the window or has passed (QC-24), soonest first."""
    if within_days is not None and not 0 <= within_days <= 3650:
        raise invalid("withinDays: 0 to 3650")
    today = utcnow().date()
    async with ctx.db.read() as s:
        days = within_days if within_days is not None else await reminder_days(s)
        limit = today + timedelta(days=days)
        lots = (await s.execute(select(ReagentLot).where(
            ReagentLot.status.in_(OPEN), or_(ReagentLot.expires_on <= limit, ReagentLot.retest_on <= limit))
            .order_by(ReagentLot.id).limit(1000))).scalars().all()
    out = []
    for x in lots:
        for due, on in ((ReminderDue.EXPIRY, x.expires_on), (ReminderDue.RETEST, x.retest_on)):
            if on is not None and on <= limit:
                out.append(Reminder(x.code, x.name, x.kind, x.lot_number, shown_status(x, today), due, on,
                                    (on - today).days))
    return sorted(out, key=lambda r: (r.due_on, r.code, r.due))
