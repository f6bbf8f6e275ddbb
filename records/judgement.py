"""A specification's test item and the automatic judgement of a result against it (QC-04).

The raw value is rounded by the item's preset rule (GB/T 8170, records/rounding.py) and the ROUNDED value is
compared with the limits, as the pharmacopoeia reads a limit (the reported value is what is judged). Inside the
specification but beyond an internal action limit is ACTION. A text item ("negative", "non-reactive") compares
the result's words, case and separators aside. Pure: no I/O, the same answer every time from the raw value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from records.formula import inputs_of
from records.rounding import RoundingKind, RoundingRule, apply, number, text

MOST = 200  # characters of a name, method, unit or expected text
# The version of the automatic check (QC-11), written on every judged result: rounding by GB/T 8170 and the
# comparison rules of this module. Any change to how a result is rounded or judged gets a new version, and the
# validation table of tests/test_auto_check.py is run against it before it is used.
CHECK_VERSION = "QC-JUDGE-1"


class Verdict(StrEnum):
    PASS = "PASS"  # noqa: S105 (a verdict, not a password)
    FAIL = "FAIL"
    ACTION = "ACTION"  # inside the specification, beyond an internal action limit


@dataclass(frozen=True)
class SpecItem:
    """One test item. Limits are exact decimals written as text (never floats)."""

    name: str
    method: str = ""  # the test method: the SOP or pharmacopoeia reference
    unit: str = ""
    low: str | None = None
    high: str | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    action_low: str | None = None
    action_high: str | None = None
    expected: str | None = None  # a text item: the result it must read
    rounding: str | None = None  # RoundingKind: DECIMALS | SIGNIFICANT | INTERVAL
    precision: int | None = None  # DECIMALS: places; SIGNIFICANT: figures (the reporting precision)
    interval: str | None = None  # INTERVAL: 1, 2 or 5 x 10^n, such as "0.5" or "0.2"
    formula: str | None = None  # a preset formula over named inputs (QC-10), e.g. "(a - b) / m * 1000"

    @property
    def textual(self) -> bool:
        return self.expected is not None

    def rule(self) -> RoundingRule:
        if self.rounding is None:
            raise ValueError(f"item {self.name}: rounding rule is missing")
        if self.rounding not in RoundingKind.__members__:
            raise ValueError(f"item {self.name}: rounding is one of {', '.join(RoundingKind.__members__)}")
        kind = RoundingKind(self.rounding)
        if kind is RoundingKind.INTERVAL:
            if self.interval is None:
                raise ValueError(f"item {self.name}: interval is missing for INTERVAL rounding")
            return RoundingRule(kind, interval=_limit(self, "interval", self.interval))
        if self.precision is None:
            raise ValueError(f"item {self.name}: precision is missing for {kind.value} rounding")
        return RoundingRule(kind, self.precision)


def _limit(item: SpecItem, what: str, value: str) -> Decimal:
    try:
        return number(value)
    except ValueError:
        raise ValueError(f"item {item.name}: {what} {value[:40]!r} is not a decimal number") from None


def _limits(item: SpecItem) -> dict[str, Decimal]:
    return {k: _limit(item, k, v) for k, v in (("low", item.low), ("high", item.high), ("actionLow", item.action_low),
                                                ("actionHigh", item.action_high)) if v is not None}


def check_item(item: SpecItem, complete: bool) -> None:
    """Refuse an item that contradicts itself; `complete` (at approval) also refuses one with a field missing.
    ValueError names the item and the field."""
    where = f"item {item.name}"
    if not item.name.strip() or len(item.name) > MOST:
        raise ValueError(f"item name: 1-{MOST} characters")
    for what, value in (("method", item.method), ("unit", item.unit), ("expected", item.expected or "")):
        if len(value) > MOST:
            raise ValueError(f"{where}: {what} at most {MOST} characters")
    lim = _limits(item)
    if item.textual:
        if not item.expected or not item.expected.strip():
            raise ValueError(f"{where}: expected text is blank")
        if lim or item.rounding is not None or item.formula is not None:
            raise ValueError(f"{where}: a text item has an expected result, not limits, a rounding rule or a formula")
    else:
        _numeric(item, lim)
        if item.formula is not None:
            try:
                inputs_of(item.formula)
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
    if complete:
        _complete(item, lim)


def _numeric(item: SpecItem, lim: dict[str, Decimal]) -> None:
    where = f"item {item.name}"
    if "low" in lim and "high" in lim and lim["low"] >= lim["high"]:
        raise ValueError(f"{where}: the low limit must be below the high limit")
    for side in ("actionLow", "actionHigh"):
        if side in lim and not _inside(item, lim, lim[side]):
            raise ValueError(f"{where}: {side} must lie inside the specification limits")
    # A draft may leave the rule or its precision for later; what it gives must hold.
    if item.rounding is not None and (item.precision is not None or item.interval is not None):
        item.rule()
    elif item.rounding is not None and item.rounding not in RoundingKind.__members__:
        raise ValueError(f"{where}: rounding is one of {', '.join(RoundingKind.__members__)}")


def _complete(item: SpecItem, lim: dict[str, Decimal]) -> None:
    """What approval needs of an item (QC-05): a method; a unit, limits and a rounding rule unless textual."""
    where = f"item {item.name}"
    if not item.method.strip():
        raise ValueError(f"{where}: method is missing")
    if item.textual:
        return
    if not item.unit.strip():
        raise ValueError(f"{where}: unit is missing")
    if "low" not in lim and "high" not in lim:
        raise ValueError(f"{where}: limits are missing (a low limit, a high limit or an expected text)")
    item.rule()


def _inside(item: SpecItem, lim: dict[str, Decimal], v: Decimal) -> bool:
    """Whether v meets the specification limits, inclusive or exclusive as the item says."""
    if "low" in lim and (v < lim["low"] or (v == lim["low"] and not item.low_inclusive)):
        return False
    return not ("high" in lim and (v > lim["high"] or (v == lim["high"] and not item.high_inclusive)))


def _words(value: str) -> str:
    return " ".join(re.split(r"[\s_\-]+", value.casefold().strip())).strip()


@dataclass(frozen=True)
class Judgement:
    reported: str  # the value as reported: rounded by the item's rule (a text item: the words as given)
    verdict: Verdict
    reason: str


def judge(item: SpecItem, raw: str) -> Judgement:
    """Round the raw result by the item's rule and judge the rounded value. ValueError for a raw value that
    is not a number (or blank text), or an item that cannot judge (no limits, no rule)."""
    if item.textual:
        assert item.expected is not None
        if not raw.strip() or len(raw) > MOST:
            raise ValueError(f"a result of {item.name} is 1-{MOST} characters")
        if _words(raw) == _words(item.expected):
            return Judgement(raw.strip(), Verdict.PASS, f"reads {item.expected!r} as specified")
        return Judgement(raw.strip(), Verdict.FAIL, f"reads {raw.strip()!r}; the specification is {item.expected!r}")
    check_item(item, complete=True)
    lim = _limits(item)
    value = apply(item.rule(), raw)
    shown = text(value)
    unit = f" {item.unit}" if item.unit else ""
    if not _inside(item, lim, value):
        bounds = []
        if "low" in lim:
            bounds.append(f"{'≥' if item.low_inclusive else '>'} {item.low}")
        if "high" in lim:
            bounds.append(f"{'≤' if item.high_inclusive else '<'} {item.high}")
        return Judgement(shown, Verdict.FAIL, f"{shown}{unit} is outside the specification ({' and '.join(bounds)})")
    if "actionLow" in lim and value < lim["actionLow"]:
        return Judgement(shown, Verdict.ACTION, f"{shown}{unit} is below the action limit {item.action_low}")
    if "actionHigh" in lim and value > lim["actionHigh"]:
        return Judgement(shown, Verdict.ACTION, f"{shown}{unit} is above the action limit {item.action_high}")
    return Judgement(shown, Verdict.PASS, f"{shown}{unit} is within the specification")
