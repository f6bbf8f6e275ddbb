"""Training records (QM-09): who was trained on which version of a controlled document, by whom, when,
with the assessment's result and until when the training is valid. A person is trained on a version
when a PASSED record of it is valid today; training on an older version does not count for a newer one."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId

# The setting that switches the block on signing a phase without valid training on its SOP.
ENFORCED_KEY = "training.enforced"


class Assessment(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"


class TrainingState(StrEnum):
    """A person's training on one document version today."""

    VALID = "VALID"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    MISSING = "MISSING"


class TrainingRecord(Base):
    __tablename__ = "training_record"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    document_code: Mapped[str] = mapped_column(String(32), index=True)
    document_version: Mapped[int]
    trained_at: Mapped[datetime]
    trainer: Mapped[str] = mapped_column(String(64))  # who trained and assessed (the signer)
    assessment: Mapped[str] = mapped_column(String(8))
    valid_until: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    recorded_at: Mapped[datetime]
