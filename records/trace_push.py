"""Deliveries to the blood products traceability system after release (QM-03).

Written in the release's own transaction (an outbox), so a released batch is never left unannounced;
a sender posts each one until the receiver accepts it, with backoff, and raises an INTERFACE alarm at the
first failure that clears when it is delivered. The payload and its SHA-256 never change after release.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class PushStatus(StrEnum):
    PENDING = "PENDING"  # not tried yet
    FAILED = "FAILED"  # tried, refused or unreachable; retried at next_attempt_at
    SENT = "SENT"  # the receiver accepted it


class TracePush(Base):
    __tablename__ = "trace_push"
    __audited__ = True
    __audit_reason_required__ = False
    __audit_digest__ = frozenset({"payload"})  # audited by its SHA-256

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    batch_number: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None]
    sent_at: Mapped[datetime | None]
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarm.id"))
