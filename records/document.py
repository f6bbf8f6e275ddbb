"""Controlled documents (QM-04..QM-08): SOPs, specifications, methods, policies and forms, each kept in
numbered versions under its code, and the printed or exported copies issued of them.

A version moves DRAFT -> IN_REVIEW -> APPROVED -> EFFECTIVE -> SUPERSEDED (when a newer version becomes
effective) or WITHDRAWN, every step signed. A GMP document is reviewed by QA before it is approved (QM-04).
`effective_key` is the code while the version is effective, else null, and unique: the database itself
keeps at most one effective version per code. The content is text or a stored file named by its SHA-256.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class DocumentCategory(StrEnum):
    SOP = "SOP"
    SPECIFICATION = "SPECIFICATION"
    METHOD = "METHOD"
    POLICY = "POLICY"
    FORM = "FORM"
    RECORD = "RECORD"


class DocumentStatus(StrEnum):
    DRAFT = "DRAFT"
    IN_REVIEW = "IN_REVIEW"
    APPROVED = "APPROVED"
    EFFECTIVE = "EFFECTIVE"
    SUPERSEDED = "SUPERSEDED"
    WITHDRAWN = "WITHDRAWN"


class CopyKind(StrEnum):
    PRINTOUT = "PRINTOUT"
    EXPORT = "EXPORT"


class CopyStatus(StrEnum):
    ISSUED = "ISSUED"
    WITHDRAWN = "WITHDRAWN"
    DESTROYED = "DESTROYED"


class ControlledDocument(Base):
    __tablename__ = "controlled_document"
    __audited__ = True
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), index=True)  # the document's number, e.g. SOP-PR-012
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16), index=True)
    gmp: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(12), default=DocumentStatus.DRAFT.value)
    effective_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    change_note: Mapped[str] = mapped_column(Text)
    # The content: text, or a stored file (records/attachments.py) kept with its SHA-256.
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    content_sha256: Mapped[str] = mapped_column(String(64))
    # The roles that must be trained on the version before they act under it (the training matrix).
    roles: Mapped[list[str]] = mapped_column(JSON)
    review_due: Mapped[date | None]  # the next periodic review (QM-08)
    effective_date: Mapped[date | None]
    drafted_by: Mapped[str] = mapped_column(String(64))
    drafted_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None]
    made_effective_by: Mapped[str | None] = mapped_column(String(64))
    superseded_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None]
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class DocumentCopy(Base):
    """A printout or export of a document version (QM-05): its copy number, who holds it, and when it
    was withdrawn and (a printout) destroyed."""

    __tablename__ = "document_copy"
    __audited__ = True
    __table_args__ = (UniqueConstraint("document_id", "copy_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("controlled_document.id"), index=True)
    copy_number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(12))
    holder: Mapped[str] = mapped_column(String(200))  # the person or place it was distributed to
    status: Mapped[str] = mapped_column(String(12), default=CopyStatus.ISSUED.value)
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime]
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None]
    destroyed_by: Mapped[str | None] = mapped_column(String(64))
    destroyed_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
