"""SHALL requirements without a proving test yet, each with why: the matrix lists them as open.

A requirement leaves this list when a test marked with it proves it (tests/req_matrix.py refuses an
entry here for a requirement that has a test)."""

from __future__ import annotations

OPEN: dict[str, str] = {
    "GP-04": "production steps cannot complete without their record (tests/test_phases.py), test results, "
             "instrument runs and samples are written only with their records; no single test walks every "
             "executable step of a batch, a test and a plasma transaction",
    "GP-06": "Appendix B export holds B.2-B.15 (B.10-B.15: tests/test_sample_life.py); no one test yet shows a "
             "record of every dataset with all its short-name fields filled",
    "GP-09": "risk-based validation and maintainability: the validation package (issue 14)",
    "GP-10": "record-keeping per data type (retention, archive): issue 14",
    "PR-08": "documentary: installation qualification of clean-area hardware",
    "PR-28": "documentary: mapping of the release summary to the Measures for Lot Release",
}
