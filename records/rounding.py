"""Rounding of numerical values by GB/T 8170-2008 (数值修约规则), for test results (QC-10).

The standard's rules (§3.2): the digits dropped start below 5 → down; above 5, or 5 followed by any non-zero
digit → up; exactly 5 followed by nothing or zeros → the kept digit is made even (奇进偶舍). A negative value
rounds its absolute value and keeps the sign. That is exactly ROUND_HALF_EVEN on an exact decimal, so the
work is done by the standard library's `decimal`, never by float. Rounding is always from the original value
(§3.3, 不允许连续修约): every function here takes the raw value, and nothing rounds an already rounded one.

0.5 and 0.2 unit rounding (§3.4, §3.5): multiply by 2 (by 5), round to the stated digit, divide by 2 (by 5).
An interval of 5x10^n is the 0.5 unit of 10^(n+1); 2x10^n is the 0.2 unit of 10^(n+1).

No I/O, no database: a pure module the judgement and the result records use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from enum import Enum

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
MAX_DIGITS = 60  # a raw value longer than this is not a measurement


class RoundingKind(Enum):
    DECIMALS = "DECIMALS"  # to a number of decimal places (negative: to tens, hundreds...)
    SIGNIFICANT = "SIGNIFICANT"  # to a number of significant figures
    INTERVAL = "INTERVAL"  # to a multiple of an interval of 1, 2 or 5 x 10^n


@dataclass(frozen=True)
class RoundingRule:
    kind: RoundingKind
    digits: int = 0  # DECIMALS: places; SIGNIFICANT: figures
    interval: Decimal | None = None  # INTERVAL: such as 0.5, 0.2, 20, 1000

    def __post_init__(self) -> None:
        if self.kind is RoundingKind.INTERVAL:
            _interval_parts(self.interval)
        elif self.kind is RoundingKind.SIGNIFICANT and not 1 <= self.digits <= 30:
            raise ValueError("significant figures: 1 to 30")
        elif self.kind is RoundingKind.DECIMALS and not -30 <= self.digits <= 30:
            raise ValueError("decimal places: -30 to 30")

    def describe(self) -> str:
        if self.kind is RoundingKind.DECIMALS:
            return f"{self.digits} decimal places (GB/T 8170)"
        if self.kind is RoundingKind.SIGNIFICANT:
            return f"{self.digits} significant figures (GB/T 8170)"
        return f"interval {self.interval} (GB/T 8170)"


def number(value: object) -> Decimal:
    """The exact decimal a raw value stands for: text or Decimal (or int); a float, NaN or words are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("a value to round is given as text or Decimal, never a float (a float is not exact)")
    if isinstance(value, int):
        value = Decimal(value)
    if isinstance(value, str):
        cleaned = value.strip()
        if len(cleaned) > MAX_DIGITS or not NUMBER.fullmatch(cleaned):
            raise ValueError(f"{value[:40]!r} is not a decimal number")
        value = Decimal(cleaned)
    if not isinstance(value, Decimal):
        raise ValueError(f"a value to round is text or Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError("a value to round is a finite number (not NaN or infinity)")
    if not value.is_zero() and abs(value.adjusted()) > MAX_DIGITS:
        raise ValueError(f"{value:.3e} is not a decimal number a measurement gives (out of range)")
    return value


def _quantize(value: Decimal, exponent: int) -> Decimal:
    """Half-even to a multiple of 10^exponent, with room for every digit so nothing is cut silently."""
    if abs(exponent) > MAX_DIGITS:
        raise ValueError(f"rounding to 10^{exponent}: out of range")
    with localcontext() as ctx:
        ctx.prec = 3 * MAX_DIGITS
        return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def to_decimals(value: object, places: int) -> Decimal:
    """§3.2: to `places` decimals (0: to units; -2: to hundreds)."""
    return _quantize(number(value), -places)


def to_significant(value: object, figures: int) -> Decimal:
    if figures < 1:
        raise ValueError("significant figures: at least 1")
    x = number(value)
    if x.is_zero():
        return _quantize(x, -(figures - 1))
    exponent = x.adjusted() - (figures - 1)
    rounded = _quantize(x, exponent)
    if rounded.adjusted() > x.adjusted():  # 9.96 → 10.0 at 2 figures: one figure too many, drop it exactly
        rounded = _quantize(rounded, exponent + 1)
    return rounded


def _interval_parts(interval: object) -> tuple[int, int]:
    """An interval 1, 2 or 5 x 10^n as (factor, n); anything else is refused."""
    if not isinstance(interval, Decimal) or not interval.is_finite() or interval <= 0:
        raise ValueError("a rounding interval is a positive Decimal: 1, 2 or 5 x 10^n")
    _sign, digits, exponent = interval.normalize().as_tuple()
    assert isinstance(exponent, int)
    if digits not in ((1,), (2,), (5,)):
        raise ValueError(f"rounding interval {interval}: GB/T 8170 intervals are 1, 2 or 5 x 10^n (0.5, 0.2 units)")
    return digits[0], exponent


def to_interval(value: object, interval: Decimal) -> Decimal:
    """§3.1-§3.5: to a multiple of `interval` (1x10^n plain, 5x10^n the 0.5 unit, 2x10^n the 0.2 unit)."""
    factor, n = _interval_parts(interval)
    x = number(value)
    if factor == 1:
        return _quantize(x, n)
    scale = Decimal(10 // factor)  # x2 for a 0.5 unit, x5 for a 0.2 unit (§3.4, §3.5)
    with localcontext() as ctx:
        ctx.prec = 3 * MAX_DIGITS
        rounded = _quantize(x * scale, n + 1) / scale
        return rounded.quantize(Decimal(1).scaleb(n))  # exact: a multiple of 10^(n+1) over 2 or 5


def apply(rule: RoundingRule, value: object) -> Decimal:
    """The rule applied to the raw value."""
    if rule.kind is RoundingKind.DECIMALS:
        return to_decimals(value, rule.digits)
    if rule.kind is RoundingKind.SIGNIFICANT:
        return to_significant(value, rule.digits)
    assert rule.interval is not None
    return to_interval(value, rule.interval)


def text(value: Decimal) -> str:
    """The rounded value written out in plain digits (2E+3 → "2000"), keeping its trailing zeros."""
    return f"{value:f}"
