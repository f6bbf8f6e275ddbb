"""The electronic batch packaging record (B.9; PR-59..PR-69).

- `start`: the pre-packaging check made by the operator and verified by a second person, every item
  passed (PR-59); the line usable and its room cleared of the previous batch; a final lot opened from
  the batch's filled bulk (an intermediate), with its packaged specification and code hierarchy.
- `issue`: a packaging material lot to the record; refused unless it is a released, in-date packaging
  lot of the artwork version the recipe approves (PR-60).
- `inspect`: the visual-inspection counts (PR-61).
- `pack_case`: the codes the line printed for one case, its cartons and their units (PR-30): each a
  20-digit code of this product, new, in the packaging configuration, never more units than passed
  inspection; the units, cartons and case are stored aggregated.
- `close`: signed by the production supervisor (PR-63), with the reconciliation of every material
  issued (used, destroyed, returned) and the packaging yield; what does not add up is an exception,
  a deviation and an alarm (PR-69); the final lot waits in QUARANTINE for release.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.alarms import Alarm, AlarmSource, AlarmState
from records.base import utcnow
from records.genealogy import FinalLot, Intermediate, LotStatus, PackagingLevel, PackagingUnit
from records.materials import MaterialKind, MaterialLot, MaterialStatus
from records.packaging_record import PackagingIssue, PackagingRecord, PackagingStatus
from records.plant import Equipment
from records.plasma import Batch, BatchStatus
from records.quality import CheckResult
from records.recipe import Recipe
from resolvers import deviations, plasma
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.execution import room_ready, unusable
from resolvers.packaging import check_code
from resolvers.signed import Second, Signatures, SignedRequest, perform

LINE = "packaging_line"  # the equipment class that packages
PACKABLE = (BatchStatus.IN_PROGRESS, BatchStatus.COMPLETED)
YIELD_LIMITS = (98.0, 100.0)  # packed against inspected good units


@dataclass(frozen=True)
class Opening:
    batch_number: str
    bulk_code: str
    lot_number: str
    line_code: str
    specification: str
    units_per_carton: int
    cartons_per_case: int
    product_identifier: str
    expires_on: date
    checklist: tuple[tuple[str, str, str | None], ...]  # item, result, note


@dataclass(frozen=True)
class Carton:
    code: str
    units: tuple[str, ...]


@dataclass(frozen=True)
class Reconciled:
    lot_code: str
    used: float
    destroyed: float
    returned: float


@dataclass(frozen=True)
class View:
    record: PackagingRecord
    batch_number: str
    lot_number: str
    line_code: str
    issues: list[tuple[PackagingIssue, MaterialLot]]


async def view(s: AsyncSession, lot_number: str) -> View:
    row = (await s.execute(select(PackagingRecord, Batch.batch_number, FinalLot.lot_number, Equipment.code)
                           .join(FinalLot, FinalLot.id == PackagingRecord.final_lot_id)
                           .join(Batch, Batch.id == PackagingRecord.batch_id)
                           .join(Equipment, Equipment.id == PackagingRecord.line_id)
                           .where(FinalLot.lot_number == lot_number))).first()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no packaging record of lot {lot_number}")
    rec, batch_number, lot, line = row
    issues = [(i, m) for i, m in (await s.execute(select(PackagingIssue, MaterialLot).join(
        MaterialLot, MaterialLot.id == PackagingIssue.material_lot_id).where(PackagingIssue.record_id == rec.id)
        .order_by(PackagingIssue.id))).all()]
    return View(rec, batch_number, lot, line, issues)


async def _open(s: AsyncSession, lot_number: str) -> View:
    v = await view(s, lot_number)
    if v.record.status != PackagingStatus.OPEN:
        raise conflict(f"the packaging record of {lot_number} is closed")
    return v


def _check_opening(o: Opening) -> None:
    text("lotNumber", o.lot_number, 32)
    text("specification", o.specification, 100)
    if not (0 < o.units_per_carton <= 1000 and 0 < o.cartons_per_case <= 1000):
        raise invalid("unitsPerCarton and cartonsPerCase: 1-1000")
    if not (len(o.product_identifier) == 7 and o.product_identifier.isdigit()):
        raise invalid("productIdentifier: the 7 digits every traceability code of the product begins with")
    if o.expires_on <= utcnow().date():
        raise invalid("expiresOn: after today")
    if not o.checklist or any(not item.strip() or result not in tuple(CheckResult) for item, result, _ in o.checklist):
        raise invalid("the pre-packaging check lists each item with PASS, FAIL or NA")
    failed = [item for item, result, _ in o.checklist if result == CheckResult.FAIL]
    if failed:
        raise conflict(f"packaging cannot start: the pre-packaging check failed: {'; '.join(failed)}")


async def start(ctx: Context, req: SignedRequest, o: Opening) -> View:
    """Open the packaging record and its final lot; PERFORMED by the operator, VERIFIED by a second person."""
    p = ctx.signed_in()

    async def clean() -> tuple[Batch, Intermediate, Equipment]:
        _check_opening(o)
        if req.second is not None:
            await ctx.require_duty("verify", "packaging_record", o.lot_number, "whoever made the pre-packaging "
                                   "check cannot verify it", subject=req.second.signer, performed_by=p.username)
        async with ctx.db.read() as s:
            b = (await s.execute(select(Batch).where(Batch.batch_number == o.batch_number))).scalar_one_or_none()
            bulk = (await s.execute(select(Intermediate).where(Intermediate.code == o.bulk_code))).scalar_one_or_none()
            line = (await s.execute(select(Equipment).where(Equipment.code == o.line_code))).scalar_one_or_none()
            taken = (await s.execute(select(FinalLot.id).where(FinalLot.lot_number == o.lot_number))).first()
            if b is None or bulk is None or line is None:
                missing = o.batch_number if b is None else o.bulk_code if bulk is None else o.line_code
                raise AppError(ErrorCode.NOT_FOUND, f"no {missing}")
            room = await room_ready(s, b, line.room_id)
        if taken is not None:
            raise conflict(f"lot {o.lot_number} exists already")
        if b.status not in PACKABLE:
            raise conflict(f"batch {o.batch_number} is {b.status}")
        if bulk.batch_id != b.id or bulk.status != LotStatus.RELEASED:
            raise conflict(f"{o.bulk_code} is not a released intermediate of {o.batch_number}")
        reasons = unusable(line, LINE, utcnow().date()) + ([room] if room else [])
        if reasons:
            raise conflict(f"packaging cannot start on {o.line_code}: {'; '.join(reasons)}")
        return b, bulk, line

    async def save(s: AsyncSession, found: tuple[Batch, Intermediate, Equipment],
                   signatures: Signatures[tuple[Batch, Intermediate, Equipment]]) -> View:
        b, bulk, line = found
        checker = signatures.second_signer
        assert checker is not None  # Second(required=True)
        now = utcnow()
        lot = FinalLot(lot_number=o.lot_number, intermediate_id=bulk.id, product=b.product, filled_on=now.date(),
                       expiry_date=o.expires_on, status=LotStatus.IN_PRODUCTION.value)
        s.add(lot)
        await s.flush()
        rec = PackagingRecord(batch_id=b.id, final_lot_id=lot.id, line_id=line.id, specification=o.specification,
                              units_per_carton=o.units_per_carton, cartons_per_case=o.cartons_per_case,
                              product_identifier=o.product_identifier,
                              checklist=[{"item": i.strip(), "result": r, "note": n or ""} for i, r, n in o.checklist],
                              started_at=now, started_by=signatures.signer, checked_by=checker,
                              status=PackagingStatus.OPEN.value)
        s.add(rec)
        await s.flush()
        await signatures.bind(s, "packaging_record", str(rec.id), {
            "batch": o.batch_number, "lot": o.lot_number, "line": o.line_code, "checklist": rec.checklist})
        return View(rec, b.batch_number, lot.lot_number, line.code, [])

    return await perform(ctx, req, reason=f"packaging of {o.lot_number} started", clean=clean, save=save,
                         second=Second(("VERIFIED",), "the checker's signature on the pre-packaging check"),
                         conflict=f"lot {o.lot_number} was opened meanwhile")


async def _approved_artwork(s: AsyncSession, batch_id: int, material_code: str) -> list[str]:
    """The artwork versions the batch's recipe approves for this packaging material."""
    recipe = (await s.execute(select(Recipe).join(Batch, Batch.recipe_id == Recipe.id).where(Batch.id == batch_id))
              ).scalar_one_or_none()
    return [m["artwork_version"] for p in (recipe.procedure if recipe else []) for m in p["materials"]
            if m["code"] == material_code and m.get("artwork_version")]


def _issuable(m: MaterialLot, approved: list[str]) -> None:
    """PR-60: a released, in-date packaging lot of an approved artwork version."""
    if m.kind != MaterialKind.PACKAGING:
        raise invalid(f"{m.code} is {m.kind}, not a packaging material")
    if not approved:
        raise invalid(f"the recipe approves no artwork of {m.material_code} for this product")
    if m.artwork_version not in approved:
        raise conflict(f"{m.code} is artwork version {m.artwork_version}; the approved version is "
                        f"{', '.join(approved)}")
    if m.status != MaterialStatus.RELEASED:
        raise conflict(f"{m.code} is {m.status}, not released")
    if m.expires_on < utcnow().date():
        raise conflict(f"{m.code} expired on {m.expires_on.isoformat()}")


async def issue(ctx: Context, req: SignedRequest, lot_number: str, lot_code: str, quantity: float) -> View:
    """Issue packaging material to the record; signed PERFORMED."""
    async def clean() -> tuple[View, MaterialLot]:
        if not math.isfinite(quantity) or quantity <= 0:
            raise invalid("quantity: above 0")
        async with ctx.db.read() as s:
            v = await _open(s, lot_number)
            m = (await s.execute(select(MaterialLot).where(MaterialLot.code == lot_code))).scalar_one_or_none()
            if m is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no material lot {lot_code}")
            approved = await _approved_artwork(s, v.record.batch_id, m.material_code)
        _issuable(m, approved)
        if quantity > m.remaining:
            raise conflict(f"{lot_code} has {m.remaining:g} {m.unit} left, less than {quantity:g}")
        if any(lot.id == m.id for _, lot in v.issues):
            raise conflict(f"{lot_code} is issued to {lot_number} already")
        return v, m

    async def save(s: AsyncSession, found: tuple[View, MaterialLot], signatures: Signatures[Any]) -> View:
        v, m = found
        lot = await s.get_one(MaterialLot, m.id)
        if quantity > lot.remaining:
            raise conflict(f"{lot_code} has {lot.remaining:g} {lot.unit} left, less than {quantity:g}")
        lot.remaining -= quantity
        row = PackagingIssue(record_id=v.record.id, material_lot_id=lot.id, issued=quantity, issued_at=utcnow(),
                             issued_by=signatures.signer)
        s.add(row)
        await s.flush()
        await signatures.bind(s, "packaging_record", str(v.record.id), {"lot": lot_number, "issued": lot_code,
                                                                        "quantity": quantity})
        return await view(s, lot_number)

    return await perform(ctx, req, reason=f"{lot_code} issued to {lot_number}", clean=clean, save=save,
                         conflict=f"{lot_code} was issued meanwhile")


async def inspect(ctx: Context, req: SignedRequest, lot_number: str, inspected: int, rejected: int,
                  notes: str | None) -> View:
    """The visual inspection's counts (PR-61); signed PERFORMED by the inspector."""
    async def clean() -> View:
        if inspected <= 0 or not 0 <= rejected <= inspected:
            raise invalid("inspected above 0, rejected 0 to inspected")
        async with ctx.db.read() as s:
            v = await _open(s, lot_number)
        if v.record.inspected is not None:
            raise conflict(f"the inspection of {lot_number} is recorded already")
        return v

    async def save(s: AsyncSession, v: View, signatures: Signatures[View]) -> View:
        rec = await s.get_one(PackagingRecord, v.record.id)
        rec.inspected, rec.rejected, rec.inspection_notes = inspected, rejected, (notes or "").strip() or None
        rec.inspected_by, rec.inspected_at = signatures.signer, utcnow()
        await s.flush()
        await signatures.bind(s, "packaging_record", str(rec.id), {"lot": lot_number, "inspected": inspected,
                                                                   "rejected": rejected})
        return await view(s, lot_number)

    return await perform(ctx, req, reason=f"visual inspection of {lot_number}", clean=clean, save=save)


def _check_case(rec: PackagingRecord, case_code: str, cartons: list[Carton]) -> list[str]:
    """Every code of the case, checked against the configuration; the case's code first."""
    codes = [case_code] + [c.code for c in cartons] + [u for c in cartons for u in c.units]
    for c in codes:
        check_code(c)
        if not c.startswith(rec.product_identifier):
            raise invalid(f"{c} is not a code of product {rec.product_identifier}")
    if len(set(codes)) != len(codes):
        raise invalid("a code appears twice in the case")
    if not 0 < len(cartons) <= rec.cartons_per_case:
        raise invalid(f"a case holds 1-{rec.cartons_per_case} cartons")
    if any(not 0 < len(c.units) <= rec.units_per_carton for c in cartons):
        raise invalid(f"a carton holds 1-{rec.units_per_carton} units")
    if rec.inspected is None or rec.rejected is None:
        raise conflict("record the visual inspection before packing")
    good = rec.inspected - rec.rejected
    units = sum(len(c.units) for c in cartons)
    if rec.units_packed + units > good:
        raise conflict(f"{rec.units_packed + units} units would be packed; {good} passed inspection")
    return codes


async def pack_case(ctx: Context, req: SignedRequest, lot_number: str, case_code: str, cartons: list[Carton]) -> View:
    """A case the line packed, with the codes it printed; stored aggregated (PR-30); signed PERFORMED."""
    async def clean() -> View:
        async with ctx.db.read() as s:
            v = await _open(s, lot_number)
            codes = _check_case(v.record, case_code, cartons)
            known = (await s.execute(select(PackagingUnit.code).where(PackagingUnit.code.in_(codes)).limit(5))
                     ).scalars().all()
        if known:
            raise conflict(f"codes issued before: {', '.join(known)}")
        return v

    async def save(s: AsyncSession, v: View, signatures: Signatures[View]) -> View:
        rec = await s.get_one(PackagingRecord, v.record.id)
        _check_case(rec, case_code, cartons)
        lot_id = rec.final_lot_id
        case = PackagingUnit(code=case_code, level=PackagingLevel.CASE.value, final_lot_id=lot_id)
        s.add(case)
        await s.flush()
        for c in cartons:
            carton = PackagingUnit(code=c.code, level=PackagingLevel.CARTON.value, final_lot_id=lot_id,
                                   parent_id=case.id)
            s.add(carton)
            await s.flush()
            s.add_all(PackagingUnit(code=u, level=PackagingLevel.UNIT.value, final_lot_id=lot_id, parent_id=carton.id)
                      for u in c.units)
        rec.units_packed += sum(len(c.units) for c in cartons)
        rec.cases_packed += 1
        await s.flush()
        await signatures.bind(s, "packaging_record", str(rec.id), {
            "lot": lot_number, "case": case_code, "cartons": {c.code: sorted(c.units) for c in cartons}})
        return await view(s, lot_number)

    return await perform(ctx, req, reason=f"case {case_code} of {lot_number} packed", clean=clean, save=save,
                         conflict="one of these codes was stored meanwhile")


def reconcile(v: View, counts: list[Reconciled]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each issued lot: issued = used + destroyed + returned (PR-69); what does not add up."""
    by_code = {c.lot_code: c for c in counts}
    issued = {lot.code: (i, lot) for i, lot in v.issues}
    extra = [c for c in by_code if c not in issued]
    missing = [c for c in issued if c not in by_code]
    if extra or missing:
        raise invalid("reconcile exactly the lots issued: " + "; ".join(
            ([f"not issued: {', '.join(extra)}"] if extra else []) + ([f"missing: {', '.join(missing)}"] if missing
                                                                       else [])))
    rows, off = [], []
    for code, (i, lot) in issued.items():
        c = by_code[code]
        if min(c.used, c.destroyed, c.returned) < 0 or not all(map(math.isfinite, (c.used, c.destroyed, c.returned))):
            raise invalid(f"{code}: used, destroyed and returned are quantities, not below 0")
        balance = c.used + c.destroyed + c.returned
        ok = math.isclose(balance, i.issued, abs_tol=1e-9)
        rows.append({"material": lot.material_code, "name": lot.name, "lot": lot.lot_number, "code": code,
                     "artworkVersion": lot.artwork_version, "issued": i.issued, "used": c.used,
                     "destroyed": c.destroyed, "returned": c.returned, "balanced": ok})
        if not ok:
            off.append(f"{lot.material_code} lot {lot.lot_number}: issued {i.issued:g}, accounted for {balance:g}")
    return rows, off


async def close(ctx: Context, req: SignedRequest, lot_number: str, counts: list[Reconciled]) -> View:
    """Close the record with its reconciliation; signed by the production supervisor (PR-63)."""
    p = ctx.signed_in()
    raised: list[Alarm] = []

    async def clean() -> View:
        async with ctx.db.read() as s:
            v = await _open(s, lot_number)
        if v.record.units_packed == 0:
            raise conflict(f"nothing of {lot_number} is packed yet")
        reconcile(v, counts)
        return v

    async def save(s: AsyncSession, v: View, signatures: Signatures[View]) -> View:
        rec = await s.get_one(PackagingRecord, v.record.id)
        rows, off = reconcile(v, counts)
        good = (rec.inspected or 0) - (rec.rejected or 0)
        rec.yield_pct = round(rec.units_packed / good * 100, 2) if good else 0.0
        if not YIELD_LIMITS[0] <= rec.yield_pct <= YIELD_LIMITS[1]:
            off.append(f"packaging yield {rec.yield_pct:g} % of the units that passed inspection "
                       f"(limits {YIELD_LIMITS[0]:g}-{YIELD_LIMITS[1]:g} %)")
        for code, c in {c.lot_code: c for c in counts}.items():
            lot = next(m for _, m in v.issues if m.code == code)
            (await s.get_one(MaterialLot, lot.id)).remaining += c.returned  # back to the store
        rec.reconciliation, rec.exception = rows, bool(off)
        rec.status, rec.closed_at, rec.closed_by = PackagingStatus.CLOSED.value, utcnow(), signatures.signer
        final = await s.get_one(FinalLot, rec.final_lot_id)
        final.status = LotStatus.QUARANTINE.value
        if off:
            batch = await s.get_one(Batch, rec.batch_id)
            await deviations.opened(s, f"{lot_number} packaging: reconciliation", "Does not add up: " + "; ".join(off),
                                    batch.id, p.username)
            room = (await s.execute(select(Equipment.room_id).where(Equipment.id == rec.line_id))).scalar_one()
            raised.extend(Alarm(source=AlarmSource.PROCESS.value, condition="RECONCILIATION", priority="HIGH",
                                state=AlarmState.CLEARED.value, room_id=room, equipment_id=rec.line_id,
                                message=f"{batch.batch_number} packaging of {lot_number}: {what}",
                                began_at=rec.closed_at, raised_at=rec.closed_at, cleared_at=rec.closed_at,
                                batch_number=batch.batch_number, phase_code="PACKAGING") for what in off)
            s.add_all(raised)
        await s.flush()
        await signatures.bind(s, "packaging_record", str(rec.id), {
            "lot": lot_number, "reconciliation": rows, "yieldPct": rec.yield_pct, "unitsPacked": rec.units_packed})
        return await view(s, lot_number)

    def publish(_: View) -> None:
        for a in raised:
            ctx.services.alarms.published("RAISED", a)

    return await perform(ctx, req, reason=f"packaging of {lot_number} closed", clean=clean, save=save,
                         publish=publish, meanings=("APPROVED",))


async def read(ctx: Context, lot_number: str) -> View:
    """A lot's packaging record; a scoped token sees the records of its batches only."""
    async with ctx.db.read() as s:
        v = await view(s, lot_number)
        await plasma.batch(s, v.batch_number, ctx.scope())  # refuses a batch out of the caller's scope
        return v

