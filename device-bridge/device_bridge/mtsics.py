"""Mettler-Toledo MT-SICS level 0, the weight part: what a balance answers to `S` and `SI`.

Commands and replies are ASCII lines ending in CR LF. `S` asks for a stable weight (the balance
waits for stability and answers `S I` if it gives up), `SI` for the weight now, stable or not:

    S S      12.345 kg    stable weight                    -> GOOD
    S D      12.351 kg    dynamic (not yet settled)        -> UNCERTAIN
    S I                   not executable now (busy, no stability in time)
    S +  /  S -           overload / underload
    ES / ET / EL          syntax / transmission / logical error
                          -> each of these: BAD, no value

A reply carries no time: the sample's time is the bridge's receive time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

COMMANDS = ("S", "SI")
# Mass units to kilograms, as Decimals so that 12345 g is exactly 12.345 kg.
MASS_UNITS = {"mg": Decimal("0.000001"), "g": Decimal("0.001"), "kg": Decimal(1), "t": Decimal(1000),
              "lb": Decimal("0.45359237"), "oz": Decimal("0.028349523125")}
ERRORS = {"S I": "not executable (busy or no stability)", "S +": "overload", "S -": "underload",
          "ES": "syntax error", "ET": "transmission error", "EL": "logical error"}
_WEIGHT = re.compile(r"S ([SD]) +([-+]?(?:\d+(?:\.\d*)?|\.\d+)) +(\S{1,5})")


@dataclass(frozen=True)
class Reply:
    quality: str  # GOOD, UNCERTAIN or BAD
    value: float | None  # in the unit asked for; None for an error reply
    text: str  # what the balance said, for the status ("stable 12.345 kg", "overload")


def parse_reply(line: str, unit: str) -> Reply:
    """One reply line (without CR LF) as a reading in `unit`; ValueError when it is not a weight or
    error reply, or its unit cannot be converted (counting pieces, percent)."""
    line = line.strip()
    if line in ERRORS:
        return Reply("BAD", None, ERRORS[line])
    m = _WEIGHT.fullmatch(line)
    if m is None:
        raise ValueError(f"not an MT-SICS weight reply: {line[:60]!r}")
    status, number, reply_unit = m.groups()
    value = convert(Decimal(number), reply_unit, unit)
    stable = status == "S"
    return Reply("GOOD" if stable else "UNCERTAIN", value,
                 f"{'stable' if stable else 'dynamic'} {number} {reply_unit}")


def convert(value: Decimal, unit: str, to: str) -> float:
    if unit not in MASS_UNITS:
        raise ValueError(f"the balance answers in {unit!r}, which is not a mass unit ({', '.join(MASS_UNITS)})")
    if to not in MASS_UNITS:
        raise ValueError(f"{to!r} is not a mass unit ({', '.join(MASS_UNITS)})")
    return float(value * MASS_UNITS[unit] / MASS_UNITS[to])
