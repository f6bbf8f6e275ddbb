"""How long GMP records are kept (IT-20, IT-21), enforced by the database itself: a DELETE before the end of a
record's period is refused by a trigger on its table (migration 0044), whoever sends it, as for the audit
trail. Plasma collection and testing records are kept 10 years from their own date; the electronic batch
record at least one year past the batch's expiry date, and for ever while that date is unknown.

The rules here describe those triggers for people and the API (`retentionRules`); the migration holds the
SQL as it was applied.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    table: str
    basis: str  # what the period runs from
    period: str
    requirement: str


TEN_YEARS = "10 years"
PAST_EXPIRY = "1 year after the batch's expiry date (kept while it has none)"

RULES = (
    Rule("plasma_unit", "collection date", TEN_YEARS, "IT-20"),
    Rule("retest_result", "test time", TEN_YEARS, "IT-20"),
    Rule("test_record", "creation time", TEN_YEARS, "IT-20"),
    Rule("test_result", "entry time", TEN_YEARS, "IT-20"),
    Rule("batch", "expiry date", PAST_EXPIRY, "IT-21"),
    Rule("phase_run", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    Rule("weighing", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    Rule("intermediate", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    Rule("line_clearance", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    Rule("batch_review", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
    Rule("release_document", "its batch's expiry date", PAST_EXPIRY, "IT-21"),
)
