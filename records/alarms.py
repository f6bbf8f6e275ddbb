"""Alarm records (PR-75, PR-79, PR-82, PL-12): time, room, equipment, content, handler, handling method
and recovery time, one row per alarm occurrence through its ISA-18.2 lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Float, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class Priority(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class AlarmSource(StrEnum):
    LIMIT = "LIMIT"  # a tag's limits
    VIDEO = "VIDEO"  # video analytics
    EQUIPMENT = "EQUIPMENT"
    PROCESS = "PROCESS"  # a critical process parameter outside its recipe's limits while its phase runs
    INTERFACE = "INTERFACE"  # a system interface failing (the traceability system, QM-03)


class AlarmState(StrEnum):
    """ISA-18.2 states, and the two transitions every alarm takes (written only here)."""

    ACTIVE = "ACTIVE"  # unacknowledged
    ACKED = "ACKED"  # acknowledged, still active
    CLEARED = "CLEARED"  # returned to normal, unacknowledged
    CLOSED = "CLOSED"  # returned to normal and acknowledged

    def acknowledged(self) -> AlarmState:
        return AlarmState.ACKED if self is AlarmState.ACTIVE else AlarmState.CLOSED

    def cleared(self) -> AlarmState:
        return AlarmState.CLOSED if self is AlarmState.ACKED else AlarmState.CLEARED


# Still asking for attention (not closed), and still out of limits (not returned to normal).
STANDING = (AlarmState.ACTIVE, AlarmState.ACKED, AlarmState.CLEARED)
UNCLEARED = (AlarmState.ACTIVE, AlarmState.ACKED)


class AlarmEventKind(StrEnum):
    """What happened to an alarm, as subscribers are told after commit."""

    RAISED = "RAISED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    CLEARED = "CLEARED"


class Alarm(Base):
    __tablename__ = "alarm"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # LIMIT (a tag's limits), VIDEO (video analytics) or EQUIPMENT
    source: Mapped[str] = mapped_column(String(16))
    # HIGH / LOW for limits; MASK_MISSING, GOWN_MISSING, OVER_OCCUPANCY, POST_ABSENT for video, ...
    condition: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(10))
    # ACTIVE (unacknowledged), ACKED (acknowledged, still active), CLEARED (returned to normal,
    # unacknowledged) or CLOSED (returned to normal and acknowledged): ISA-18.2 states.
    state: Mapped[str] = mapped_column(String(10), index=True)
    tag: Mapped[str | None] = mapped_column(String(64), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"), index=True)
    camera_code: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    limit_value: Mapped[float | None] = mapped_column(Float)
    # Extreme value seen while active (the peak of an excursion).
    peak: Mapped[float | None] = mapped_column(Float)
    # When the condition began (before the on-delay), and when the alarm was raised.
    began_at: Mapped[datetime]
    raised_at: Mapped[datetime] = mapped_column(index=True)
    cleared_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    handling: Mapped[str | None] = mapped_column(Text)
    # The batch and phase running when it was raised, where the tag is a parameter of that phase (PR-51).
    batch_number: Mapped[str | None] = mapped_column(String(32), index=True)
    phase_code: Mapped[str | None] = mapped_column(String(32))


# PL-12: plasma units that lay in the cold store while its excursion alarm was raised.
alarm_unit = Table(
    "alarm_unit",
    Base.metadata,
    Column("alarm_id", ForeignKey("alarm.id"), primary_key=True),
    Column("plasma_unit_id", ForeignKey("plasma_unit.id"), primary_key=True, index=True),
)


@dataclass(frozen=True)
class AlarmEvent:
    """Published after commit: what happened (RAISED, ACKNOWLEDGED, CLEARED) and the alarm as stored."""

    kind: str
    alarm: dict[str, Any]


def snapshot(a: Alarm, room_code: str | None, equipment_code: str | None) -> dict[str, Any]:
    cols = {c.key: getattr(a, c.key) for c in Alarm.__table__.columns}
    return {**cols, "room_code": room_code, "equipment_code": equipment_code}


class AlarmAcknowledgement(Base):
    """One signature acknowledging a group of alarms at once (alarm floods, ISA-18.2): which, how handled, who, when."""

    __tablename__ = "alarm_acknowledgement"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alarm_ids: Mapped[list[int]] = mapped_column(JSON)
    handling: Mapped[str] = mapped_column(Text)
    acknowledged_by: Mapped[str] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime]


class AlarmShelf(Base):
    """A tag's limit alarms shelved by an operator (ISA-18.2): with a reason, until a time at most 12 hours on;
    ended early by unshelving. While shelved, an excursion is held back and audited, not annunciated."""

    __tablename__ = "alarm_shelf"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    shelved_by: Mapped[str] = mapped_column(String(64))
    shelved_at: Mapped[datetime]
    until: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(64))


# Chattering (ISA-18.2, EEMUA 191): a tag whose alarm went active and returned to normal this many times within
# this many seconds is declared chattering. Plain settings (setSetting); these are the defaults.
CHATTER_COUNT_KEY = "alarms.chatterCount"
CHATTER_SECONDS_KEY = "alarms.chatterSeconds"
CHATTER_COUNT = 3
CHATTER_SECONDS = 60


class AlarmChatter(Base):
    """A tag declared chattering by the alarm rules: no new alarm is raised for it until its value has stayed
    within its limits for the chatter window, or an excursion has lasted that long (then it is raised)."""

    __tablename__ = "alarm_chatter"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), index=True)
    # The alarms raised and returned to normal within the window that made the declaration.
    alarms: Mapped[int]
    window_s: Mapped[int]
    declared_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
