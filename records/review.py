"""QA's review of a batch record by exception (PR-70..PR-72): each exception of the batch reviewed with
a signed conclusion, and the review of the whole record concluded with QA's opinion before release."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class ReviewKind(StrEnum):
    """What an exception of a batch is."""

    PHASE_EXCEPTION = "PHASE_EXCEPTION"  # a phase with a value outside its limits
    ALARM = "ALARM"  # an alarm of the batch's phases, or in its rooms while it ran
    DEVIATION = "DEVIATION"
    MANUAL_ENTRY = "MANUAL_ENTRY"  # a value entered by hand, a weight read by a person, a code typed
    DATA_CHANGE = "DATA_CHANGE"  # a change to a recorded value after it was recorded (the audit trail)


class ReviewedItem(Base):
    """One exception reviewed: QA's conclusion, signed REVIEWED."""

    __tablename__ = "batch_review_item"
    __audited__ = True
    __table_args__ = (UniqueConstraint("batch_id", "item_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    conclusion: Mapped[str] = mapped_column(Text)
    reviewed_by: Mapped[str] = mapped_column(String(64))
    reviewed_at: Mapped[datetime]


class BatchReview(Base):
    """QA's opinion on the whole batch record, once every exception is reviewed (PR-72)."""

    __tablename__ = "batch_review"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), unique=True)
    opinion: Mapped[str] = mapped_column(Text)
    items: Mapped[int]
    concluded_by: Mapped[str] = mapped_column(String(64))
    concluded_at: Mapped[datetime]
