"""Raw materials, excipients and packaging materials (Appendix B.3, PR-10, PR-11) and their weighing
into a batch (Appendix B.4, PR-15..PR-20, PR-45, PR-46).

A material lot is received into QUARANTINE under a code from the material-code generator (the
label's TMBH), released or rejected by QA, and drawn down by each weighing. A weighing keeps the
scale as it was (name, code, calibration status, precision), tare, gross and net, where the gross
came from (the scale's tag, or a person with a reason and the evidence), the target and tolerance
of the recipe, the weigher and the verifier, and the code of the weighed portion's label.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class MaterialKind(StrEnum):
    """What a lot is; its first two letters are the code's material type (PR-12)."""

    RAW_MATERIAL = "RAW_MATERIAL"
    EXCIPIENT = "EXCIPIENT"
    PACKAGING = "PACKAGING"

    @property
    def code_type(self) -> str:
        return {"RAW_MATERIAL": "RM", "EXCIPIENT": "EX", "PACKAGING": "PK"}[self.value]


class MaterialStatus(StrEnum):
    """A lot's quality status: received into QUARANTINE, then RELEASED or REJECTED by QA."""

    QUARANTINE = "QUARANTINE"
    RELEASED = "RELEASED"
    REJECTED = "REJECTED"


class MaterialLot(Base):
    """B.3: name WLMC, material code WLBM, batch number WLPH, barcode TMBH (our `code`)."""

    __tablename__ = "material_lot"
    __audited__ = True
    __table_args__ = (UniqueConstraint("material_code", "lot_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    material_code: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    lot_number: Mapped[str] = mapped_column(String(64))
    supplier: Mapped[str] = mapped_column(String(200))
    supplier_lot: Mapped[str | None] = mapped_column(String(64))
    # The approved version of a printed packaging material's artwork (PR-60); None for the others.
    artwork_version: Mapped[str | None] = mapped_column(String(32))
    quantity: Mapped[float] = mapped_column(Float)
    remaining: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    manufactured_on: Mapped[date | None]
    expires_on: Mapped[date]
    received_at: Mapped[datetime]
    received_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=MaterialStatus.QUARANTINE.value)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)


class Weighing(Base):
    """B.4: scale CJMC/CJBH/CJZT/CJJD, product CPMC/CPGG/CPPH, material WLMC/WLPH, weight CLZL,
    weigher CLR, date CLRQ, label code TMBH."""

    __tablename__ = "weighing"
    __audited__ = True
    __table_args__ = (UniqueConstraint("batch_id", "phase_code", "material_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    phase_code: Mapped[str] = mapped_column(String(32))
    material_code: Mapped[str] = mapped_column(String(32))
    material_lot_id: Mapped[int] = mapped_column(ForeignKey("material_lot.id"), index=True)
    # How the lot's code reached us: scanned from its label, or typed (PR-14 flags the typed ones).
    scanned: Mapped[bool]
    scale_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    scale_calibration: Mapped[str] = mapped_column(String(64))
    scale_precision: Mapped[str | None] = mapped_column(String(32))
    tare: Mapped[float] = mapped_column(Float)
    gross: Mapped[float] = mapped_column(Float)
    net: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    target: Mapped[float] = mapped_column(Float)
    tolerance_pct: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(8))  # ValueSource: TWIN (the scale's tag) or MANUAL
    reading_at: Mapped[datetime | None]
    manual_reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(String(200))
    # PR-17: the photo or printout of the display a person read the weight from.
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    weighed_at: Mapped[datetime]
    weighed_by: Mapped[str] = mapped_column(String(64))
    verified_by: Mapped[str] = mapped_column(String(64))
    label_code: Mapped[str] = mapped_column(String(16), unique=True)
