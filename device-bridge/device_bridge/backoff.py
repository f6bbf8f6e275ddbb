"""Exponential backoff with jitter, shared by the forwarder and the connectors."""

from __future__ import annotations

import random


class Backoff:
    """0.2 s doubling to 10 s by default; +-20 % jitter so many bridges that lost the same core
    (or broker) do not all come back in the same instant."""

    def __init__(self, initial: float = 0.2, maximum: float = 10.0, factor: float = 2.0, jitter: float = 0.2,
                 rng: random.Random | None = None) -> None:
        if initial <= 0 or maximum < initial or factor < 1 or not 0 <= jitter < 1:
            raise ValueError("backoff needs 0 < initial <= maximum, factor >= 1, 0 <= jitter < 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        base = min(self.maximum, self.initial * self.factor ** min(self.failures, 64))
        self.failures += 1
        spread = base * self.jitter
        return min(self.maximum, max(0.0, base + self._rng.uniform(-spread, spread)))

    def reset(self) -> None:
        self.failures = 0
