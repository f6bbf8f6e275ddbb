"""Signed test reports (QM-02, IT-24): a reviewed test record rendered as a PDF, sealed with the
organisation's key and signed PAdES by the QC person who approves it, whose key never leaves the client.

A report is never changed. A corrected result flags the issued report REISSUE_REQUIRED; once the record is
reviewed again a new version is issued that names the one it replaces, which then becomes SUPERSEDED.
Both stay readable. `issued_key` ("record:version") is set when a version is issued and is unique.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from records.audit import PendingEvent, add
from records.base import Base, BigId, utcnow


class ReportStatus(StrEnum):
    PREPARED = "PREPARED"  # organisation-sealed, waiting for the approver's signature
    ISSUED = "ISSUED"  # the current version
    REISSUE_REQUIRED = "REISSUE_REQUIRED"  # issued, but a result in it was corrected since
    SUPERSEDED = "SUPERSEDED"  # a newer version was issued
    DISCARDED = "DISCARDED"  # prepared, never signed: a newer preparation replaced it


class Conclusion(StrEnum):
    COMPLIES = "COMPLIES"
    DOES_NOT_COMPLY = "DOES_NOT_COMPLY"


class TestReport(Base):
    __test__ = False
    __tablename__ = "test_report"
    __audited__ = True
    __audit_digest__ = frozenset({"pdf", "prepared_state"})  # audited by their SHA-256

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_id: Mapped[str] = mapped_column(String(40), unique=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("test_record.id"), index=True)
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    conclusion: Mapped[str] = mapped_column(String(16))
    prepared_by: Mapped[str] = mapped_column(String(64))
    prepared_at: Mapped[datetime] = mapped_column(default=utcnow)
    prepared_state: Mapped[str | None] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    issued_by: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime | None]
    issued_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("test_report.id"))
    reissue_reason: Mapped[str | None] = mapped_column(Text)  # the corrections that made a new version
    flagged_at: Mapped[datetime | None]  # when a correction made it REISSUE_REQUIRED
    superseded_at: Mapped[datetime | None]


async def flag_for_reissue(s: AsyncSession, record_id: int, reason: str) -> TestReport | None:
    """A result of this record was corrected: its issued report no longer tells the truth (IT-24)."""
    issued = (await s.execute(select(TestReport).where(TestReport.record_id == record_id,
                                                       TestReport.status == ReportStatus.ISSUED))).scalar_one_or_none()
    if issued is None:
        return None
    issued.status, issued.flagged_at = ReportStatus.REISSUE_REQUIRED.value, utcnow()
    await s.flush()
    await add(s, PendingEvent("REPORT_REISSUE_REQUIRED", "test_report", str(issued.id), {
        "documentId": issued.document_id, "version": issued.version, "record": record_id}, reason))
    return issued
