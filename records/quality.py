"""Quality events: deviations (raised, investigated, closed with independent approval)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class DeviationStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class CheckResult(StrEnum):
    """One line-clearance checklist item: passed, failed or not applicable."""

    PASS = "PASS"  # noqa: S105 (a result, not a password)
    FAIL = "FAIL"
    NA = "NA"


class Deviation(Base):
    __tablename__ = "deviation"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=DeviationStatus.OPEN.value)
    closed_at: Mapped[datetime | None]
    # B.7: when it happened (PCFSSJ; raised_at when not given) and the emergency measures taken (JJCLCS).
    occurred_at: Mapped[datetime | None]
    emergency_measures: Mapped[str | None] = mapped_column(Text)
    # The alarm it was escalated from (PR-55), one deviation per alarm at most.
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarm.id"), unique=True)


class LineClearance(Base):
    """Appendix B.8: room CZJBH, product CPMC, batch CPPH, step SCGX, date QCRQ, checklist JCXM/JCJG,
    operator QCRY and reviewer QCFHR (both sign)."""

    __tablename__ = "line_clearance"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room_code: Mapped[str] = mapped_column(String(32), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    product: Mapped[str] = mapped_column(String(64))
    process_step: Mapped[str] = mapped_column(String(100))
    cleared_at: Mapped[datetime]
    # [{"item": "...", "result": CheckResult, "note": "..."}]
    checklist: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    passed: Mapped[bool]
    operator: Mapped[str] = mapped_column(String(64))
    reviewer: Mapped[str] = mapped_column(String(64))


class ColdRoomCheck(Base):
    """A person's check of a cold room (PR-78, PL-10): the reading they took, door and alarm status,
    beside what the twin's sensor said at that moment."""

    __tablename__ = "cold_room_check"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room_code: Mapped[str] = mapped_column(String(32), index=True)
    checked_at: Mapped[datetime]
    checked_by: Mapped[str] = mapped_column(String(64))
    temperature: Mapped[float]
    sensor_tag: Mapped[str | None] = mapped_column(String(64))
    sensor_value: Mapped[float | None]
    door_closed: Mapped[bool]
    active_alarms: Mapped[int]
    conforming: Mapped[bool]
    note: Mapped[str | None] = mapped_column(Text)
