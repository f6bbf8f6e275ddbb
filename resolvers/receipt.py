"""Plasma receipt by scan (PL-07, PL-09): each scanned unit is checked against the station's
electronic manifest, gets its material code and starts its quarantine; refusals are audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from policies.errors import AppError, ErrorCode
from records.audit import AuditEvent, PendingEvent
from records.base import utcnow
from records.plasma import NoticeKind, PlasmaShipment, PlasmaStation, PlasmaUnit, StationNotice
from records.plasma import ShipmentStatus as ShipmentStatus  # the value list, for the schema
from resolvers import codes, labels
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

WEIGHT_TOLERANCE = 0.05  # measured vs declared weight


async def _refuse(ctx: Context, code: ErrorCode, message: str, scanned: str, shipment: str) -> AppError:
    """A refused scan, audited as RECEIPT_REJECTED (closePlasmaReceipt lists them) and only so."""
    await ctx.db.record(ctx.audit_context(), PendingEvent(
        "RECEIPT_REJECTED", "plasma_unit", None,
        {"scanned": scanned, "shipment": shipment, "code": code.value, "reason": message}))
    err = AppError(code, message)
    err.audited = True
    return err


async def receive(ctx: Context, req: SignedRequest, station_code: str, shipment_code: str, scanned: str,
                  weight_g: float, location: str) -> PlasmaUnit:
    p = ctx.signed_in()
    scanned = scanned.strip()

    async def clean() -> tuple[int, int]:
        if not location.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "give the storage location (freezer-rack-position)")
        async with ctx.db.read() as s:
            shipment = (await s.execute(select(PlasmaShipment).join(PlasmaStation).where(
                PlasmaStation.code == station_code, PlasmaShipment.code == shipment_code))).scalar_one_or_none()
            unit = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number == scanned)
                                    .options(selectinload(PlasmaUnit.station)))).scalar_one_or_none()
        if shipment is None:
            raise await _refuse(ctx, ErrorCode.NOT_FOUND, f"no shipment {shipment_code} from {station_code}",
                                scanned, shipment_code)
        if unit is None:
            raise await _refuse(ctx, ErrorCode.NOT_FOUND, f"unknown barcode {scanned}: not on any manifest",
                                scanned, shipment_code)
        if unit.shipment_id != shipment.id:
            raise await _refuse(ctx, ErrorCode.CONFLICT, f"{scanned} is not on the manifest of shipment "
                                f"{shipment_code}", scanned, shipment_code)
        if unit.status != "IN_TRANSIT":
            raise await _refuse(ctx, ErrorCode.CONFLICT, f"{scanned} was already received ({unit.material_code})",
                                scanned, shipment_code)
        if abs(weight_g - unit.weight_g) > unit.weight_g * WEIGHT_TOLERANCE:
            raise await _refuse(ctx, ErrorCode.VALIDATION_FAILED, f"measured {weight_g:.1f} g differs from the "
                                f"declared {unit.weight_g:.1f} g by more than {WEIGHT_TOLERANCE:.0%}", scanned,
                                shipment_code)
        return unit.id, shipment.id

    async def save(s: AsyncSession, ids: tuple[int, int], signatures: Signatures[tuple[int, int]]) -> int:
        unit_id, shipment_id = ids
        row = await s.get(PlasmaUnit, unit_id)
        assert row is not None
        if row.status != "IN_TRANSIT":  # another scan won meanwhile
            raise AppError(ErrorCode.CONFLICT, f"{scanned} was already received")
        now = utcnow()
        row.material_code = await codes.next_code(s, "PL", now.date())
        row.status, row.received_at, row.received_by = "QUARANTINED", now, p.username
        row.received_weight_g, row.storage_location = round(weight_g, 1), location.strip()
        ship = await s.get(PlasmaShipment, shipment_id)
        assert ship is not None
        ship.status = "RECEIVING"
        await s.flush()
        await signatures.bind(s, "plasma_unit", str(row.id),
                              {"donationNumber": row.donation_number, "materialCode": row.material_code,
                               "status": row.status, "location": row.storage_location})
        return row.id

    received = await perform(ctx, req, reason=f"receipt of shipment {shipment_code}", clean=clean, save=save,
                             meanings=("PERFORMED",))
    async with ctx.db.read() as s:
        done = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.id == received).options(
            selectinload(PlasmaUnit.station), selectinload(PlasmaUnit.donor), selectinload(PlasmaUnit.pool))
        )).scalar_one()
    return done


async def close(ctx: Context, req: SignedRequest, station_code: str, shipment_code: str) -> PlasmaShipment:
    """The receipt and acceptance record (PL-07): declared, received, missing units and refused scans.

    Units never scanned are marked MISSING and the station is told; the record is signed.
    """
    p = ctx.signed_in()

    async def clean() -> int:
        async with ctx.db.read() as s:
            shipment = (await s.execute(select(PlasmaShipment).join(PlasmaStation).where(
                PlasmaStation.code == station_code, PlasmaShipment.code == shipment_code))).scalar_one_or_none()
        if shipment is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no shipment {shipment_code} from {station_code}")
        if shipment.closed_at is not None:
            raise AppError(ErrorCode.CONFLICT, f"receipt of {shipment_code} was closed already")
        return shipment.id

    async def save(s: AsyncSession, shipment_id: int, signatures: Signatures[int]) -> PlasmaShipment:
        ship = await s.get(PlasmaShipment, shipment_id)
        assert ship is not None
        units = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.shipment_id == ship.id))).scalars().all()
        missing = sorted(u.donation_number for u in units if u.status == "IN_TRANSIT")
        for u in units:
            if u.status == "IN_TRANSIT":
                u.status = "MISSING"
        refused = (await s.execute(select(AuditEvent.changes).where(
            AuditEvent.action == "RECEIPT_REJECTED", AuditEvent.entity == "plasma_unit"))).scalars().all()
        now = utcnow()
        ship.status, ship.closed_at, ship.closed_by = "RECEIVED", now, p.username
        ship.declared_count, ship.received_count = len(units), len(units) - len(missing)
        ship.missing = missing
        ship.refused_scans = sorted({c["scanned"] for c in refused if c.get("shipment") == shipment_code})
        if missing:
            s.add(StationNotice(station_id=ship.station_id, kind=NoticeKind.RECEIPT_DISCREPANCY,
                                reason=f"shipment {shipment_code}: {len(missing)} declared units not received: "
                                       + ", ".join(missing[:20]), created_at=now))
        await s.flush()
        await signatures.bind(s, "plasma_shipment", str(ship.id), {
            "shipment": shipment_code, "declared": ship.declared_count, "received": ship.received_count,
            "missing": missing, "refusedScans": ship.refused_scans})
        return ship

    return await perform(ctx, req, reason=f"receipt of shipment {shipment_code} closed", clean=clean, save=save,
                         meanings=("PERFORMED",))


def label(u: PlasmaUnit) -> labels.Label:
    """The printable label of a received unit (PR-13), from its row with the station loaded."""
    assert u.material_code is not None
    return labels.plasma_label(u.material_code, u.donation_number, u.station.name, u.collected_on,
                               u.received_weight_g or u.weight_g)


async def unit_label(ctx: Context, material_code: str) -> labels.Label:
    """The label of a received unit, for (re)printing."""
    if ctx.signed_in().is_scoped:  # labels are internal: refused before the lookup, so nothing leaks
        raise AppError(ErrorCode.OUT_OF_SCOPE, "labels are not within your access")
    async with ctx.db.read() as s:
        u = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.material_code == material_code)
                             .options(selectinload(PlasmaUnit.station)))).scalar_one_or_none()
    if u is None:
        raise AppError(ErrorCode.NOT_FOUND, "no such material code")
    return label(u)
