"""Electronic test records of a batch (QC-06, QC-07): one record per batch, stage and subject, against the
specification version effective when the record was opened (kept: id, code and version), and its results.

A result line keeps the raw value as entered or imported, unchanged, and the formula inputs when the item
computes its result; the reported value and the verdict are the server's (records/judgement.py), never typed.
A correction is a new line: the line it replaces stays, no longer current, with the reason on the new one.
`current_key` is set only on a current line and is unique, so an item has at most one current result.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId

ROUNDING_STANDARD = "GB/T 8170-2008"  # the rounding rules' version, written on every result


class TestStage(StrEnum):
    __test__ = False  # not a pytest class

    INTERMEDIATE = "INTERMEDIATE"
    BULK = "BULK"  # the product to be packaged
    FINAL = "FINAL"  # the finished product


class EntryMethod(StrEnum):
    MANUAL = "MANUAL"
    INSTRUMENT = "INSTRUMENT"


class TestRecordStatus(StrEnum):
    __test__ = False

    OPEN = "OPEN"  # results are entered; it waits for review
    REVIEWED = "REVIEWED"


class TestRecord(Base):
    __test__ = False
    __tablename__ = "test_record"
    __audited__ = True
    __table_args__ = (UniqueConstraint("batch_id", "stage", "subject_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_code: Mapped[str] = mapped_column(String(64))
    specification_id: Mapped[int] = mapped_column(ForeignKey("specification.id"))
    specification_code: Mapped[str] = mapped_column(String(32))
    specification_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=TestRecordStatus.OPEN.value)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]


class TestResult(Base):
    __test__ = False
    __tablename__ = "test_result"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("test_record.id"), index=True)
    item: Mapped[str] = mapped_column(String(200))
    raw: Mapped[str] = mapped_column(Text)  # as entered or imported; for a formula item, the computed value
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # formula inputs, raw text by name
    formula: Mapped[str | None] = mapped_column(Text)
    reported: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    rounding: Mapped[str] = mapped_column(String(80))  # the standard and the item's rule applied
    # The automatic check's version that judged it (records/judgement.py CHECK_VERSION, QC-11).
    check_version: Mapped[str] = mapped_column(String(24), default="QC-JUDGE-1", server_default="QC-JUDGE-1")
    analyst: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(200))
    instrument_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    entry_method: Mapped[str] = mapped_column(String(12))
    # "record:item" while current, else null: unique, so one current result per item.
    current_key: Mapped[str | None] = mapped_column(String(240), unique=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("test_result.id"))
    correction_reason: Mapped[str | None] = mapped_column(Text)
