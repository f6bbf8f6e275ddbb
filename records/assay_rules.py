"""The versioned rules that turn an instrument file's wells into outcomes (QC-08, GP-03), in exact decimals.

A run is processed by one parser (the file format) and one rule version; both are stored with the run, and
the kept raw file can be processed again by any version to compare.

ELISA (parser `elisa-plate`):
  version 1: the plate needs at least 2 NC and 2 PC wells; it is valid only if every NC OD is at most 0.100
  and every PC OD at least 0.800. Cut-off = 2.1 x mean(NC OD), the mean taken as 0.050 when lower, rounded
  half-even to 3 decimals. S/CO = OD / cut-off (shown to 3 decimals); REACTIVE when OD >= cut-off (S/CO >= 1),
  else NEGATIVE.
  version 2: as version 1, plus a grey zone: 0.9 <= S/CO < 1 is GREY_ZONE, which counts as reactive for the
  plasma (a unit is never released on a borderline result).
PCR (parser `pcr-run`):
  version 1: a target is detected when its Ct is a number of at most 40.0; the internal control (IC) is valid
  when its Ct is at most 35.0. The run needs an NC (no target detected, IC valid) and a PC (every target
  detected), else it is INVALID. A sample is REACTIVE when any target is detected, INVALID when its IC failed
  and nothing was detected (it must be tested again; no result is written), else NEGATIVE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from records.instrument_files import CONTROLS, InstrumentFile, Well, parse_pcr, parse_plate


class RunKind(StrEnum):
    ELISA = "ELISA"
    PCR = "PCR"


class WellOutcome(StrEnum):
    NEGATIVE = "NEGATIVE"
    GREY_ZONE = "GREY_ZONE"
    REACTIVE = "REACTIVE"
    INVALID = "INVALID"


# What each outcome writes onto the plasma: none for INVALID (to be tested again).
PLASMA_RESULT = {WellOutcome.NEGATIVE: "NEGATIVE", WellOutcome.GREY_ZONE: "REACTIVE",
                 WellOutcome.REACTIVE: "REACTIVE"}
PARSERS = {RunKind.ELISA: "elisa-plate", RunKind.PCR: "pcr-run"}
MILLI = Decimal("0.001")
NC_MAX, PC_MIN, NC_FLOOR, FACTOR, GREY = (Decimal("0.100"), Decimal("0.800"), Decimal("0.050"), Decimal("2.1"),
                                          Decimal("0.9"))
CT_MAX, IC_MAX = Decimal("40.0"), Decimal("35.0")


@dataclass(frozen=True)
class Processed:
    """One processing of a raw file: the run's validity, the cut-off and every well's outcome."""

    parser: str
    version: str
    valid: bool
    invalid_reason: str | None
    cutoff: str | None
    wells: list[dict[str, Any]]  # position, content, role, target, value, ic, ratio, outcome (JSON-ready)
    samples: dict[str, str]  # sample code -> WellOutcome, in well order

    def outcome_of(self, sample: str) -> str | None:
        return self.samples.get(sample)


def _s(d: Decimal | None) -> str | None:
    return None if d is None else format(d, "f")


def _row(w: Well, ratio: Decimal | None, outcome: str | None) -> dict[str, Any]:
    return {"position": w.position, "content": w.content, "role": w.content if w.content in CONTROLS else "SAMPLE",
            "target": w.target, "value": _s(w.value), "ic": _s(w.ic), "ratio": _s(ratio), "outcome": outcome}


def _invalid(parser: str, version: str, f: InstrumentFile, reason: str) -> Processed:
    return Processed(parser, version, False, reason, None, [_row(w, None, None) for w in f.wells], {})


def _elisa(version: str) -> Callable[[InstrumentFile], Processed]:
    def run(f: InstrumentFile) -> Processed:
        nc = [w for w in f.wells if w.content == "NC"]
        pc = [w for w in f.wells if w.content == "PC"]
        if len(nc) < 2 or len(pc) < 2:
            return _invalid("elisa-plate", version, f, "the plate needs at least 2 NC and 2 PC wells")
        for w in nc:
            assert w.value is not None
            if w.value > NC_MAX:
                return _invalid("elisa-plate", version, f, f"NC well {w.position}: OD {w.value} is above {NC_MAX}")
        for w in pc:
            assert w.value is not None
            if w.value < PC_MIN:
                return _invalid("elisa-plate", version, f, f"PC well {w.position}: OD {w.value} is below {PC_MIN}")
        mean = sum((w.value for w in nc if w.value is not None), Decimal(0)) / len(nc)
        cutoff = (FACTOR * max(mean, NC_FLOOR)).quantize(MILLI, ROUND_HALF_EVEN)
        rows: list[dict[str, Any]] = []
        samples: dict[str, str] = {}
        for w in f.wells:
            if w.content in CONTROLS:
                rows.append(_row(w, None, None))
                continue
            assert w.value is not None
            ratio = w.value / cutoff
            if w.value >= cutoff:
                outcome = WellOutcome.REACTIVE
            elif version != "1" and ratio >= GREY:
                outcome = WellOutcome.GREY_ZONE
            else:
                outcome = WellOutcome.NEGATIVE
            rows.append(_row(w, ratio.quantize(MILLI, ROUND_HALF_EVEN), outcome.value))
            samples[w.content] = outcome.value
        return Processed("elisa-plate", version, True, None, _s(cutoff), rows, samples)

    return run


def _detected(ct: Decimal | None) -> bool:
    return ct is not None and ct <= CT_MAX


def _ic_valid(ic: Decimal | None) -> bool:
    return ic is not None and ic <= IC_MAX


def _pcr_v1(f: InstrumentFile) -> Processed:
    nc = [w for w in f.wells if w.content == "NC"]
    pc = [w for w in f.wells if w.content == "PC"]
    if not nc or not pc:
        return _invalid("pcr-run", "1", f, "the run needs an NC and a PC")
    for w in nc:
        if _detected(w.value):
            return _invalid("pcr-run", "1", f, f"NC well {w.position}: {w.target} detected (Ct {w.value})")
        if not _ic_valid(w.ic):
            return _invalid("pcr-run", "1", f, f"NC well {w.position}: internal control failed")
    for w in pc:
        if not _detected(w.value):
            return _invalid("pcr-run", "1", f, f"PC well {w.position}: {w.target} not detected")
    rows: list[dict[str, Any]] = []
    samples: dict[str, str] = {}
    for w in f.wells:
        if w.content in CONTROLS:
            rows.append(_row(w, None, None))
            continue
        if _detected(w.value):
            outcome = WellOutcome.REACTIVE
        elif _ic_valid(w.ic):
            outcome = WellOutcome.NEGATIVE
        else:
            outcome = WellOutcome.INVALID
        rows.append(_row(w, None, outcome.value))
        before = samples.get(w.content)
        if before != WellOutcome.REACTIVE and (before is None or outcome != WellOutcome.NEGATIVE):
            samples[w.content] = outcome.value  # REACTIVE wins, then INVALID, then NEGATIVE
    return Processed("pcr-run", "1", True, None, None, rows, samples)


RULES: dict[tuple[str, str], Callable[[InstrumentFile], Processed]] = {
    (RunKind.ELISA, "1"): _elisa("1"), (RunKind.ELISA, "2"): _elisa("2"), (RunKind.PCR, "1"): _pcr_v1}
LATEST = {RunKind.ELISA: "2", RunKind.PCR: "1"}
READERS = {RunKind.ELISA: parse_plate, RunKind.PCR: parse_pcr}


def versions(kind: str) -> list[str]:
    return [v for k, v in RULES if k == kind]


def process(kind: str, data: bytes, version: str | None = None) -> tuple[InstrumentFile, Processed]:
    """Parse the raw file and apply the rule version (the latest when none is named); FileError or
    ValueError for a bad file or an unknown version."""
    version = version or LATEST[RunKind(kind)]
    rule = RULES.get((kind, version))
    if rule is None:
        raise ValueError(f"{PARSERS[RunKind(kind)]} has versions {', '.join(versions(kind))}; not {version[:10]!r}")
    f = READERS[RunKind(kind)](data)
    return f, rule(f)
