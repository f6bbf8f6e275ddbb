"""Source plasma and what it becomes: stations, donors, units (Appendix B.3), pools, batches, samples."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, ForeignKey, Numeric, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from records.base import Base, BigId

if TYPE_CHECKING:
    from records.recipe import Recipe


class DonorStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DEFERRED = "DEFERRED"
    PERMANENTLY_DEFERRED = "PERMANENTLY_DEFERRED"


class Deferral(StrEnum):
    """The donor statuses a deferral sets (PL-19)."""

    DEFERRED = "DEFERRED"
    PERMANENTLY_DEFERRED = "PERMANENTLY_DEFERRED"


class NoticeKind(StrEnum):
    """What a notice to a plasma station is about."""

    RECEIPT_DISCREPANCY = "RECEIPT_DISCREPANCY"
    DONOR_DEFERRED = "DONOR_DEFERRED"
    UNQUALIFIED_UNIT = "UNQUALIFIED_UNIT"


class PoolStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    BLOCKED = "BLOCKED"  # a reactive test of the pool (QC-13): it starts no batch


class ShipmentStatus(StrEnum):
    """A station's declared consignment: DECLARED, RECEIVING once the first unit is scanned, RECEIVED."""

    DECLARED = "DECLARED"
    RECEIVING = "RECEIVING"
    RECEIVED = "RECEIVED"


class UnitStatus(StrEnum):
    """A plasma unit's place in its life: in transit, received, in quarantine, released by QA, blocked
    (reactive retest, lookback, deferral), pooled into production, or disposed."""

    IN_TRANSIT = "IN_TRANSIT"
    RECEIVED = "RECEIVED"
    QUARANTINED = "QUARANTINED"
    RELEASED = "RELEASED"
    BLOCKED = "BLOCKED"
    POOLED = "POOLED"
    DISPOSED = "DISPOSED"


class BatchStatus(StrEnum):
    PLANNED = "PLANNED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    UNDER_REVIEW = "UNDER_REVIEW"
    RELEASED = "RELEASED"
    REJECTED = "REJECTED"

    def can_become(self, new: BatchStatus) -> bool:
        """The allowed moves: production starts and completes, QA reviews, then releases or rejects
        (a reject is possible at any point before release)."""
        return new in _BATCH_MOVES.get(self, ())


_BATCH_MOVES: dict[BatchStatus, tuple[BatchStatus, ...]] = {
    BatchStatus.PLANNED: (BatchStatus.IN_PROGRESS, BatchStatus.REJECTED),
    BatchStatus.IN_PROGRESS: (BatchStatus.COMPLETED, BatchStatus.REJECTED),
    BatchStatus.COMPLETED: (BatchStatus.UNDER_REVIEW, BatchStatus.REJECTED),
    BatchStatus.UNDER_REVIEW: (BatchStatus.RELEASED, BatchStatus.REJECTED),
}


class SampleKind(StrEnum):
    RETEST = "RETEST"
    RETAINED = "RETAINED"
    IPC = "IPC"
    RELEASE = "RELEASE"
    ENVIRONMENT = "ENVIRONMENT"
    WATER = "WATER"


class SampleStatus(StrEnum):
    """TAKEN, RECEIVED in the lab, STORED; RETAINED (kept in the retained-sample store); leftovers DISPOSED,
    retained samples DESTROYED after their retention (records/sample_life.py has the moves)."""

    TAKEN = "TAKEN"
    RECEIVED = "RECEIVED"
    STORED = "STORED"
    RETAINED = "RETAINED"
    DISPOSED = "DISPOSED"
    DESTROYED = "DESTROYED"


class RetestItem(StrEnum):
    """The pharmacopoeia's plasma tests (PL-13)."""

    HBSAG = "HBSAG"
    ANTI_HCV = "ANTI_HCV"
    ANTI_HIV = "ANTI_HIV"
    SYPHILIS = "SYPHILIS"
    ALT = "ALT"
    NAT = "NAT"


class RetestOutcome(StrEnum):
    NEGATIVE = "NEGATIVE"
    REACTIVE = "REACTIVE"


class ResultSource(StrEnum):
    """PLANT: the manufacturer's retest; STATION: the collecting station's result, sent to us."""

    PLANT = "PLANT"
    STATION = "STATION"


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
    status: Mapped[str] = mapped_column(String(24), default=DonorStatus.ACTIVE.value)
    status_changed_at: Mapped[datetime | None]
    station: Mapped[PlasmaStation] = relationship()


class Pool(Base):
    __tablename__ = "pool"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    product: Mapped[str] = mapped_column(String(64))
    pooled_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=PoolStatus.OPEN.value)
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
    status: Mapped[str] = mapped_column(String(16), default=ShipmentStatus.DECLARED.value)
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
    status: Mapped[str] = mapped_column(String(16), default=UnitStatus.IN_TRANSIT.value)
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
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.PLANNED.value)
    started_at: Mapped[datetime | None]
    expiry_date: Mapped[date | None]
    # The approved master recipe version it is made by (none for batches from before recipes).
    recipe_id: Mapped[int | None] = mapped_column(ForeignKey("recipe.id"), index=True)
    pools: Mapped[list[Pool]] = relationship(secondary=batch_pool)
    recipe: Mapped[Recipe | None] = relationship()


class Sample(Base):
    __tablename__ = "sample"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # SampleKind
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    plasma_unit_id: Mapped[int | None] = mapped_column(ForeignKey("plasma_unit.id"), index=True)
    # A sample of a production pool, tested by the pool's items (QC-13).
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pool.id"), index=True)
    taken_at: Mapped[datetime]
    taken_by: Mapped[str] = mapped_column(String(64))
    storage_location: Mapped[str | None] = mapped_column(String(64))
    retain_until: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default=SampleStatus.TAKEN.value)
    # Appendix B.10-B.12 (records/sample_life.py keeps each step as an event): name, amount, where from.
    name: Mapped[str | None] = mapped_column(String(120))
    quantity: Mapped[float | None] = mapped_column(Numeric(12, 3, asdecimal=False))
    unit: Mapped[str | None] = mapped_column(String(16))
    pieces: Mapped[int | None]
    # The process step or storage location sampled (PR-27).
    sampled_from: Mapped[str | None] = mapped_column(String(120))
    # QC-16: the specimen tube's code as scanned and whether the bag was intact.
    tube_code: Mapped[str | None] = mapped_column(String(32))
    bag_intact: Mapped[bool | None]
    conditions: Mapped[str | None] = mapped_column(String(120))
    temperature_low: Mapped[float | None] = mapped_column(Numeric(6, 1, asdecimal=False))
    temperature_high: Mapped[float | None] = mapped_column(Numeric(6, 1, asdecimal=False))
    stored_at: Mapped[datetime | None]
    equipment_code: Mapped[str | None] = mapped_column(String(32))


class StationNotice(Base):
    """A message from the plant to a plasma station (unqualified plasma, donor deferral, retest result),
    tracked until the station acknowledges it (PL-14, PL-19)."""

    __tablename__ = "station_notice"
    __audited__ = True
    __audit_reason_required__ = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("plasma_station.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # NoticeKind
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
    test: Mapped[str] = mapped_column(String(16))  # RetestItem
    # RetestOutcome; ALT also carries its value in U/L
    result: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Numeric(10, 2, asdecimal=False))
    method: Mapped[str] = mapped_column(String(64))
    kit_lot: Mapped[str] = mapped_column(String(32))
    instrument: Mapped[str] = mapped_column(String(64))
    analyst: Mapped[str] = mapped_column(String(64))
    tested_at: Mapped[datetime]
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(8), default=ResultSource.PLANT.value, server_default="PLANT")
