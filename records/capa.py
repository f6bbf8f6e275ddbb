"""Corrective and preventive actions (QC-26, QM-10): one action with its owner and due date, linked to the
OOS or the deviation it answers. OPEN -> DONE when the owner signs it done -> CLOSED when QA (not the owner)
signs the effectiveness check EFFECTIVE; NOT_EFFECTIVE sends it back to OPEN, the check kept in the audit
trail. Overdue: not yet done and past its due date."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class CapaKind(StrEnum):
    CORRECTIVE = "CORRECTIVE"
    PREVENTIVE = "PREVENTIVE"


class CapaStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"  # the owner signed the action done; its effectiveness is not checked yet
    CLOSED = "CLOSED"  # checked effective


class Effectiveness(StrEnum):
    EFFECTIVE = "EFFECTIVE"
    NOT_EFFECTIVE = "NOT_EFFECTIVE"


class Capa(Base):
    __tablename__ = "capa"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    action: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(8), index=True, default=CapaStatus.OPEN.value)
    oos_id: Mapped[int | None] = mapped_column(ForeignKey("oos_record.id"), index=True)
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviation.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    done_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None]
    done_note: Mapped[str | None] = mapped_column(Text)
    effectiveness: Mapped[str | None] = mapped_column(String(16))
    checked_by: Mapped[str | None] = mapped_column(String(64))
    checked_at: Mapped[datetime | None]
    check_note: Mapped[str | None] = mapped_column(Text)


def content(c: Capa) -> dict[str, Any]:
    """What a signature on a CAPA step is bound to."""
    return {"number": c.number, "kind": c.kind, "action": c.action, "owner": c.owner,
            "dueDate": c.due_date.isoformat(), "status": c.status, "oos": c.oos_id, "deviation": c.deviation_id,
            "doneNote": c.done_note, "effectiveness": c.effectiveness, "checkNote": c.check_note}
