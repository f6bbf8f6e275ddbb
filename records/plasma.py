"""Source plasma and what it becomes: stations, donors, units (Appendix B.3), pools, batches, samples."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, ForeignKey, Numeric, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from records.base import Base, BigId


class PlasmaStation(Base):
    __tablename__ = "plasma_station"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    province: Mapped[str] = mapped_column(String(64))
    licence_number: Mapped[str] = mapped_column(String(64))


class Donor(Base):
    __tablename__ = "donor"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    card_number: Mapped[str] = mapped_column(String(32), unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("plasma_station.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    blood_type: Mapped[str] = mapped_column(String(4))
    # ACTIVE, DEFERRED or PERMANENTLY_DEFERRED
    status: Mapped[str] = mapped_column(String(24), default="ACTIVE")
    status_changed_at: Mapped[datetime | None]
    station: Mapped[PlasmaStation] = relationship()


class Pool(Base):
    __tablename__ = "pool"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    product: Mapped[str] = mapped_column(String(64))
    pooled_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="OPEN")
    units: Mapped[list[PlasmaUnit]] = relationship(back_populates="pool")


class CodeCounter(Base):
    """Last serial issued per material-code prefix (type + YYMM), for AAYYMMBBBBB codes (PR-12)."""

    __tablename__ = "code_counter"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int]


class PlasmaShipment(Base):
    """A consignment of plasma units declared by a station before it arrives."""

    __tablename__ = "plasma_shipment"
    __audited__ = True
    __table_args__ = (UniqueConstraint("station_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    station_id: Mapped[int] = mapped_column(ForeignKey("plasma_station.id"), index=True)
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime]
    # DECLARED, RECEIVING, RECEIVED
    status: Mapped[str] = mapped_column(String(16), default="DECLARED")
    # The receipt and acceptance record, written when receipt is closed (PL-07).
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    declared_count: Mapped[int | None]
    received_count: Mapped[int | None]
    missing: Mapped[list[str] | None] = mapped_column(JSON)
    refused_scans: Mapped[list[str] | None] = mapped_column(JSON)
    station: Mapped[PlasmaStation] = relationship()


class PlasmaUnit(Base):
    """One donation. Appendix B.3: XJBH donation number, KH card, XX blood type, CXJRQ date, XJZL weight."""

    __tablename__ = "plasma_unit"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    donation_number: Mapped[str] = mapped_column(String(32), unique=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donor.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("plasma_station.id"), index=True)
    # Internal material code AAYYMMBBBBB, given at receipt.
    material_code: Mapped[str | None] = mapped_column(String(11), unique=True)
    blood_type: Mapped[str] = mapped_column(String(4))
    collected_on: Mapped[date]
    weight_g: Mapped[float] = mapped_column(Numeric(8, 1, asdecimal=False))
    # IN_TRANSIT, RECEIVED, QUARANTINED, RELEASED, BLOCKED, POOLED, DISPOSED
    status: Mapped[str] = mapped_column(String(16), default="IN_TRANSIT")
    received_at: Mapped[datetime | None]
    storage_location: Mapped[str | None] = mapped_column(String(64))
    received_weight_g: Mapped[float | None] = mapped_column(Numeric(8, 1, asdecimal=False))
    received_by: Mapped[str | None] = mapped_column(String(64))
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pool.id"), index=True)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("plasma_shipment.id"), index=True)
    donor: Mapped[Donor] = relationship()
    station: Mapped[PlasmaStation] = relationship()
    pool: Mapped[Pool | None] = relationship(back_populates="units")


batch_pool = Table(
    "batch_pool",
    Base.metadata,
    Column("batch_id", ForeignKey("batch.id"), primary_key=True),
    Column("pool_id", ForeignKey("pool.id"), primary_key=True, index=True),
)


class Batch(Base):
    __tablename__ = "batch"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_number: Mapped[str] = mapped_column(String(32), unique=True)
    product: Mapped[str] = mapped_column(String(64))
    # PLANNED, IN_PROGRESS, COMPLETED, UNDER_REVIEW, RELEASED, REJECTED
    status: Mapped[str] = mapped_column(String(16), default="PLANNED")
    started_at: Mapped[datetime | None]
    expiry_date: Mapped[date | None]
    pools: Mapped[list[Pool]] = relationship(secondary=batch_pool)


class Sample(Base):
    __tablename__ = "sample"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # RETEST, RETAINED, IPC, RELEASE, ENVIRONMENT, WATER
    kind: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    plasma_unit_id: Mapped[int | None] = mapped_column(ForeignKey("plasma_unit.id"), index=True)
    taken_at: Mapped[datetime]
    taken_by: Mapped[str] = mapped_column(String(64))
    storage_location: Mapped[str | None] = mapped_column(String(64))
    retain_until: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="TAKEN")


class StationNotice(Base):
    """A message from the plant to a plasma station (unqualified plasma, donor deferral, retest result),
    tracked until the station acknowledges it (PL-14, PL-19)."""

    __tablename__ = "station_notice"
    __audited__ = True
    __audit_reason_required__ = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("plasma_station.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    donation_number: Mapped[str | None] = mapped_column(String(32))
    donor_card_number: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))


class RetestResult(Base):
    """One retest of one donation (PL-13): test item, result, method and kit lot, instrument, analyst,
    time; reviewed by a second person before it decides the unit's fate."""

    __tablename__ = "retest_result"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("plasma_unit.id"), index=True)
    test: Mapped[str] = mapped_column(String(16))
    # NEGATIVE or REACTIVE; ALT also carries its value in U/L
    result: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Numeric(10, 2, asdecimal=False))
    method: Mapped[str] = mapped_column(String(64))
    kit_lot: Mapped[str] = mapped_column(String(32))
    instrument: Mapped[str] = mapped_column(String(64))
    analyst: Mapped[str] = mapped_column(String(64))
    tested_at: Mapped[datetime]
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    # PLANT (the manufacturer's retest) or STATION (the collecting station's result, sent to us)
    source: Mapped[str] = mapped_column(String(8), default="PLANT", server_default="PLANT")
