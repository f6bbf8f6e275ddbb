"""Plasma picking (挑浆, PR-34, PR-35): a list of QA-released units to fetch from the cold stores for a
pool, each unit scanned at its location and matched against the list before it is charged.

A list is generated OPEN with each unit's storage location as it was then; it becomes PICKED when
every unit was picked, CLOSED when its picked units were charged into a pool, or CANCELLED (its
units free for another list).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from records.base import Base, BigId
from records.plasma import PlasmaUnit, Pool


class PickingStatus(StrEnum):
    OPEN = "OPEN"
    PICKED = "PICKED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


# A unit on a list in one of these is reserved: no other list takes it.
ACTIVE = (PickingStatus.OPEN.value, PickingStatus.PICKED.value)


class PickingList(Base):
    __tablename__ = "picking_list"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    product: Mapped[str] = mapped_column(String(64))
    requested: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=PickingStatus.OPEN.value)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # The pool its picked units were charged into (CLOSED), or why it was cancelled.
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pool.id"), index=True)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    lines: Mapped[list[PickingLine]] = relationship(back_populates="list", order_by="PickingLine.position")
    pool: Mapped[Pool | None] = relationship()


class PickingLine(Base):
    """One unit to pick: where it lay when the list was made, and who picked it, how, and when."""

    __tablename__ = "picking_line"
    __audited__ = True
    __table_args__ = (UniqueConstraint("list_id", "unit_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("picking_list.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("plasma_unit.id"), index=True)
    position: Mapped[int]
    location: Mapped[str | None] = mapped_column(String(64))
    picked_at: Mapped[datetime | None]
    picked_by: Mapped[str | None] = mapped_column(String(64))
    # False: the code was typed, not scanned (flagged as PR-14 flags typed codes).
    scanned: Mapped[bool | None]
    # The automated picker that confirmed the unit (PR-35), none when a person picked it by hand.
    picker: Mapped[str | None] = mapped_column(String(64))
    list: Mapped[PickingList] = relationship(back_populates="lines")
    unit: Mapped[PlasmaUnit] = relationship()
