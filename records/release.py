"""Release documents: the batch-release summary PDF, signed by the organisation and then the QP."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId, utcnow


class DocumentStatus(StrEnum):
    PREPARED = "PREPARED"  # organisation-signed, waiting for the QP
    RELEASED = "RELEASED"


class ReleaseDocument(Base):
    __tablename__ = "release_document"
    __audited__ = True
    # Large values are audited by their SHA-256, not copied into the trail.
    __audit_digest__ = frozenset({"pdf", "prepared_state"})

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_id: Mapped[str] = mapped_column(String(40), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    prepared_by: Mapped[str] = mapped_column(String(64))
    prepared_at: Mapped[datetime] = mapped_column(default=utcnow)
    prepared_state: Mapped[str | None] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    released_at: Mapped[datetime | None]
