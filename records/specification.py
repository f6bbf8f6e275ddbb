"""Electronic specifications of materials, intermediates and products (QC-03, QC-05), versioned.

A version's test items are one document kept as JSON (each item: name, method, unit, limits, internal
action limits, rounding rule), like a master recipe: approved as a whole and never changed after. Only the
status moves: DRAFT -> EFFECTIVE when QA approves it (another person than the author), and the version
effective before for the same subject -> SUPERSEDED. `effective_key` is set only while a version is effective,
and is unique, so the database itself keeps at most one effective version per subject.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class SpecificationStatus(StrEnum):
    DRAFT = "DRAFT"
    EFFECTIVE = "EFFECTIVE"
    SUPERSEDED = "SUPERSEDED"


class SubjectKind(StrEnum):
    MATERIAL = "MATERIAL"
    INTERMEDIATE = "INTERMEDIATE"
    PRODUCT = "PRODUCT"


class Specification(Base):
    __tablename__ = "specification"
    __audited__ = True
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), index=True)  # the specification's number
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_code: Mapped[str] = mapped_column(String(64), index=True)
    effective_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(12), default=SpecificationStatus.DRAFT.value)
    # "KIND:subject" while effective, else null: unique, so one effective version per subject.
    effective_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    change_note: Mapped[str] = mapped_column(Text)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("specification.id"))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    drafted_by: Mapped[str] = mapped_column(String(64))
    drafted_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None]
