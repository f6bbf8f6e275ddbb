"""The executed phases of a batch (PR-40..PR-51): who ran which phase of the recipe on which equipment,
when, with the critical process parameters captured from the twin or entered by hand, the in-process
control results, the yield, and whether anything fell outside its limits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class PhaseStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"


class ValueSource(StrEnum):
    """Where a recorded value came from: the live twin (the tag's readings over the phase) or a person."""

    TWIN = "TWIN"
    MANUAL = "MANUAL"


class PhaseRun(Base):
    __tablename__ = "phase_run"
    __audited__ = True
    __table_args__ = (UniqueConstraint("batch_id", "phase_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    phase_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default=PhaseStatus.RUNNING.value)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    # The pre-operation check as confirmed at the start (PR-38): item -> confirmed.
    pre_check: Mapped[dict[str, bool]] = mapped_column(JSON)
    # The equipment as it was when the phase started (PR-47): status, and each care record with its
    # state and validity.
    equipment_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(64))
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(64))
    verified_by: Mapped[str | None] = mapped_column(String(64))
    # One entry per recipe parameter: limits, source, and min/max/avg/count (twin) or the value (manual).
    parameters: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    controls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # What the phase gave and what was collected as losses (samples, hold-up, spills), in the recipe's
    # output unit; yield and material balance against the theoretical output, computed (PR-21, PR-49).
    output: Mapped[float | None] = mapped_column(Float)
    losses: Mapped[float | None] = mapped_column(Float)
    yield_pct: Mapped[float | None] = mapped_column(Float)
    balance_pct: Mapped[float | None] = mapped_column(Float)
    # True when a parameter, a control or the yield was outside its limits (an exception of the batch).
    exception: Mapped[bool] = mapped_column(Boolean, default=False)
