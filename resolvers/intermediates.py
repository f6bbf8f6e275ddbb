"""Intermediate products (B.5; PR-22..PR-25, PR-54): recorded by the phase that made them with a code,
a label carrying storage conditions and expiry, a quality status QA decides, and every movement of
their stock: put away in a registered location, taken out, sampled, charged into a phase, returned.

Charging is checked by the system (PR-25): the intermediate must be of the batch it goes into, one the
phase uses (its recipe lists the intermediate's code among its materials), released by QA, in date,
out of store and with enough left; a second person verifies the charge. Expired intermediates are
flagged and never leave the store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.execution import PhaseRun, PhaseStatus
from records.genealogy import Intermediate as Intermediate  # the rows the schema shows
from records.genealogy import IntermediateMovement as IntermediateMovement
from records.genealogy import LotStatus as LotStatus
from records.genealogy import MovementKind as MovementKind  # the value list, for the schema
from records.plant import Room
from records.plasma import Batch
from records.recipe import Recipe
from resolvers import codes, labels
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.signed import Second, Signatures, SignedRequest, perform

CODE_TYPE = "IM"
DECISIONS = (LotStatus.RELEASED, LotStatus.REJECTED)


@dataclass(frozen=True)
class Made:
    batch_number: str
    phase_code: str
    material_code: str
    name: str
    amount: float
    unit: str
    storage_conditions: str
    expires_on: date


@dataclass(frozen=True)
class Move:
    code: str
    kind: MovementKind
    location: str | None = None
    quantity: float | None = None
    batch_number: str | None = None
    phase_code: str | None = None


@dataclass(frozen=True)
class View:
    intermediate: Intermediate
    batch_number: str
    product: str
    expired: bool


async def _batch(s: AsyncSession, number: str) -> Batch:
    b = (await s.execute(select(Batch).where(Batch.batch_number == number))).scalar_one_or_none()
    if b is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no batch {number}")
    return b


async def _phase(s: AsyncSession, b: Batch, phase_code: str) -> dict[str, Any]:
    recipe = await s.get(Recipe, b.recipe_id) if b.recipe_id else None
    phase = next((p for p in recipe.procedure if p["code"] == phase_code), None) if recipe else None
    if phase is None:
        raise AppError(ErrorCode.NOT_FOUND, f"batch {b.batch_number}'s recipe has no phase {phase_code}")
    return phase


async def record(ctx: Context, req: SignedRequest, m: Made) -> View:
    """An intermediate made by a phase of the batch, in QUARANTINE and not yet stored; signed PERFORMED."""
    async def clean() -> Batch:
        text("materialCode", m.material_code, 32)
        text("name", m.name, 64)
        text("unit", m.unit, 16)
        text("storageConditions", m.storage_conditions, 100)
        if not math.isfinite(m.amount) or m.amount <= 0:
            raise invalid("amount: above 0")
        if m.expires_on <= utcnow().date():
            raise invalid("expiresOn: after today")
        async with ctx.db.read() as s:
            b = await _batch(s, m.batch_number)
            await _phase(s, b, m.phase_code)
            ran = (await s.execute(select(PhaseRun.id).where(PhaseRun.batch_id == b.id,
                                                             PhaseRun.phase_code == m.phase_code))).first()
        if ran is None:
            raise conflict(f"phase {m.phase_code} of {m.batch_number} has not run: it made nothing yet")
        return b

    async def save(s: AsyncSession, b: Batch, signatures: Signatures[Batch]) -> View:
        now = utcnow()
        row = Intermediate(code=await codes.next_code(s, CODE_TYPE, now.date()), batch_id=b.id, kind=m.name.strip(),
                           quantity=f"{m.amount:g} {m.unit}", material_code=m.material_code.strip(),
                           phase_code=m.phase_code, amount=m.amount, remaining=m.amount, unit=m.unit.strip(),
                           storage_conditions=m.storage_conditions.strip(), expires_on=m.expires_on,
                           status=LotStatus.QUARANTINE.value, made_at=now, made_by=signatures.signer)
        s.add(row)
        await s.flush()
        await signatures.bind(s, "intermediate", str(row.id), _content(row))
        return View(row, b.batch_number, b.product, False)

    return await perform(ctx, req, reason=f"{m.name} made by {m.batch_number} {m.phase_code}", clean=clean, save=save)


def _content(i: Intermediate) -> dict[str, object]:
    return {"code": i.code, "materialCode": i.material_code, "amount": i.amount, "remaining": i.remaining,
            "status": i.status, "location": i.location, "expiresOn": i.expires_on.isoformat() if i.expires_on else None}


async def _registered(s: AsyncSession, location: str) -> str:
    """PR-22: a location is a registered room, with the place in it after a dash (`CR2-S03`)."""
    room = location.split("-", 1)[0]
    known = (await s.execute(select(Room.code).where(Room.code == room))).scalar_one_or_none()
    if not location.strip() or len(location) > 64 or known is None:
        raise invalid(f"{location!r} is not a registered location (a room code, then '-' and the place)")
    return location


async def _check_move(s: AsyncSession, i: Intermediate, mv: Move, today: date) -> Batch | None:
    """Why this movement cannot happen; the batch a charge goes into."""
    expired = i.expires_on is not None and i.expires_on < today
    if i.status is None:
        raise conflict(f"{i.code} was not recorded through the batch record; it has no stock to move")
    if mv.kind in (MovementKind.STOCK_IN, MovementKind.RETURN):
        if i.location is not None:
            raise conflict(f"{i.code} is in store at {i.location} already")
        await _registered(s, mv.location or "")
        return None
    if mv.location is not None:
        raise invalid(f"a {mv.kind} names no location")
    if mv.kind is MovementKind.STOCK_OUT:
        if i.location is None:
            raise conflict(f"{i.code} is not in store")
        if expired:
            raise conflict(f"{i.code} expired on {i.expires_on}: it does not leave the store")
        return None
    if mv.quantity is None or not math.isfinite(mv.quantity) or mv.quantity <= 0:
        raise invalid("quantity: above 0")
    if mv.quantity > (i.remaining or 0):
        raise conflict(f"{i.code} has {i.remaining:g} {i.unit} left, less than {mv.quantity:g}")
    if mv.kind is MovementKind.SAMPLE:
        return None
    return await _check_charge(s, i, mv, expired)


async def _check_charge(s: AsyncSession, i: Intermediate, mv: Move, expired: bool) -> Batch:
    """PR-25: the right intermediate, released, in date, into the right batch's phase."""
    if not mv.batch_number or not mv.phase_code:
        raise invalid("a charge names the batch and the phase it goes into")
    b = await _batch(s, mv.batch_number)
    phase = await _phase(s, b, mv.phase_code)
    own = await s.get_one(Batch, i.batch_id)
    if own.product != b.product:
        raise conflict(f"{i.code} is {own.product}, not {b.product}")
    if own.id != b.id:
        raise conflict(f"{i.code} belongs to batch {own.batch_number}, not {b.batch_number}")
    uses = [str(x["code"]) for x in phase["materials"]]
    if i.material_code not in uses:
        raise conflict(f"phase {mv.phase_code} does not use {i.material_code} ({i.kind}); it uses "
                        f"{', '.join(uses) or 'no materials'}")
    if i.status != LotStatus.RELEASED:
        raise conflict(f"{i.code} is {i.status}, not released")
    if expired:
        raise conflict(f"{i.code} expired on {i.expires_on}")
    if i.location is not None:
        raise conflict(f"{i.code} is in store at {i.location}: take it out first")
    done = (await s.execute(select(PhaseRun.id).where(PhaseRun.batch_id == b.id, PhaseRun.phase_code == mv.phase_code,
                                                      PhaseRun.status == PhaseStatus.COMPLETED))).first()
    if done is not None:
        raise conflict(f"phase {mv.phase_code} of {b.batch_number} is complete")
    return b


async def move(ctx: Context, req: SignedRequest, mv: Move) -> View:
    """One movement of stock; signed PERFORMED, and VERIFIED by a second person for a charge."""
    p = ctx.signed_in()

    async def clean() -> tuple[Intermediate, Batch | None]:
        if mv.kind is MovementKind.CHARGE and req.second is not None:
            await ctx.require_duty("verify", "intermediate", mv.code, "whoever charges cannot verify the charge",
                                   subject=req.second.signer, performed_by=p.username)
        async with ctx.db.read() as s:
            i = (await s.execute(select(Intermediate).where(Intermediate.code == mv.code))).scalar_one_or_none()
            if i is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no intermediate {mv.code}")
            target = await _check_move(s, i, mv, utcnow().date())
        return i, target

    async def save(s: AsyncSession, found: tuple[Intermediate, Batch | None],
                   signatures: Signatures[tuple[Intermediate, Batch | None]]) -> View:
        i = await s.get_one(Intermediate, found[0].id)
        target = await _check_move(s, i, mv, utcnow().date())  # again, under the write lock
        if mv.kind in (MovementKind.STOCK_IN, MovementKind.RETURN):
            i.location = mv.location
        elif mv.kind is MovementKind.STOCK_OUT:
            i.location = None
        else:
            i.remaining = (i.remaining or 0) - (mv.quantity or 0)
        row = IntermediateMovement(intermediate_id=i.id, kind=mv.kind.value, at=utcnow(), by=signatures.signer,
                                   reviewer=signatures.second_signer, location=mv.location, quantity=mv.quantity,
                                   batch_id=target.id if target else None, phase_code=mv.phase_code)
        s.add(row)
        await s.flush()
        await signatures.bind(s, "intermediate", str(i.id), {**_content(i), "movement": mv.kind.value,
                                                              "quantity": mv.quantity, "into": mv.batch_number})
        own = await s.get_one(Batch, i.batch_id)
        return View(i, own.batch_number, own.product, False)

    return await perform(ctx, req, reason=f"{mv.code}: {mv.kind.value.lower().replace('_', ' ')}", clean=clean,
                         save=save, second=Second(("VERIFIED",), "the checker's signature",
                                                  required=mv.kind is MovementKind.CHARGE))


async def decide(ctx: Context, req: SignedRequest, code: str, decision: LotStatus, reason: str) -> View:
    """QA releases or rejects an intermediate; signed APPROVED."""
    async def clean() -> Intermediate:
        if decision not in DECISIONS:
            raise invalid(f"a decision is {' or '.join(DECISIONS)}")
        text("reason", reason, 2000)
        async with ctx.db.read() as s:
            i = (await s.execute(select(Intermediate).where(Intermediate.code == code))).scalar_one_or_none()
        if i is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no intermediate {code}")
        if i.status != LotStatus.QUARANTINE:
            raise conflict(f"{code} is {i.status}, not in quarantine")
        return i

    async def save(s: AsyncSession, found: Intermediate, signatures: Signatures[Intermediate]) -> View:
        i = await s.get_one(Intermediate, found.id)
        if i.status != LotStatus.QUARANTINE:
            raise conflict(f"{code} was decided meanwhile")
        i.status = decision.value
        await s.flush()
        await signatures.bind(s, "intermediate", str(i.id), _content(i))
        own = await s.get_one(Batch, i.batch_id)
        return View(i, own.batch_number, own.product, False)

    return await perform(ctx, req, reason=f"{code} {decision.value.lower()}: {reason.strip()}", clean=clean, save=save,
                         meanings=("APPROVED",))


async def stock(ctx: Context, batch_number: str | None, location: str | None) -> list[View]:
    """PR-24, PR-54: intermediates of a batch, or in a location (a room, or a place in it), as they are now."""
    today = utcnow().date()
    async with ctx.db.read() as s:
        q = (select(Intermediate, Batch.batch_number, Batch.product).join(Batch, Batch.id == Intermediate.batch_id)
             .where(Intermediate.status.is_not(None)).order_by(Intermediate.id))
        if batch_number is not None:
            q = q.where(Batch.batch_number == batch_number)
        if location is not None:
            q = q.where((Intermediate.location == location) | Intermediate.location.startswith(f"{location}-"))
        rows = (await s.execute(q.limit(1000))).all()
    return [View(i, n, p, i.expires_on is not None and i.expires_on < today) for i, n, p in rows]


async def movements(ctx: Context, code: str) -> list[IntermediateMovement]:
    async with ctx.db.read() as s:
        return list((await s.execute(select(IntermediateMovement).join(
            Intermediate, Intermediate.id == IntermediateMovement.intermediate_id).where(Intermediate.code == code)
            .order_by(IntermediateMovement.id))).scalars())


def label(v: View) -> labels.Label:
    """PR-23: the label carries the storage conditions and the expiry."""
    i = v.intermediate
    return labels.material_label(i.code, i.kind, [
        ("Batch", v.batch_number), ("Product", v.product), ("Quantity", f"{i.amount:g} {i.unit}"),
        ("Storage", i.storage_conditions or "-"), ("Expiry", i.expires_on.isoformat() if i.expires_on else "-"),
        ("Status", i.status or "-")])
