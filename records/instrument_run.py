"""Instrument runs (QC-08, GP-03) and the test results of plasma pools (QC-13).

A run keeps the raw file exactly as imported (an `attachment` row with its SHA-256), the instrument, kit lot,
analyst, and every processing of that file: which parser and rule version computed which outcome per well.
The first processing is the signed original; a confirmed reprocessing adds one and never changes it.
A pool test result is kept with the pool it tested: a production pool (`pool`) or a mini-pool of unit
samples, whose units are listed on the result.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class RunStatus(StrEnum):
    IMPORTED = "IMPORTED"  # results written, waiting for review
    REVIEWED = "REVIEWED"
    INVALID = "INVALID"  # the controls failed: kept with the reason, no result written


class PoolKind(StrEnum):
    MINI_POOL = "MINI_POOL"
    PRODUCTION_POOL = "PRODUCTION_POOL"


class InstrumentRun(Base):
    __tablename__ = "instrument_run"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # RunKind
    instrument_id: Mapped[str] = mapped_column(String(64), index=True)
    test_item: Mapped[str] = mapped_column(String(16))  # RetestItem
    kit_lot: Mapped[str] = mapped_column(String(32))
    analyst: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.IMPORTED.value)
    invalid_reason: Mapped[str | None] = mapped_column(Text)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id"))
    raw_sha256: Mapped[str] = mapped_column(String(64))
    run_label: Mapped[str] = mapped_column(String(64))  # the plate or run name in the file's header
    processing: Mapped[int] = mapped_column(default=1)  # the number of the processing in effect
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]


class InstrumentProcessing(Base):
    __tablename__ = "instrument_processing"
    __audited__ = True
    __table_args__ = (UniqueConstraint("run_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("instrument_run.id"), index=True)
    number: Mapped[int]
    parser: Mapped[str] = mapped_column(String(32))
    parser_version: Mapped[str] = mapped_column(String(8))
    valid: Mapped[bool]
    invalid_reason: Mapped[str | None] = mapped_column(Text)
    cutoff: Mapped[str | None] = mapped_column(String(24))
    wells: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    processed_by: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)


class PoolTestResult(Base):
    __tablename__ = "pool_test_result"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pool_kind: Mapped[str] = mapped_column(String(16))  # PoolKind
    pool_code: Mapped[str] = mapped_column(String(32), index=True)
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pool.id"), index=True)  # a production pool
    units: Mapped[list[str] | None] = mapped_column(JSON)  # a mini-pool's donation numbers
    run_id: Mapped[int | None] = mapped_column(ForeignKey("instrument_run.id"), index=True)
    processing: Mapped[int]
    test: Mapped[str] = mapped_column(String(16))  # RetestItem
    result: Mapped[str] = mapped_column(String(16))  # RetestOutcome
    outcome: Mapped[str] = mapped_column(String(12))  # WellOutcome
    value: Mapped[str | None] = mapped_column(String(24))  # S/CO or Ct
    kit_lot: Mapped[str] = mapped_column(String(32))
    instrument: Mapped[str] = mapped_column(String(64))
    analyst: Mapped[str] = mapped_column(String(64))
    tested_at: Mapped[datetime]
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
