"""Signed checkpoints of the audit chain's head, so a cut cannot go unseen (IT-03).

The hash chain shows an event changed or removed in the middle, but not the newest events deleted, the
whole chain recomputed, or the store rolled back to an older copy. A checkpoint is the head's id and hash
signed with the organisation's key; it is written on a schedule and at every release, into this table
(append-only, as the audit table) and onto a file outside the database. `audit verify` checks the chain
against every checkpoint it finds in either place (resolvers/checkpoints.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy import String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from records.audit import AuditEvent, iso
from records.base import Base, BigId


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    head_id: Mapped[int]
    head_hash: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200))
    algorithm: Mapped[str] = mapped_column(String(16))
    certificate_fingerprint: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)  # base64 over signed_bytes()


def signed_bytes(head_id: int, head_hash: str, written_at: datetime | str, reason: str) -> bytes:
    """What the organisation signs: RFC 8785 canonical JSON of the head and the moment."""
    at = written_at if isinstance(written_at, str) else iso(written_at)
    return bytes(rfc8785.dumps({"headId": head_id, "headHash": head_hash, "writtenAt": at, "reason": reason}))


def as_line(c: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as one JSON line of the file kept outside the database."""
    return {"headId": c.head_id, "headHash": c.head_hash, "writtenAt": iso(c.written_at), "reason": c.reason,
            "algorithm": c.algorithm, "certificateFingerprint": c.certificate_fingerprint,
            "signature": c.signature}


async def head(s: AsyncSession) -> tuple[int, str] | None:
    """The newest event's id and hash."""
    row = (await s.execute(select(AuditEvent.id, AuditEvent.hash).where(
        AuditEvent.id == select(func.max(AuditEvent.id)).scalar_subquery()))).first()
    return (row[0], row[1]) if row else None
