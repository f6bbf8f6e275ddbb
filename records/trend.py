"""Out-of-trend (OOT) rules on a control chart of one specification item (QC-01, QM-11).

The rules and their parameters are versioned: RULES_VERSION is written on every alert, so a later change of
the rules does not rewrite what an earlier alert meant. Version OOT-1:

- the chart holds the last WINDOW current numeric results of the item (every version of the specification),
  in the order they were recorded;
- each point is judged against a baseline of the points before it: the mean and the sample standard
  deviation of the first BASELINE of them (all of them when fewer), never including the point itself;
- a point is judged once the chart holds at least MIN_POINTS points up to it;
- Nelson rules 1, 2, 3 and 5, each judged at the point that completes its pattern.

Pure: no I/O; floats are fine here (statistics of a chart, never a reported value).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

WINDOW = 25
BASELINE = 20
MIN_POINTS = 8
RULES_VERSION = (f"OOT-1: Nelson rules 1, 2, 3, 5 on the last {WINDOW} results; each point against the mean and "
                 f"sample sigma of the first {BASELINE} points before it; judged from the {MIN_POINTS}th point")


class Rule(StrEnum):
    NELSON_1 = "NELSON_1"  # one point beyond 3 sigma of the mean
    NELSON_2 = "NELSON_2"  # nine points in a row on the same side of the mean
    NELSON_3 = "NELSON_3"  # six points in a row steadily increasing or decreasing
    NELSON_5 = "NELSON_5"  # two of three points in a row beyond 2 sigma, on the same side

    @property
    def text(self) -> str:
        return RULE_TEXT[self]


RULE_TEXT = {
    Rule.NELSON_1: "Nelson rule 1: a point beyond 3 sigma",
    Rule.NELSON_2: "Nelson rule 2: nine points in a row on one side of the mean",
    Rule.NELSON_3: "Nelson rule 3: six points in a row steadily increasing or decreasing",
    Rule.NELSON_5: "Nelson rule 5: two of three points in a row beyond 2 sigma on one side",
}


@dataclass(frozen=True)
class Chart:
    mean: float | None
    sigma: float | None
    violations: list[list[Rule]]  # per point, in the order given


def _side(x: float, mean: float) -> int:
    return (x > mean) - (x < mean)


def _rules_at(xs: Sequence[float], i: int, mean: float, sigma: float) -> list[Rule]:
    found: list[Rule] = []
    x = xs[i]
    if sigma > 0 and abs(x - mean) > 3 * sigma:
        found.append(Rule.NELSON_1)
    if i >= 8:
        sides = {_side(v, mean) for v in xs[i - 8:i + 1]}
        if len(sides) == 1 and 0 not in sides:
            found.append(Rule.NELSON_2)
    if i >= 5:
        run = xs[i - 5:i + 1]
        steps = [b - a for a, b in itertools.pairwise(run)]
        if all(d > 0 for d in steps) or all(d < 0 for d in steps):
            found.append(Rule.NELSON_3)
    if sigma > 0 and i >= 2 and abs(x - mean) > 2 * sigma:
        side = _side(x, mean)
        beyond = [v for v in xs[i - 2:i + 1] if abs(v - mean) > 2 * sigma and _side(v, mean) == side]
        if len(beyond) >= 2:
            found.append(Rule.NELSON_5)
    return found


def _baseline(xs: Sequence[float]) -> tuple[float, float] | None:
    base = xs[:BASELINE]
    return (statistics.fmean(base), statistics.stdev(base)) if len(base) >= 2 else None


def evaluate(values: Sequence[float]) -> Chart:
    """The chart of these points (oldest first): centre line, sigma and the rules each point violates. Each
    point is judged against the points before it (the first BASELINE of them), never against itself; the
    chart's lines are the newest point's baseline. An alert judges the last WINDOW results; a chart may show
    more, judged the same way."""
    xs = list(values)
    judged: list[list[Rule]] = []
    for i in range(len(xs)):
        base = _baseline(xs[:i]) if i + 1 >= MIN_POINTS else None
        judged.append(_rules_at(xs, i, *base) if base else [])
    lines = _baseline(xs[:-1]) if len(xs) > 2 else _baseline(xs)
    return Chart(lines[0] if lines else None, lines[1] if lines else None, judged)
