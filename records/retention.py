"""How long GMP records are kept (IT-20, IT-21), enforced by the database itself: a DELETE before the end of a
record's period is refused by a trigger on its table (migrations 0044 and 0048), whoever sends it, as for the audit
trail. Plasma collection, supply and testing records are kept 10 years from their own date; the electronic batch
record, and every record of a batch, at least one year past the batch's expiry date, and for ever while that date
is unknown (or the record has no batch).

The rules here describe those triggers for people and the API (`retentionRules`); the migration holds the
SQL as it was applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


@dataclass(frozen=True)
class Rule:
    table: str
    basis: str  # what the period runs from
    period: str
    requirement: str
    column: str = "batch_id"  # the column the period runs from (batch_id: the batch's expiry date)
    years: int = 1


TEN_YEARS = "10 years"
PAST_EXPIRY = "1 year after the batch's expiry date (kept while it has none)"

RULES = (
    Rule("plasma_unit", "collection date", TEN_YEARS, "IT-20", "collected_on", 10),
    Rule("retest_result", "test time", TEN_YEARS, "IT-20", "tested_at", 10),
    Rule("test_record", "creation time", TEN_YEARS, "IT-20", "created_at", 10),
    Rule("test_result", "entry time", TEN_YEARS, "IT-20", "entered_at", 10),
    Rule("batch", "expiry date", PAST_EXPIRY, "IT-21", "expiry_date"),
    Rule("phase_run", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    Rule("weighing", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    Rule("intermediate", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    Rule("line_clearance", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    Rule("batch_review", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    Rule("release_document", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    # Migration 0048: plasma supply and the rest of testing, and the other records of a batch.
    Rule("plasma_shipment", "submission time", TEN_YEARS, "IT-20", "submitted_at", 10),
    Rule("station_notice", "creation time", TEN_YEARS, "IT-20", "created_at", 10),
    Rule("sample", "sampling time", TEN_YEARS, "IT-20", "taken_at", 10),
    Rule("instrument_run", "import time", TEN_YEARS, "IT-20", "imported_at", 10),
    Rule("instrument_processing", "processing time", TEN_YEARS, "IT-20", "processed_at", 10),
    Rule("pool_test_result", "test time", TEN_YEARS, "IT-20", "tested_at", 10),
    Rule("test_report", "preparation time", TEN_YEARS, "IT-20", "prepared_at", 10),
    Rule("oos_record", "opening time", TEN_YEARS, "IT-20", "opened_at", 10),
    *(Rule(t, "its batch's expiry date (kept for good without a batch)", PAST_EXPIRY, "IT-21")
      for t in ("deviation", "oot_alert", "packaging_record", "batch_review_item", "intermediate_movement",
                "equipment_log")),
)

BY_TABLE = {r.table: r for r in RULES}


def later(start: date | datetime, years: int) -> date | datetime:
    """`start` plus whole years (29 February becomes 28 February in a common year)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


class RecordDestruction(Base):
    """A signed destruction of GMP records whose retention had ended: what went, why, who did it and who
    approved it, and a tombstone per record (its id, retention end and the SHA-256 of its content as it was).
    Kept for good: the database refuses UPDATE and DELETE on it, as on the audit trail."""

    __tablename__ = "record_destruction"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    destroyed_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(64))
    destroyed_at: Mapped[datetime]
    tombstones: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{id, retainedUntil, contentHash}]
