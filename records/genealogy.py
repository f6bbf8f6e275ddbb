"""What plasma becomes after the pool: intermediates, final lots, packaging units and shipments.

Packaging units carry drug traceability codes (PR-30) and their aggregation: a unit sits in one
carton, a carton in one case (parent_id, enforced single parent by the column itself).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from records.base import Base, BigId


class LotStatus(StrEnum):
    IN_PRODUCTION = "IN_PRODUCTION"
    QUARANTINE = "QUARANTINE"
    RELEASED = "RELEASED"
    REJECTED = "REJECTED"
    RECALLED = "RECALLED"


class PackagingLevel(StrEnum):
    """The drug traceability code hierarchy: a unit sits in a carton, a carton in a case."""

    UNIT = "UNIT"
    CARTON = "CARTON"
    CASE = "CASE"

    def parent(self) -> PackagingLevel | None:
        """The level a unit of this level is packed into; None for a case."""
        return {PackagingLevel.UNIT: PackagingLevel.CARTON, PackagingLevel.CARTON: PackagingLevel.CASE}.get(self)


class MovementKind(StrEnum):
    """B.5: what happened to an intermediate's stock."""

    STOCK_IN = "STOCK_IN"  # put away in a registered location (RKSJ, RKR, RKWZ)
    STOCK_OUT = "STOCK_OUT"  # taken out of store (CKSJ, CKR)
    SAMPLE = "SAMPLE"  # a sample taken (QYL, QYR, QYSJ)
    CHARGE = "CHARGE"  # charged into a phase (TLL, TLSJ, TLR)
    RETURN = "RETURN"  # what was not charged, back to store (TKSJ, TKR)


class Intermediate(Base):
    """A bulk or fraction made from a production batch (e.g. Fraction V paste, albumin bulk): B.5 name
    ZJPMC (`kind`), batch ZJPPH, location CCWZ, expiry YXQZ, quality status ZLZT."""

    __tablename__ = "intermediate"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str | None] = mapped_column(String(32))
    # Recorded through the API (recordIntermediate): the recipe's code for it, the phase that made it,
    # the amount and what is left, the storage conditions and period, the quality status, where it is.
    material_code: Mapped[str | None] = mapped_column(String(32))
    phase_code: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[float | None] = mapped_column(Float)
    remaining: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))
    storage_conditions: Mapped[str | None] = mapped_column(String(100))
    expires_on: Mapped[date | None]
    status: Mapped[str | None] = mapped_column(String(16))  # LotStatus: QUARANTINE, RELEASED or REJECTED
    location: Mapped[str | None] = mapped_column(String(64), index=True)  # None while out of store
    made_at: Mapped[datetime | None]
    made_by: Mapped[str | None] = mapped_column(String(64))


class IntermediateMovement(Base):
    """One movement of an intermediate's stock (B.5), with who did it and, where asked, who checked."""

    __tablename__ = "intermediate_movement"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    intermediate_id: Mapped[int] = mapped_column(ForeignKey("intermediate.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(64))
    reviewer: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[float | None] = mapped_column(Float)
    # CHARGE: the batch and phase it went into.
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    phase_code: Mapped[str | None] = mapped_column(String(32))


class FinalLot(Base):
    __tablename__ = "final_lot"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lot_number: Mapped[str] = mapped_column(String(32), unique=True)
    intermediate_id: Mapped[int] = mapped_column(ForeignKey("intermediate.id"), index=True)
    product: Mapped[str] = mapped_column(String(64), index=True)
    filled_on: Mapped[date | None]
    expiry_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default=LotStatus.QUARANTINE.value)


class Distributor(Base):
    __tablename__ = "distributor"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Shipment(Base):
    __tablename__ = "shipment"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributor.id"), index=True)
    shipped_at: Mapped[datetime]
    distributor: Mapped[Distributor] = relationship()


class PackagingUnit(Base):
    """A sales packaging unit with its drug traceability code: UNIT, CARTON or CASE."""

    __tablename__ = "packaging_unit"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    level: Mapped[str] = mapped_column(String(8))  # PackagingLevel
    final_lot_id: Mapped[int] = mapped_column(ForeignKey("final_lot.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("packaging_unit.id"), index=True)
    # Set on the unit that was shipped (usually the case); its children travel with it.
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"), index=True)
