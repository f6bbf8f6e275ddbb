"""The electronic batch packaging record (Appendix B.9; PR-59..PR-69): the pre-packaging check, the
packaging materials issued from released lots of the approved artwork, the visual inspection, the
traceability codes the line reports case by case, and the reconciliation at close."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class PackagingStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class PackagingRecord(Base):
    __tablename__ = "packaging_record"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    final_lot_id: Mapped[int] = mapped_column(ForeignKey("final_lot.id"), unique=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    specification: Mapped[str] = mapped_column(String(100))  # B.9 BZGG, the packaged specification
    units_per_carton: Mapped[int]
    cartons_per_case: Mapped[int]
    # The 7-digit product identifier every traceability code of this product begins with.
    product_identifier: Mapped[str] = mapped_column(String(7))
    # The pre-packaging check (PR-59): [{"item", "result", "note"}], made by the operator, verified.
    checklist: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(64))
    checked_by: Mapped[str] = mapped_column(String(64))
    # Visual inspection (透检, PR-61): containers inspected and rejected.
    inspected: Mapped[int | None]
    rejected: Mapped[int | None]
    inspection_notes: Mapped[str | None] = mapped_column(Text)
    inspected_by: Mapped[str | None] = mapped_column(String(64))
    inspected_at: Mapped[datetime | None]
    units_packed: Mapped[int] = mapped_column(default=0)
    cases_packed: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(8), default=PackagingStatus.OPEN.value)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    # Per packaging material: issued, used, destroyed, returned and whether they add up (PR-69).
    reconciliation: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    yield_pct: Mapped[float | None] = mapped_column(Float)
    exception: Mapped[bool] = mapped_column(Boolean, default=False)


class PackagingIssue(Base):
    """A packaging material lot issued to a packaging record (PR-60, PR-65)."""

    __tablename__ = "packaging_issue"
    __audited__ = True
    __table_args__ = (UniqueConstraint("record_id", "material_lot_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("packaging_record.id"), index=True)
    material_lot_id: Mapped[int] = mapped_column(ForeignKey("material_lot.id"), index=True)
    issued: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(64))
