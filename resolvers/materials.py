"""Material lots (B.3; PR-10, PR-11, PR-13): received into quarantine under a code from the material-code
generator with a label, released or rejected by QA, looked up by scanning the code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.materials import MaterialKind as MaterialKind  # the value lists, for the schema
from records.materials import MaterialLot as MaterialLot
from records.materials import MaterialStatus as MaterialStatus
from resolvers import codes, labels
from resolvers.checks import invalid, text
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

DECISIONS = (MaterialStatus.RELEASED, MaterialStatus.REJECTED)


@dataclass(frozen=True)
class Receipt:
    kind: MaterialKind
    material_code: str
    name: str
    lot_number: str
    supplier: str
    supplier_lot: str | None
    quantity: float
    unit: str
    manufactured_on: date | None
    expires_on: date
    artwork_version: str | None = None


def _check(r: Receipt, today: date) -> None:
    text("materialCode", r.material_code, 32)
    text("name", r.name)
    text("lotNumber", r.lot_number, 64)
    text("supplier", r.supplier)
    text("unit", r.unit, 16)
    if r.quantity <= 0:
        raise invalid("quantity: above 0")
    if r.expires_on <= today:
        raise invalid(f"the lot expired on {r.expires_on.isoformat()}: it cannot be received")
    if r.manufactured_on is not None and r.manufactured_on > today:
        raise invalid("manufacturedOn is in the future")
    if (r.kind is MaterialKind.PACKAGING) != (r.artwork_version is not None and bool(r.artwork_version.strip())):
        raise invalid("a packaging material names its artwork version; other materials have none")


async def receive(ctx: Context, req: SignedRequest, r: Receipt) -> MaterialLot:
    """A lot received into QUARANTINE under a new code; signed PERFORMED."""
    async def clean() -> Receipt:
        _check(r, utcnow().date())
        async with ctx.db.read() as s:
            known = (await s.execute(select(MaterialLot.code).where(
                MaterialLot.material_code == r.material_code, MaterialLot.lot_number == r.lot_number))).scalar()
        if known is not None:
            raise AppError(ErrorCode.CONFLICT, f"lot {r.lot_number} of {r.material_code} was received as {known}")
        return r

    async def save(s: AsyncSession, x: Receipt, signatures: Signatures[Receipt]) -> MaterialLot:
        now = utcnow()
        lot = MaterialLot(code=await codes.next_code(s, x.kind.code_type, now.date()), kind=x.kind.value,
                          material_code=x.material_code.strip(), name=x.name.strip(), lot_number=x.lot_number.strip(),
                          supplier=x.supplier.strip(), supplier_lot=x.supplier_lot, quantity=x.quantity,
                          remaining=x.quantity, unit=x.unit.strip(), manufactured_on=x.manufactured_on,
                          expires_on=x.expires_on, artwork_version=x.artwork_version, received_at=now,
                          received_by=signatures.signer, status=MaterialStatus.QUARANTINE.value)
        s.add(lot)
        await s.flush()
        await signatures.bind(s, "material_lot", str(lot.id), content(lot))
        return lot

    return await perform(ctx, req, reason=f"lot {r.lot_number} of {r.material_code} received", clean=clean,
                         save=save, conflict=f"lot {r.lot_number} of {r.material_code} was received meanwhile")


def content(lot: MaterialLot) -> dict[str, object]:
    """What a signature on a lot is bound to."""
    return {"code": lot.code, "materialCode": lot.material_code, "lotNumber": lot.lot_number,
            "quantity": lot.quantity, "unit": lot.unit, "expiresOn": lot.expires_on.isoformat(),
            "artworkVersion": lot.artwork_version, "status": lot.status}


async def decide(ctx: Context, req: SignedRequest, code: str, decision: MaterialStatus, reason: str) -> MaterialLot:
    """QA releases or rejects a quarantined lot; signed APPROVED. Whoever received it cannot decide it."""
    async def clean() -> MaterialLot:
        if decision not in DECISIONS:
            raise invalid(f"a decision is {' or '.join(DECISIONS)}")
        text("reason", reason, 2000)
        async with ctx.db.read() as s:
            lot = await _lot(s, code)
        if lot.status != MaterialStatus.QUARANTINE:
            raise AppError(ErrorCode.CONFLICT, f"{code} is {lot.status}, not in quarantine")
        await ctx.require_duty("release_material", "material_lot", code, "whoever received a lot cannot release it",
                               received_by=lot.received_by)
        return lot

    async def save(s: AsyncSession, found: MaterialLot, signatures: Signatures[MaterialLot]) -> MaterialLot:
        lot = await s.get_one(MaterialLot, found.id)
        if lot.status != MaterialStatus.QUARANTINE:
            raise AppError(ErrorCode.CONFLICT, f"{code} was decided meanwhile")
        lot.status, lot.decided_by, lot.decided_at = decision.value, signatures.signer, utcnow()
        lot.decision_reason = reason.strip()
        await s.flush()
        await signatures.bind(s, "material_lot", str(lot.id), content(lot))
        return lot

    return await perform(ctx, req, reason=f"{code} {decision.value.lower()}: {reason.strip()}", clean=clean,
                         save=save, meanings=("APPROVED",))


async def _lot(s: AsyncSession, code: str) -> MaterialLot:
    lot = (await s.execute(select(MaterialLot).where(MaterialLot.code == code))).scalar_one_or_none()
    if lot is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no material lot {code}")
    return lot


async def lookup(ctx: Context, code: str) -> MaterialLot | None:
    """A scanned code: the lot as it is now (PR-11)."""
    async with ctx.db.read() as s:
        return (await s.execute(select(MaterialLot).where(MaterialLot.code == code))).scalar_one_or_none()


async def listing(ctx: Context, material_code: str | None, status: MaterialStatus | None) -> list[MaterialLot]:
    async with ctx.db.read() as s:
        q = select(MaterialLot).order_by(MaterialLot.received_at.desc(), MaterialLot.id.desc()).limit(500)
        if material_code is not None:
            q = q.where(MaterialLot.material_code == material_code)
        if status is not None:
            q = q.where(MaterialLot.status == status.value)
        return list((await s.execute(q)).scalars())


def label(lot: MaterialLot) -> labels.Label:
    """The lot's label (PR-13): name, batch information and the code."""
    return labels.material_label(lot.code, lot.name, [
        ("Material code", lot.material_code), ("Batch number", lot.lot_number),
        ("Quantity", f"{lot.quantity:g} {lot.unit}"), ("Supplier", lot.supplier),
        ("Expiry", lot.expires_on.isoformat()), ("Status", lot.status)])
