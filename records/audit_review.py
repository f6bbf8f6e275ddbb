"""Reviews of the audit trail (IT-07..IT-10): who reviewed which trail, in which department and context, over
which period, what it held, the conclusion and the deviation a finding opened.

RELEASE reviews are written when QA concludes a batch's review by exception (resolvers/review.py), whose
items include every change of the batch's recorded values; PERIODIC, SELF_INSPECTION and INVESTIGATION
reviews of the system's own trail (sign-ins, accounts, roles, tokens, settings, policies) are signed by the
audit administrator or QA (resolvers/audit_review.py), every `audit.review.days` days.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class ReviewContext(StrEnum):
    RELEASE = "RELEASE"  # a batch's trail, before its release
    PERIODIC = "PERIODIC"
    SELF_INSPECTION = "SELF_INSPECTION"
    INVESTIGATION = "INVESTIGATION"


class ReviewConclusion(StrEnum):
    NO_ISSUE = "NO_ISSUE"
    ISSUE_FOUND = "ISSUE_FOUND"  # opens a deviation (IT-10)


class AuditReview(Base):
    __tablename__ = "audit_review"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    context: Mapped[str] = mapped_column(String(16), index=True)
    scope: Mapped[str] = mapped_column(String(64))  # "system" or "batch:<number>"
    period_from: Mapped[datetime]
    period_to: Mapped[datetime]
    reviewer: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(64))
    events: Mapped[int]  # events in the reviewed trail
    categories: Mapped[dict[str, Any]] = mapped_column(JSON)  # "entity ACTION": count
    conclusion: Mapped[str] = mapped_column(String(12))
    findings: Mapped[str] = mapped_column(Text)
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviation.id"))
    reviewed_at: Mapped[datetime]
