"""Change control (QM-10): a change request with its description, reason and impact assessment, approved
or rejected by QA, implemented and closed, each step signed; linked to the documents, specifications and
recipes it changes. OPEN -> APPROVED -> IMPLEMENTED -> CLOSED, or OPEN -> REJECTED."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class ChangeStatus(StrEnum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    IMPLEMENTED = "IMPLEMENTED"
    CLOSED = "CLOSED"


class ChangeTarget(StrEnum):
    """What a change request may change."""

    DOCUMENT = "DOCUMENT"
    SPECIFICATION = "SPECIFICATION"
    RECIPE = "RECIPE"


class ChangeRequest(Base):
    __tablename__ = "change_request"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # CC-<year>-<n>
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    impact: Mapped[str] = mapped_column(Text)  # the impact assessment
    # What it changes: [{"kind": DOCUMENT|SPECIFICATION|RECIPE, "code": ...}].
    targets: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default=ChangeStatus.OPEN.value)
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decision_comment: Mapped[str | None] = mapped_column(Text)
    implemented_by: Mapped[str | None] = mapped_column(String(64))
    implemented_at: Mapped[datetime | None]
    implementation: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    closure: Mapped[str | None] = mapped_column(Text)
