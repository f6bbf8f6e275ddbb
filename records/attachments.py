"""Files kept as evidence of a record (PR-03, PR-17): a photo of a balance's display, a printout, a
scan. Stored whole with their SHA-256, never changed; the records that rest on one name it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class Attachment(Base):
    __tablename__ = "attachment"
    __audited__ = True
    __audit_digest__ = frozenset({"data"})  # the audit trail keeps the file's digest, not its bytes

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    purpose: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
